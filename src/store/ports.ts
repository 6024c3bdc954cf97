/**
 * The snapshot store: where the scheduler keeps one record per resource (`model:<name>`,
 * `server:<name>`, `pipeline:<name>`, `experiment:<name>`) so that a restart loses nothing.
 * Implementations: memory (tests), file (the embedded default) and Redis.
 */

/** One persisted resource. `schema` is the record format's version (migrations key on it). */
export interface StoredRecord {
  readonly key: string;
  readonly schema: number;
  /** Plain JSON (objects, arrays, strings, finite numbers, booleans, null). */
  readonly value: unknown;
}

/** A set of changes written together: records to put (replacing) and keys to delete. */
export interface WriteBatch {
  readonly put: readonly StoredRecord[];
  readonly del: readonly string[];
}

/** What an implementation reports about itself (health detail, metrics). */
export interface StoreHealth {
  /** False while writes cannot reach durable storage (they are retried). */
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * A durable map from key to record.
 *
 * - `write` resolves only once the whole batch is durable (fsync'd, or acknowledged by Redis); it
 *   is atomic: after a crash at any instant, a later `load` sees all of a batch or none of it.
 *   Batches are applied in the order `write` was called. It rejects when the batch could not be
 *   made durable (the caller retries); a rejected batch may or may not be applied.
 * - `load` returns every record (the latest put of each key not deleted since).
 * - Keys are opaque non-empty strings up to 1024 characters.
 */
export interface SnapshotStore {
  load(): Promise<StoredRecord[]>;
  write(batch: WriteBatch): Promise<void>;
  health(): StoreHealth;
  /** Flushes what is pending and releases files or connections. */
  close(): Promise<void>;
}
