/** The units of a Kubernetes quantity, in bytes. */
const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * Parses a Kubernetes memory quantity ('1Gi', '512Mi', '100M', '2G', '1500k', '1e3', '0.5Gi') to
 * whole bytes (rounded up, as Kubernetes does).
 * @throws Error naming the value when it is not a quantity, is negative, or is too large.
 */
export function parseMemoryQuantity(q: string): number {
  const m =
    /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E))?$/.exec(
      q.trim(),
    );
  const digits = m?.[2];
  const unit = UNITS[m?.[4] ?? ''];
  if (!m || digits === undefined || unit === undefined) {
    throw new Error(`'${q}' is not a memory quantity (e.g. 512Mi, 1Gi, 100M, 1e3)`);
  }
  const value = Number(`${digits}${m[3] ?? ''}`) * unit;
  if (m[1] === '-' && value !== 0) throw new Error(`memory quantity '${q}' is negative`);
  const bytes = Math.ceil(value);
  if (!Number.isSafeInteger(bytes)) throw new Error(`memory quantity '${q}' is too large`);
  return bytes;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * Bytes for people: MiB with up to one decimal (GiB from 10 GiB with `gib`), or bytes below 1 MiB.
 */
export function formatBytes(bytes: number, { gib = false } = {}): string {
  if (Math.abs(bytes) < MiB) return `${bytes} B`;
  const [unit, size] = gib && Math.abs(bytes) >= 10 * GiB ? ['GiB', GiB] : ['MiB', MiB];
  const x = bytes / size;
  return `${Number.isInteger(x) ? x : x.toFixed(1)} ${unit}`;
}
