/**
 * Kubernetes quantities in manifests (`memory: 100Mi`), exactly as Kubernetes reads and prints them:
 * a Model's `spec.memory` becomes whole bytes, or an error with Seldon's text.
 */
import { FieldError, wrongType } from './decode.js';

/** A Kubernetes quantity as an exact rational number: sign × num / den. */
interface Quantity {
  negative: boolean;
  num: bigint;
  den: bigint;
  /** How Kubernetes would print it: `1e3` keeps the exponent form, the rest use SI suffixes. */
  exponentForm: boolean;
}

const BINARY_SI: Readonly<Record<string, number>> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL_SI: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const SI_BY_EXPONENT = new Map(Object.entries(DECIMAL_SI).map(([s, e]) => [e, s]));
/** Beyond this decimal exponent a quantity is far outside int64 (or below 1n) anyway. */
const MAX_EXPONENT = 400;
const INT64_MAX = (1n << 63n) - 1n;

// Seldon parity: k8s.io/apimachinery/pkg/api/resource/quantity.go ParseQuantity (grammar)
const QUANTITY = /^([+-]?)(\d+\.?\d*|\.\d+)(?:([KMGTPE]i)|([numkMGTPE]?)|[eE]([+-]?\d+))$/;

export function parseQuantity(path: string, v: unknown): Quantity | undefined {
  const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : undefined;
  // Go's Quantity.UnmarshalJSON: "" is the zero quantity.
  if (text === '') return { negative: false, num: 0n, den: 1n, exponentForm: false };
  const m = text === undefined ? null : QUANTITY.exec(text);
  const digits = m?.[2];
  if (!m || digits === undefined) {
    throw wrongType(path, 'a Kubernetes quantity such as 100Ki, 3Gi or 1e3', v);
  }
  const [whole = '', fraction = ''] = digits.split('.');
  const binary = m[3] === undefined ? 0 : (BINARY_SI[m[3]] ?? 0) * 10;
  const exponent = m[5] === undefined ? (DECIMAL_SI[m[4] ?? ''] ?? 0) : Number(m[5]);
  const scale = exponent - fraction.length;
  const mantissa = BigInt(whole + fraction || '0');
  if (Math.abs(scale) > MAX_EXPONENT) {
    throw new FieldError(path, `Can't convert model memory quantity to bytes. ${text}`);
  }
  const num = mantissa * 2n ** BigInt(binary) * 10n ** BigInt(Math.max(scale, 0));
  return {
    negative: m[1] === '-' && mantissa !== 0n,
    num,
    den: 10n ** BigInt(Math.max(-scale, 0)),
    exponentForm: m[5] !== undefined,
  };
}

/**
 * How Kubernetes prints a quantity (Quantity.String): rounded up to 1n, trailing zeros moved into
 * an exponent that is a multiple of 3, shown as an SI suffix (or `e<exp>` for exponent input).
 */
// Seldon parity: k8s.io/apimachinery/pkg/api/resource/quantity.go CanonicalizeBytes
function canonical(q: Quantity): string {
  let n = (q.num * 1_000_000_000n + q.den - 1n) / q.den;
  if (n === 0n) return '0';
  let exponent = -9;
  while (n % 10n === 0n) {
    n /= 10n;
    exponent += 1;
  }
  while (exponent % 3 !== 0) {
    n *= 10n;
    exponent -= 1;
  }
  const si = SI_BY_EXPONENT.get(exponent);
  const suffix = q.exponentForm || si === undefined ? (exponent === 0 ? '' : `e${exponent}`) : si;
  return `${q.negative ? '-' : ''}${n}${suffix}`;
}

/** spec.memory as whole bytes: the exact value of the quantity, which must be an integer. */
// Seldon parity: operator/apis/mlops/v1alpha1/model_types.go AsSchedulerModel (Memory.AsInt64)
export function memoryBytes(path: string, q: Quantity, text: unknown): number {
  if (q.negative) throw wrongType(path, 'a quantity of at least 0', text);
  if (q.num % q.den !== 0n || q.num / q.den > INT64_MAX) {
    throw new FieldError(path, `Can't convert model memory quantity to bytes. ${canonical(q)}`);
  }
  const bytes = q.num / q.den;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new FieldError(
      path,
      `${canonical(q)} is more bytes than a request can carry (at most ${Number.MAX_SAFE_INTEGER})`,
    );
  }
  return Number(bytes);
}
