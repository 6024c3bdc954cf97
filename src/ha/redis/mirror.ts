/**
 * What a standby keeps warm (high availability): every record of the store, read once and then kept
 * current by following the change stream that each fenced write appends to atomically
 * (`<prefix>:changes`, keys.ts): an entry numbered `s` listing the members `k` the write changed,
 * whose records are read again every `rereadMs` (a record changed many times meanwhile, once).
 * When the standby takes the lease, the old leader's writes are fenced off, so reading the stream
 * to its end makes the copy equal to the store: the new leader restores from memory instead of
 * reading every record from Redis. Needs Redis 6.2 or later (XRANGE with an exclusive start).
 *
 * Whenever the copy cannot be trusted (the connection to Redis closed: Redis may have restarted
 * with less; or the stream was trimmed past entries not yet read: a gap in the numbers) it is read
 * whole again, and `take` falls back to reading the store.
 */
import type { StoredRecord } from '../../store/ports.js';
import { decodeRecord } from '../../store/redis/codec.js';
import { decodeKey } from '../../store/redis/keys.js';
import type { ChangeFeed } from '../../store/redis/redis-store.js';

/** Records per MGET when reading changed records again. */
const CHUNK = 1000;
/** Stream entries read per XRANGE. */
const ENTRIES_PER_READ = 1000;

export interface MirrorOptions extends ChangeFeed {
  /** How often the stream is read while following (ms). */
  readonly pollMs: number;
  /**
   * How often the records the stream named are read again (ms): a record changed many times
   * meanwhile is read once, so a standby costs little while the leader is busy.
   */
  readonly rereadMs: number;
}

/** Records taken from a mirror, and whether they came from memory (`warm`) or a full read. */
export interface TakenRecords {
  readonly records: StoredRecord[];
  readonly warm: boolean;
}

export class RecordMirror {
  private records = new Map<string, StoredRecord>();
  /** The copy equals the store as of stream entry `lastId` (number `lastSeq`). */
  private synced = false;
  private lastId = '0-0';
  private lastSeq = 0;
  /** Members the stream named since they were last read. */
  private dirty = new Set<string>();
  private lastReread = 0;
  private following = false;
  /** Rounds failed in a row. */
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly options: MirrorOptions) {
    options.client.on('close', () => {
      this.synced = false;
    });
  }

  /** Starts following the store afresh: a full read, then its changes. */
  start(): void {
    if (this.following) return;
    this.following = true;
    this.schedule(0);
  }

  /**
   * Stops following and returns every record as the store holds it now: from memory after reading
   * the stream to its end, or read whole when the copy is not in step. Call it only once no other
   * writer can write (after taking the lease), or the result may already be out of date.
   * @throws RedisStoreError from the full read.
   */
  async take(): Promise<TakenRecords> {
    await this.halt();
    let warm = false;
    try {
      if (this.synced && (await this.catchUp())) {
        await this.reread();
        warm = true;
      }
    } catch {
      // Read it all below.
    }
    const records = warm ? [...this.records.values()] : await this.options.loadAll();
    this.forget();
    return { records, warm };
  }

  /** Stops following and forgets the copy. */
  async stop(): Promise<void> {
    await this.halt();
    this.forget();
  }

  /** Stops following once the round under way, if any, is over. */
  private async halt(): Promise<void> {
    this.following = false;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Lets the copy go: the next start reads the store whole. */
  private forget(): void {
    this.synced = false;
    this.records = new Map();
    this.dirty = new Set();
  }

  /** How many records the copy holds, and whether it is in step with the store (for tests). */
  state(): { records: number; synced: boolean } {
    return { records: this.records.size, synced: this.synced };
  }

  private schedule(ms: number): void {
    if (!this.following) return;
    this.timer = setTimeout(() => {
      this.running = this.round().then((ok) => {
        // Failing (Redis away, a record unreadable): back off, up to 5 s between full reads.
        this.failures = ok ? 0 : this.failures + 1;
        this.schedule(Math.min(this.options.pollMs * 2 ** this.failures, 5000));
      });
    }, ms);
    this.timer.unref();
  }

  /** One step of following. @returns false when it failed (the copy is then out of step). */
  private async round(): Promise<boolean> {
    try {
      if (!this.synced) await this.resync();
      else if (!(await this.catchUp())) this.synced = false;
      else if (performance.now() - this.lastReread >= this.options.rereadMs) await this.reread();
      return true;
    } catch {
      this.synced = false;
      return false;
    }
  }

  /** Reads every record, noting first where the stream stands (changes after it are read again). */
  private async resync(): Promise<void> {
    const { client, keys } = this.options;
    const replies = await client
      .multi()
      .get(keys.seq)
      .xrevrange(keys.changes, '+', '-', 'COUNT', 1)
      .exec();
    const [seqReply, lastReply] = replies ?? [];
    if (!seqReply || !lastReply || seqReply[0] || lastReply[0]) {
      throw new Error('could not read where the change stream stands');
    }
    const seq = seqReply[1] as string | null;
    const last = lastReply[1] as [id: string, fields: string[]][];
    const records = await this.options.loadAll();
    this.records = new Map(records.map((r) => [r.key, r]));
    this.dirty = new Set();
    this.lastReread = performance.now();
    this.lastSeq = Number(seq ?? 0);
    this.lastId = last[0]?.[0] ?? '0-0';
    this.synced = true;
  }

  /**
   * Reads the stream from the last entry applied to its end, noting the records its entries name.
   * @returns false when entries were trimmed before they were read (the copy is then out of step).
   */
  private async catchUp(): Promise<boolean> {
    const { client, keys } = this.options;
    for (;;) {
      const entries = await client.xrange(
        keys.changes,
        `(${this.lastId}`,
        '+',
        'COUNT',
        ENTRIES_PER_READ,
      );
      if (entries.length === 0) return true;
      for (const [id, fields] of entries) {
        const entry = fieldsOf(fields);
        if (entry.seq !== this.lastSeq + 1) return false;
        for (const m of entry.members) this.dirty.add(m);
        this.lastSeq = entry.seq;
        this.lastId = id;
      }
    }
  }

  /** Reads the noted records again: present ones replace the copy's, missing ones were deleted. */
  private async reread(): Promise<void> {
    const { client, keys } = this.options;
    const members = [...this.dirty];
    this.dirty = new Set();
    this.lastReread = performance.now();
    for (let i = 0; i < members.length; i += CHUNK) {
      const chunk = members.slice(i, i + CHUNK);
      const texts = await client.mget(chunk.map((m) => keys.record(m)));
      chunk.forEach((member, j) => {
        const key = decodeKey(member);
        const text = texts[j];
        if (text === null || text === undefined) this.records.delete(key);
        else this.records.set(key, decodeRecord(key, text));
      });
    }
  }
}

/** A stream entry's number and members (`s <n> k <JSON list>`). @throws Error when malformed. */
function fieldsOf(fields: string[]): { seq: number; members: string[] } {
  const at = (name: string) => {
    const i = fields.indexOf(name);
    return i < 0 ? undefined : fields[i + 1];
  };
  const seq = Number(at('s'));
  const members: unknown = JSON.parse(at('k') ?? 'null');
  if (
    !Number.isInteger(seq) ||
    !Array.isArray(members) ||
    !members.every((m) => typeof m === 'string')
  ) {
    throw new Error(`malformed change stream entry: ${fields.join(' ').slice(0, 80)}`);
  }
  return { seq, members };
}

/**
 * A copy of every record of the store the feed reads, reading its change stream every `pollMs`
 * once started and what the stream names every `rereadMs`.
 */
export const followChanges = (feed: ChangeFeed, pollMs = 100, rereadMs = 1000): RecordMirror =>
  new RecordMirror({ ...feed, pollMs, rereadMs });
