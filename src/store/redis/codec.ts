/**
 * The record envelope stored under each record's Redis key: `{"schema":N,"value":<JSON>}`. The key
 * itself is not repeated: it is the index member (see keys.ts).
 */
import type { StoredRecord } from '../ports.js';
import { RedisStoreError } from './errors.js';

/** `JSON.stringify`, typed as it behaves: `undefined` for `undefined`, functions and symbols. */
const stringify: (value: unknown) => string | undefined = JSON.stringify;

/** Longest record key, in UTF-16 code units (ports.ts). */
export const MAX_KEY_LENGTH = 1024;

/** Rejects an empty or too long key. @throws RedisStoreError `Invalid` */
export function checkKey(key: string): void {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new RedisStoreError(
      'Invalid',
      `redis store: key '${key.slice(0, 40)}' must have 1 to ${MAX_KEY_LENGTH} characters`,
    );
  }
}

/**
 * The envelope text of `record`, serialised now (later changes to the value do not matter).
 * @throws RedisStoreError `Invalid` naming the key, when the key, schema or value is not storable.
 */
export function encodeRecord({ key, schema, value }: StoredRecord): string {
  checkKey(key);
  const name = key.slice(0, 40);
  const invalid = (problem: string, cause?: unknown) =>
    new RedisStoreError('Invalid', `redis store: ${problem}`, { cause });
  if (typeof schema !== 'number' || !Number.isFinite(schema)) {
    throw invalid(`schema of '${name}' is not a finite number`);
  }
  let json: string | undefined;
  try {
    json = stringify(value);
  } catch (e) {
    throw invalid(`value of '${name}' is not JSON`, e);
  }
  if (json === undefined) throw invalid(`value of '${name}' is undefined or not JSON`);
  return `{"schema":${JSON.stringify(schema)},"value":${json}}`;
}

/** The record stored as `text` under `key`. @throws RedisStoreError `Corrupt` naming the key. */
export function decodeRecord(key: string, text: string): StoredRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw corrupt(key, 'is not JSON', e);
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    !('schema' in parsed) ||
    typeof parsed.schema !== 'number' ||
    !('value' in parsed)
  ) {
    throw corrupt(key, 'is not a {schema, value} envelope');
  }
  return { key, schema: parsed.schema, value: parsed.value };
}

function corrupt(key: string, problem: string, cause?: unknown): RedisStoreError {
  return new RedisStoreError('Corrupt', `redis store: record '${key.slice(0, 40)}' ${problem}`, {
    cause,
  });
}
