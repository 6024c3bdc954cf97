/**
 * The in-memory {@link SnapshotStore} (`--store memory`, and tests): nothing survives the process,
 * but it behaves like the durable stores in every other way, so tests against it mean something.
 */
import type { SnapshotStore, StoredRecord, StoreHealth, WriteBatch } from '../ports.js';

const MAX_KEY_LENGTH = 1024;

/**
 * Keeps each record as its JSON text: values are copied in when `write` is called and out by every
 * `load`, through JSON like the durable stores (so `undefined` members vanish and non-JSON values
 * are refused here too, instead of only in production), and callers can never mutate stored state.
 */
export class MemoryStore implements SnapshotStore {
  private readonly records = new Map<string, string>();
  private closed = false;

  /** Starts with `initial` (copied), e.g. the records of another store to simulate a restart. */
  constructor(initial: Iterable<StoredRecord> = []) {
    for (const record of initial) this.records.set(record.key, serialise(record));
  }

  /** Every record (fresh copies). Still answers after `close`: the data lives with the object. */
  load(): Promise<StoredRecord[]> {
    return Promise.resolve(
      Array.from(this.records.values(), (json) => JSON.parse(json) as StoredRecord),
    );
  }

  /**
   * Applies the batch at once (puts, then deletes). Rejects, applying nothing, after `close`, or
   * when a key is empty or longer than 1024 characters, a schema is not a number or a value is not
   * JSON (the error names the key).
   */
  write(batch: WriteBatch): Promise<void> {
    if (this.closed) return Promise.reject(new Error('memory store is closed'));
    let put: (readonly [string, string])[];
    try {
      put = batch.put.map((record) => [record.key, serialise(record)] as const);
      batch.del.forEach(checkKey);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    for (const [key, json] of put) this.records.set(key, json);
    for (const key of batch.del) this.records.delete(key);
    return Promise.resolve();
  }

  /** Always ok while open. */
  health(): StoreHealth {
    return this.closed
      ? { ok: false, detail: 'memory store is closed' }
      : { ok: true, detail: `memory store: ${this.records.size} records (not durable)` };
  }

  /** Refuses later writes. */
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

function checkKey(key: string): void {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new Error(
      `memory store: key '${key.slice(0, 40)}' must have 1 to ${MAX_KEY_LENGTH} characters`,
    );
  }
}

function serialise({ key, schema, value }: StoredRecord): string {
  checkKey(key);
  if (!Number.isFinite(schema)) throw new Error(`memory store: schema of '${key}' is not a number`);
  if (value === undefined)
    throw new Error(`memory store: value of '${key}' is undefined, not JSON`);
  try {
    return JSON.stringify({ key, schema, value });
  } catch (e) {
    throw new Error(`memory store: value of '${key}' is not JSON`, { cause: e });
  }
}
