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

/** Who holds the leader lease: the instance's scheduler address, and how long it has left. */
export interface LeaseHolder {
  readonly address: string;
  /** Until the lease expires unless renewed (ms). */
  readonly expiresInMs: number;
}

/**
 * The leader lease of high availability: one scheduler at a time holds it, renewing it well before
 * it expires; each new holder gets a larger fencing token, which the store checks on every write
 * (so a paused former leader cannot overwrite what the new one wrote). These are the store's
 * operations; {@link KeptLease} keeps one renewed.
 */
export interface Lease {
  /** Takes the lease if nobody holds it: resolves with the new fencing token, or undefined. */
  acquire(): Promise<number | undefined>;
  /** Extends the lease this instance holds for the lease period: false when it is no longer its own. */
  renew(): Promise<boolean>;
  /** Gives the lease up (clean shutdown), if it is still this instance's. */
  release(): Promise<void>;
  /** The instance holding the lease now, or undefined when nobody does. */
  holder(): Promise<LeaseHolder | undefined>;
  close(): Promise<void>;
}

/**
 * A {@link Lease} that, once acquired, renews itself (lease-keeper.ts; for Redis on a thread of its
 * own, so that a busy event loop cannot make it lapse) for as long as this process shows it is
 * alive, until released. The leader reads how long it surely holds it, synchronously.
 */
export interface KeptLease {
  /** Takes the lease if nobody holds it (then keeps it): the new fencing token, or undefined. */
  acquire(): Promise<number | undefined>;
  /** Stops renewing and gives the lease up if it is still this instance's. */
  release(): Promise<void>;
  holder(): Promise<LeaseHolder | undefined>;
  close(): Promise<void>;
  /**
   * Until when the lease is surely this instance's (ms since the epoch; a renewal Redis took at T
   * keeps it until T + the period at least), or 0 once a renewal found it taken over.
   */
  expires(): number;
  /** Why the last renewal failed, while renewals fail. */
  renewalError(): string | undefined;
  /**
   * This process is alive (and will be busy for up to `busyMs`, e.g. restoring): renewals go on
   * for the keeper's stall bound after the last call, or until the end of the busy spell.
   */
  alive(busyMs?: number): void;
}
