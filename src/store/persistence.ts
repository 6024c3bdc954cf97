import type { PersistedResource, SchedulerSystem } from '../actors/index.js';
import { changedKeys, recordFault } from '../actors/index.js';
import { unavailable } from '../domain/errors.js';
import type { SnapshotStore, StoredRecord, WriteBatch } from './ports.js';

/** The format of today's records; older ones are migrated on load (see `restoreRecords`). */
export const SCHEMA_VERSION = 1;

export interface PersistenceLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface PersistenceOptions {
  log: PersistenceLog;
  /** First delay after a failed write, doubling up to `retryMaxMs` (defaults 100 ms and 5 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /**
   * Most records per write (default 1,000): a store applies a batch in one go (Redis runs it as
   * one script, blocking every other client, the leader lease's renewals included, meanwhile), so
   * thousands of changes at once (a restore, an agent re-announcing its models) go in several.
   */
  maxBatch?: number;
  /**
   * Refuse (Unavailable) every call waiting in `durable()` as soon as a write fails, rather than
   * letting them wait for the retry: for when an acknowledgement must mean stored.
   */
  refuseOnFailure?: boolean;
}

/** How often a store that was unreachable is asked whether it is back, while retrying (ms). */
const RECOVERY_POLL_MS = 50;

/** Counters for metrics and the benchmark. */
export interface PersistenceStats {
  batches: number;
  records: number;
  failures: number;
}

/**
 * Writes each changed resource's record to the store: changes are coalesced per key until the
 * current write finishes (so a write costs O(changed resources)), one batch of at most `maxBatch`
 * at a time, in order.
 * A failed write is retried with back-off, always with the latest state; the scheduler keeps
 * serving from memory meanwhile. `durable()` resolves once everything changed so far is written.
 */
export class Persistence {
  /** Keys waiting to be written, each with the number of its oldest change not yet stored. */
  private readonly dirty = new Map<string, number>();
  private writing = false;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private failing = false;
  private closed = false;
  /** Changes seen so far (a counter), and how many of them are durable. */
  private seen = 0;
  private written = 0;
  private waiters: { upTo: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly unsubscribe: () => void;
  readonly stats: PersistenceStats = { batches: 0, records: 0, failures: 0 };

  constructor(
    private readonly system: SchedulerSystem,
    private readonly store: SnapshotStore,
    private readonly opts: PersistenceOptions,
  ) {
    this.retryDelay = opts.retryBaseMs ?? 100;
    this.unsubscribe = system.subscribe((changes) => {
      this.mark(changedKeys(changes));
    });
  }

  /** Keys waiting to be written. */
  get pending(): number {
    return this.dirty.size;
  }

  /** False while writes fail (the latest state is retried until the store takes it). */
  get healthy(): boolean {
    return !this.failing;
  }

  /**
   * Resolves once every change made before the call is in the store.
   * @throws SchedulerError Unavailable when the persistence is closed first (the change may be lost).
   */
  durable(): Promise<void> {
    if (this.written >= this.seen) return Promise.resolve();
    return new Promise((resolve, reject) =>
      this.waiters.push({ upTo: this.seen, resolve, reject }),
    );
  }

  /** Writes what is pending (waiting at most `graceMs`), stops listening and closes the store. */
  async close(graceMs = 5000): Promise<void> {
    this.unsubscribe();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      // Refused (a failed write, with refuseOnFailure): what is pending is not stored, as below.
      this.durable().catch(() => undefined),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
    this.closed = true;
    clearTimeout(this.retryTimer);
    // Changes not written by now are not durable: their callers must not be told they are.
    for (const w of this.waiters)
      w.reject(unavailable('the scheduler stopped before this change was stored'));
    this.waiters = [];
    await this.store.close();
  }

  private mark(keys: readonly string[]): void {
    if (keys.length === 0 || this.closed) return;
    this.seen++;
    for (const k of keys) if (!this.dirty.has(k)) this.dirty.set(k, this.seen);
    this.schedule();
  }

  /** Runs a write at the end of this tick, unless one is running or waiting to retry. */
  private schedule(): void {
    if (this.writing || this.scheduled || this.retryTimer) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.writeNow();
    });
  }

  private async writeNow(): Promise<void> {
    if (this.closed || this.dirty.size === 0) return;
    this.writing = true;
    const taken: [string, number][] = [];
    for (const entry of this.dirty) {
      if (taken.length === (this.opts.maxBatch ?? 1000)) break;
      taken.push(entry);
    }
    for (const [k] of taken) this.dirty.delete(k);
    const keys = taken.map(([k]) => k);
    const batch = this.batchOf(keys);
    try {
      await this.store.write(batch);
      this.stats.batches++;
      this.stats.records += keys.length;
      if (this.failing) this.opts.log.info({ pending: this.dirty.size }, 'store writes resumed');
      this.failing = false;
      this.retryDelay = this.opts.retryBaseMs ?? 100;
      // Stored: every change older than the oldest one a key still waits for.
      let upTo = this.seen;
      for (const n of this.dirty.values()) upTo = Math.min(upTo, n - 1);
      this.written = upTo;
      this.waiters = this.waiters.filter((w) => {
        if (w.upTo > upTo) return true;
        w.resolve();
        return false;
      });
    } catch (e) {
      this.stats.failures++;
      for (const [k, n] of taken) this.dirty.set(k, Math.min(n, this.dirty.get(k) ?? n));
      if (!this.failing) {
        this.opts.log.warn(
          { err: e instanceof Error ? e.message : String(e), pending: this.dirty.size },
          'store write failed; serving from memory and retrying',
        );
      }
      this.failing = true;
      if (this.opts.refuseOnFailure) {
        const why = e instanceof Error ? e.message : String(e);
        for (const w of this.waiters) w.reject(unavailable(`the change was not stored: ${why}`));
        this.waiters = [];
      }
      this.retryLater(!this.store.health().ok);
      this.retryDelay = Math.min(this.retryDelay * 2, this.opts.retryMaxMs ?? 5000);
    } finally {
      this.writing = false;
    }
    if (this.dirty.size > 0) this.schedule();
  }

  /**
   * Retries after the back-off, or as soon as a store that was unreachable when the write failed
   * says it is reachable again (a Redis failover ends long before a doubled back-off would).
   */
  private retryLater(unreachable: boolean): void {
    const at = Date.now() + this.retryDelay;
    const check = () => {
      this.retryTimer = undefined;
      if (Date.now() >= at || (unreachable && this.store.health().ok)) {
        void this.writeNow();
        return;
      }
      this.retryTimer = setTimeout(check, RECOVERY_POLL_MS).unref();
    };
    this.retryTimer = setTimeout(check, Math.min(this.retryDelay, RECOVERY_POLL_MS)).unref();
  }

  /** The records of `keys` as they are now; gone resources become deletions. */
  private batchOf(keys: readonly string[]): WriteBatch {
    const put: StoredRecord[] = [];
    const del: string[] = [];
    for (const key of keys) {
      const value = this.system.exportRecord(key);
      if (value === undefined) {
        del.push(key);
        continue;
      }
      put.push({ key, schema: SCHEMA_VERSION, value });
    }
    return { put, del };
  }
}

/** Records to restore, and those left out because they cannot be served as they are. */
export interface Restorable {
  records: PersistedResource[];
  /** Left in the store as they are (a new resource of the same name replaces one). */
  quarantined: { key: string; why: string }[];
}

/**
 * Reads every record for a restore, migrating older schemas to today's.
 * @throws Error naming the key when a record has a schema this version cannot read.
 */
export async function restoreRecords(store: SnapshotStore): Promise<Restorable> {
  return restorable(await store.load());
}

/**
 * Stored records as the system restores them; a record holding a value the wire cannot carry (see
 * `recordFault`) is quarantined instead of breaking every listing it would be in.
 * @throws Error for a schema this version cannot read.
 */
export function restorable(stored: readonly StoredRecord[]): Restorable {
  const out: Restorable = { records: [], quarantined: [] };
  for (const r of stored) {
    if (r.schema !== SCHEMA_VERSION) {
      throw new Error(
        `record ${r.key} has schema ${r.schema}; this scheduler reads schema ${SCHEMA_VERSION}`,
      );
    }
    const record = { key: r.key, value: r.value };
    const why = recordFault(record);
    if (why === undefined) out.records.push(record);
    else out.quarantined.push({ key: r.key, why });
  }
  return out;
}
