/**
 * The victim of test/integration/store-file-crash.test.ts:
 * `node --import tsx test/support/store-crash-child.ts DIR SEED`
 * opens the file store in DIR (small compaction thresholds, so kills also land in compactions),
 * prints `ready <first batch number>`, then writes batches for ever, keeping several in flight,
 * and prints `acked <n>` once batch n's write() has resolved. Batch n is `crashBatch(SEED, n)`;
 * it continues from the highest n already stored.
 */
import { pathToFileURL } from 'node:url';
import { openFileStore } from '../../src/store/file/file-store.js';
import type { WriteBatch } from '../../src/store/ports.js';
import { rng } from './processes.js';

/** Keys the batches cycle through. */
export const CRASH_KEYS = 50;
/** Compaction thresholds of the child (small, so compactions happen every few dozen batches). */
export const CRASH_STORE_OPTIONS = { compactMinBytes: 64 * 1024, compactRatio: 1 };

/** The value batch n puts. */
export interface CrashValue {
  readonly n: number;
  readonly payload: string;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789 é✓日🎉"\\\n';

/**
 * Batch n of a run: puts `k<n % 50>` = {n, payload of 0-2000 characters} and, one time in five,
 * deletes another key. A pure function of (seed, n), so the test can replay any prefix.
 */
export function crashBatch(seed: number, n: number): WriteBatch {
  const random = rng(Math.imul(seed, 0x9e3779b1) ^ n);
  const chars = Array.from(ALPHABET);
  const length = Math.floor(random() * 2000);
  let payload = '';
  for (let i = 0; i < length; i++) payload += chars[Math.floor(random() * chars.length)] ?? '';
  const value: CrashValue = { n, payload };
  const del =
    random() < 0.2 ? [`k${(n + 1 + Math.floor(random() * (CRASH_KEYS - 1))) % CRASH_KEYS}`] : [];
  return { put: [{ key: `k${n % CRASH_KEYS}`, schema: 1, value }], del };
}

async function main(dir: string, seed: number): Promise<void> {
  const store = await openFileStore(dir, CRASH_STORE_OPTIONS);
  let n = 1;
  for (const record of await store.load()) n = Math.max(n, (record.value as CrashValue).n + 1);
  process.stdout.write(`ready ${n}\n`);
  const inFlight = new Set<Promise<void>>();
  for (;;) {
    while (inFlight.size < 8) {
      const m = n++;
      const write: Promise<void> = store.write(crashBatch(seed, m)).then(() => {
        inFlight.delete(write);
        process.stdout.write(`acked ${m}\n`);
      });
      inFlight.add(write);
    }
    await Promise.race(inFlight);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [dir, seed] = process.argv.slice(2);
  if (dir === undefined || seed === undefined) {
    process.stderr.write('usage: store-crash-child.ts DIR SEED\n');
    process.exit(2);
  }
  main(dir, Number(seed)).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
