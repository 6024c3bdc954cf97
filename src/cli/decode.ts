/**
 * Strict decoding of one manifest document's fields (./manifests.ts), as Go's JSON decoding into
 * the CRD types: each helper checks a value's type and names the field when it is wrong.
 */

/** A field-level failure inside one document; parseManifests adds the file and document. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

export type Obj = Readonly<Record<string, unknown>>;

export const absent = (v: unknown): v is null | undefined => v === null || v === undefined;
export const isObject = (v: unknown): v is Obj =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `path` + `.key`, or `["key"]` for keys that are not plain names (tensor names have dots). */
const at = (path: string, key: string): string =>
  /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)
    ? path === ''
      ? key
      : `${path}.${key}`
    : `${path}[${JSON.stringify(key)}]`;

/** A value as an error message quotes it. */
function show(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (isObject(v)) return 'an object';
  if (typeof v === 'string') {
    return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  }
  return String(v);
}

export const wrongType = (path: string, expected: string, v: unknown): FieldError =>
  new FieldError(path, `must be ${expected}, not ${show(v)}`);

/** An object with only the given keys; the first other key, in document order, is an error. */
export function object(path: string, v: unknown, known: readonly string[]): Obj {
  if (absent(v)) return {};
  if (!isObject(v)) throw wrongType(path, 'an object', v);
  const unknown = Object.keys(v).find((k) => !known.includes(k));
  if (unknown !== undefined) throw new FieldError(at(path, unknown), 'unknown field');
  return v;
}

export function str(path: string, v: unknown): string {
  if (absent(v)) return '';
  if (typeof v !== 'string') throw wrongType(path, 'a string', v);
  return v;
}

export const optionalStr = (path: string, v: unknown): string | undefined =>
  absent(v) ? undefined : str(path, v);

export function bool(path: string, v: unknown): boolean {
  if (absent(v)) return false;
  if (typeof v !== 'boolean') throw wrongType(path, 'true or false', v);
  return v;
}

export const INT32_MIN = -0x8000_0000;
export const INT32_MAX = 0x7fff_ffff;
export const UINT32_MAX = 0xffff_ffff;

export function int(path: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw wrongType(path, 'a whole number', v);
  if (v < min || v > max) throw wrongType(path, `a whole number between ${min} and ${max}`, v);
  return v;
}

export const optionalInt = (
  path: string,
  v: unknown,
  min: number,
  max: number,
): number | undefined => (absent(v) ? undefined : int(path, v, min, max));
export const uint32 = (path: string, v: unknown): number =>
  absent(v) ? 0 : int(path, v, 0, UINT32_MAX);
export const optionalUint32 = (path: string, v: unknown): number | undefined =>
  optionalInt(path, v, 0, UINT32_MAX);

export function list(path: string, v: unknown): readonly unknown[] {
  if (absent(v)) return [];
  if (!Array.isArray(v)) throw wrongType(path, 'a list', v);
  return v as readonly unknown[];
}

export const strings = (path: string, v: unknown): string[] =>
  list(path, v).map((s, i) => str(`${path}[${i}]`, s));

export function stringMap(path: string, v: unknown): Record<string, string> {
  if (absent(v)) return {};
  if (!isObject(v)) throw wrongType(path, 'a map of strings', v);
  return Object.fromEntries(Object.entries(v).map(([k, s]) => [k, str(at(path, k), s)]));
}

/** A Kubernetes type the scheduler request does not carry: an object, contents unchecked. */
export function opaqueObject(path: string, v: unknown): void {
  if (!absent(v) && !isObject(v)) throw wrongType(path, 'an object', v);
}

/** A list of Kubernetes objects the scheduler request does not carry, contents unchecked. */
export function opaqueList(path: string, v: unknown): void {
  list(path, v).forEach((item, i) => {
    opaqueObject(`${path}[${i}]`, item);
  });
}
