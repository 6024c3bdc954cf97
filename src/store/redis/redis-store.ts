/**
 * The Redis {@link SnapshotStore} (`--store redis`): one string per record plus an index set under
 * a key prefix (keys.ts), written with one script per batch and loaded with SMEMBERS + MGET, on one
 * server, a primary found through Redis Sentinel, or a Redis Cluster (endpoint.ts, client.ts).
 *
 * Durability is "acknowledged by Redis": `write` resolves once the primary has applied the batch
 * and, with `minReplicas`, once that many replicas have it too (WAIT). Whether that survives a
 * crash of Redis itself depends on the server's own persistence (`appendonly yes`, `appendfsync`)
 * and, for a failover, on which replica is promoted: this store changes neither.
 *
 * While Redis cannot be reached nothing queues: commands fail at once (or after `commandTimeoutMs`
 * when the connection hangs), the client reconnects with a capped back-off, and `health()` says so
 * until a command succeeds again.
 */
import type { ChainableCommander } from 'ioredis';
import type { SnapshotStore, StoredRecord, StoreHealth, WriteBatch } from '../ports.js';
import {
  createClient,
  type RedisClient,
  type RedisTlsOptions,
  type SentinelAccess,
} from './client.js';
import { checkKey, decodeRecord, encodeRecord } from './codec.js';
import { EndpointError, parseRedisEndpoint, redactPassword } from './endpoint.js';
import { RedisStoreError, fromRedisError, messageOf } from './errors.js';
import { decodeKey, encodeKey, isWellFormed, keyRoot, keySpace, type KeySpace } from './keys.js';
import { NO_REPLICATION, replicated, type Replication } from './replication.js';
import { WRITE_SCRIPT } from './scripts.js';

/** What a copy of every record needs to follow the store (RedisStore.changeFeed). */
export interface ChangeFeed {
  /** The connection to read with. */
  readonly client: RedisClient;
  readonly keys: KeySpace;
  /** Reads every record (the store's `load`). */
  readonly loadAll: () => Promise<StoredRecord[]>;
}

/** Where the store reports connectivity changes (a pino logger fits). */
export interface RedisStoreLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** How to reach Redis and where to keep the records. */
export interface RedisStoreOptions {
  /** One of endpoint.ts's forms: `redis[s]://`, `redis[s]-sentinel://` or `redis[s]-cluster://`. */
  readonly url: string;
  /** TLS settings (CA, client certificate) for a `rediss...` url or TLS sentinels. */
  readonly tls?: RedisTlsOptions;
  /** The sentinels' own credentials and TLS (a `redis-sentinel://` url). */
  readonly sentinel?: SentinelAccess;
  /** Replicas that must have each batch before it counts as written (WAIT), and how long to wait. */
  readonly replication?: Replication;
  /** Key prefix of this store's keys (`<prefix>:keys`, `<prefix>:r:<key>`). Non-empty. */
  readonly prefix: string;
  /** Told once when Redis becomes unreachable and once when it is back. */
  readonly logger?: RedisStoreLogger;
  /** How long one command (or transaction) may wait for its reply. Default 2000 ms. */
  readonly commandTimeoutMs?: number;
  /** How long a connection attempt may take. Default 2000 ms. */
  readonly connectTimeoutMs?: number;
  /** Reconnect back-off: the first delay, doubled per attempt up to `reconnectMaxMs`. Default 100. */
  readonly reconnectMinMs?: number;
  /** Longest reconnect delay. Default 2000 ms, 500 through sentinels or on a cluster. */
  readonly reconnectMaxMs?: number;
  /** How often Redis is PINGed while unreachable (to notice it is back). Default 1000 ms. */
  readonly probeIntervalMs?: number;
  /** Records per MGET in `load`. Default 1000. */
  readonly loadChunkSize?: number;
}

/**
 * Entries the change stream keeps (about; each lists up to a batch's 1,000 members): a standby
 * polling every 100 ms that falls further behind reads the whole store again.
 */
const CHANGES_KEPT = 1000;

/** MGETs sent together in one pipeline (one round trip) by `load`. */
const MGETS_PER_PIPELINE = 50;

const NO_LOGGER: RedisStoreLogger = { warn: () => undefined, info: () => undefined };

/** Why the store is unhealthy: Redis unreachable (probed until back) or refusing writes. */
interface Outage {
  readonly kind: 'Unavailable' | 'Refused';
  readonly detail: string;
}

/**
 * Opens a store on the Redis at `options.url` and resolves once connected.
 *
 * @throws RedisStoreError `Invalid` for a URL that is not redis:// or rediss://, an empty prefix,
 *   or `tls` with a redis:// URL;
 *   `Unavailable` when Redis cannot be reached within `connectTimeoutMs` (plus one command timeout
 *   for the handshake); `Refused` when it refuses the connection (wrong password, no client
 *   certificate it accepts, ...).
 */
export async function openRedisStore(options: RedisStoreOptions): Promise<RedisStore> {
  const where = redactPassword(options.url);
  let endpoint;
  try {
    endpoint = parseRedisEndpoint(options.url);
  } catch (e) {
    if (e instanceof EndpointError)
      throw new RedisStoreError('Invalid', `redis store: ${e.message}`);
    throw e;
  }
  if (options.prefix.length === 0 || !isWellFormed(options.prefix)) {
    throw new RedisStoreError('Invalid', 'redis store: the key prefix must be a non-empty string');
  }
  if (options.tls && !endpoint.tls && !options.sentinel?.tls) {
    throw new RedisStoreError(
      'Invalid',
      `redis store: TLS settings need a rediss:// url (or TLS sentinels), not ${where}`,
    );
  }
  let root: string;
  try {
    root = keyRoot(options.prefix, endpoint.kind === 'cluster');
  } catch (e) {
    throw new RedisStoreError('Invalid', `redis store: ${messageOf(e)}`);
  }
  // A write's reply waits for its WAIT too.
  const commandTimeout =
    (options.commandTimeoutMs ?? 2_000) + (options.replication?.timeoutMs ?? 0);
  const connectTimeout = options.connectTimeoutMs ?? 2_000;
  const minDelay = options.reconnectMinMs ?? 100;
  // Through sentinels or a cluster a reconnect finds the primary promoted meanwhile: try often.
  const maxDelay = options.reconnectMaxMs ?? (endpoint.kind === 'single' ? 2_000 : 500);
  const client = createClient(endpoint, {
    connectionName: 'mlsched-store',
    commandTimeout,
    // A connection that stays silent that long while a command waits (a flow lost in a partition:
    // no reply, no reset) is dropped and reopened; otherwise it would never recover.
    socketTimeout: commandTimeout,
    connectTimeout,
    retryDelay: (attempt: number) => Math.min(minDelay * 2 ** Math.min(attempt - 1, 30), maxDelay),
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.sentinel ? { sentinel: options.sentinel } : {}),
  });
  return RedisStore.connect(
    client,
    {
      where,
      prefix: options.prefix,
      root,
      replication: options.replication ?? NO_REPLICATION,
      logger: options.logger ?? NO_LOGGER,
      probeIntervalMs: options.probeIntervalMs ?? 1_000,
      loadChunkSize: Math.max(1, options.loadChunkSize ?? 1_000),
      tlsWithoutClientCertificate:
        (endpoint.tls || options.sentinel?.tls === true) && options.tls?.cert === undefined,
    },
    connectTimeout + commandTimeout,
  );
}

/** What {@link RedisStore} needs besides its client (given by {@link openRedisStore}). */
export interface StoreSettings {
  readonly where: string;
  readonly prefix: string;
  /** What every key starts with (keys.ts `keyRoot`). */
  readonly root: string;
  readonly replication: Replication;
  readonly logger: RedisStoreLogger;
  readonly probeIntervalMs: number;
  readonly loadChunkSize: number;
  /** TLS to Redis or to the sentinels, with no client certificate to present. */
  readonly tlsWithoutClientCertificate: boolean;
}

/**
 * A {@link SnapshotStore} on one ioredis connection. Create it with {@link openRedisStore}.
 * Batches are applied in call order because each is one script written to the one connection
 * as it is called, and nothing is ever resent.
 */
export class RedisStore implements SnapshotStore {
  /** The Redis URL with its password redacted. */
  readonly url: string;
  /** The key prefix. */
  readonly prefix: string;
  private readonly keys: KeySpace;
  private sent = 0;
  private outage: Outage | undefined;
  private lastError: string | undefined;
  private closed = false;
  /** False until the first connection succeeded: failures before that are `openFailure`'s. */
  private opened = false;
  /** The first connection got as far as its TCP (for rediss://, TLS) handshake. */
  private handshook = false;
  private probing = false;
  private probeTimer: NodeJS.Timeout | undefined;
  /** With high availability: the fencing token every write must still hold (src/ha/redis/lease.ts). */
  private fencingToken: number | undefined;

  /**
   * Connects `client` (created with `lazyConnect`) within `timeoutMs` and wraps it. The entry
   * point is {@link openRedisStore}, which builds the client from the options.
   * @throws RedisStoreError `Unavailable` or `Refused` (the client is then disconnected).
   */
  static async connect(
    client: RedisClient,
    settings: StoreSettings,
    timeoutMs: number,
  ): Promise<RedisStore> {
    const store = new RedisStore(client, settings);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.connect(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            reject(new Error(`no connection within ${timeoutMs} ms`));
          }, timeoutMs);
        }),
      ]);
    } catch (e) {
      client.disconnect();
      throw store.openFailure(e);
    } finally {
      clearTimeout(timer);
    }
    store.opened = true;
    return store;
  }

  private constructor(
    private readonly client: RedisClient,
    private readonly settings: StoreSettings,
  ) {
    this.url = settings.where;
    this.prefix = settings.prefix;
    this.keys = keySpace(settings.root);
    client.on('error', (e: unknown) => {
      this.lastError = messageOf(e);
      this.down('Unavailable', `redis unreachable: ${messageOf(e)}`, e);
    });
    client.on('close', () => {
      this.down('Unavailable', `redis unreachable: connection closed${this.lastErrorSuffix()}`);
    });
    client.on('connect', () => {
      this.handshook = true;
    });
    client.on('ready', () => {
      this.lastError = undefined;
      void this.probe();
    });
  }

  /**
   * Round trips to Redis so far: one per `write` (its script, and WAIT, in one pipeline), one for
   * the SMEMBERS of a `load` plus one per pipeline of up to 50 MGETs, and one per health PING while
   * Redis is unreachable. Empty batches and refused (invalid, closed, offline) calls send nothing.
   */
  get roundTrips(): number {
    return this.sent;
  }

  /**
   * Every record, read with SMEMBERS of the index and then MGETs of 1000 keys (pipelined). Meant
   * for start-up: it is not isolated from concurrent writers of the same prefix (each record read
   * is the latest at the moment it is read).
   *
   * @throws RedisStoreError `Closed`, `Unavailable`, `Refused`, or `Corrupt` naming the record.
   */
  async load(): Promise<StoredRecord[]> {
    this.ready('load');
    try {
      this.sent++;
      const members = await this.client.smembers(this.keys.index);
      const chunks: string[][] = [];
      for (let i = 0; i < members.length; i += this.settings.loadChunkSize) {
        chunks.push(members.slice(i, i + this.settings.loadChunkSize));
      }
      const records: StoredRecord[] = [];
      let missing = 0;
      for (let i = 0; i < chunks.length; i += MGETS_PER_PIPELINE) {
        const group = chunks.slice(i, i + MGETS_PER_PIPELINE);
        const pipeline = this.client.pipeline();
        for (const chunk of group) pipeline.mget(chunk.map((m) => this.keys.record(m)));
        this.sent++;
        const replies = (await pipeline.exec()) ?? [];
        group.forEach((chunk, c) => {
          const values = mgetReply(replies[c]);
          chunk.forEach((member, j) => {
            const text = values[j];
            if (text === null || text === undefined) missing++;
            else records.push(decodeRecord(decodeKey(member), text));
          });
        });
      }
      if (missing > 0) {
        this.settings.logger.warn(
          { redis: this.url, prefix: this.prefix, missing },
          'redis store: index members without a record were skipped (deleted meanwhile?)',
        );
      }
      this.up('read');
      return records;
    } catch (e) {
      throw this.failure(e, 'load', 'load');
    }
  }

  /**
   * Applies the batch as one script (SET + SADD for puts, DEL + SREM for deletes) in one round
   * trip, resolving once it ran and, with replication, once enough replicas have it. Values are
   * serialised when called.
   *
   * @throws RedisStoreError `Invalid` (nothing sent), `Closed`, `Unavailable` (not connected: at
   *   once; no reply: after `commandTimeoutMs`; fewer replicas than asked had it in time; the batch
   *   may or may not be applied) or `Refused` (Redis refused the script: nothing applied).
   */
  write(batch: WriteBatch): Promise<void> {
    const pairs: string[] = [];
    const added: string[] = [];
    const recordKeys: string[] = [];
    const removed: string[] = [];
    if (this.closed) {
      return Promise.reject(new RedisStoreError('Closed', `redis store ${this.url} is closed`));
    }
    try {
      for (const record of batch.put) {
        const text = encodeRecord(record);
        const member = encodeKey(record.key);
        pairs.push(this.keys.record(member), text);
        added.push(member);
      }
      for (const key of batch.del) {
        checkKey(key);
        const member = encodeKey(key);
        recordKeys.push(this.keys.record(member));
        removed.push(member);
      }
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    if (added.length === 0 && removed.length === 0) return Promise.resolve();
    try {
      this.ready('write');
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    this.sent++;
    return this.apply(pairs, added, recordKeys, removed)
      .then(() => {
        this.up('write');
      })
      .catch((e: unknown) => {
        throw this.failure(e, 'write', `write of ${added.length + removed.length} changes`);
      });
  }

  /** How many records the store holds (one SCARD). @throws RedisStoreError as `load`. */
  async count(): Promise<number> {
    this.ready('load');
    try {
      this.sent++;
      return await this.client.scard(this.keys.index);
    } catch (e) {
      throw this.failure(e, 'load', 'count');
    }
  }

  /**
   * What a standby's copy of every record follows (the mirror of high availability): this store's
   * connection, which a standby does not write with, its keys (the change stream each fenced write
   * appends to), and a full read.
   */
  changeFeed(): ChangeFeed {
    return { client: this.client, keys: this.keys, loadAll: () => this.load() };
  }

  /**
   * From now on every write is applied only while `token` is still the newest fencing token (the
   * epoch a leader got with its lease), atomically with that check; once another scheduler has
   * taken the lease, writes reject `Fenced` and change nothing.
   */
  fence(token: number): void {
    this.fencingToken = token;
  }

  /**
   * One script (when fenced, checking the token first), followed in the same round trip by the
   * WAIT for replicas when asked for.
   */
  private async apply(
    pairs: string[],
    added: string[],
    recordKeys: string[],
    removed: string[],
  ): Promise<void> {
    const puts = pairs.filter((_, i) => i % 2 === 0);
    const texts = pairs.filter((_, i) => i % 2 === 1);
    const token = this.fencingToken === undefined ? '' : String(this.fencingToken);
    const build = (p: ChainableCommander) =>
      p.eval(
        WRITE_SCRIPT,
        4 + puts.length + recordKeys.length,
        this.keys.epoch,
        this.keys.index,
        this.keys.changes,
        this.keys.seq,
        ...puts,
        ...recordKeys,
        token,
        String(puts.length),
        String(CHANGES_KEPT),
        token === '' ? '' : JSON.stringify([...added, ...removed]),
        ...texts,
        ...added,
        ...removed,
      );
    await replicated(this.client, build, this.settings.replication, 'the write');
  }

  /** Ok while commands succeed; otherwise why not (`redis unreachable: ...`). */
  health(): StoreHealth {
    if (this.closed) return { ok: false, detail: `redis store ${this.url} is closed` };
    if (this.outage) return { ok: false, detail: this.outage.detail };
    return { ok: true, detail: `redis ${this.url} prefix '${this.prefix}': connected` };
  }

  /**
   * Sends QUIT after the writes already sent (so they complete first) and closes the connection;
   * disconnects at once when Redis is unreachable. Later `write`/`load` calls reject `Closed`.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    if (this.client.status === 'ready') {
      try {
        await this.client.quit();
        return;
      } catch {
        // Unreachable meanwhile: fall through to the hard disconnect.
      }
    }
    this.client.disconnect();
  }

  /** The error of a failed first connection (the last connection error says more than ioredis's). */
  private openFailure(e: unknown): RedisStoreError {
    this.closed = true;
    // OpenSSL's `<hex>:error:<hex>:SSL routines:<function>:<reason>:<file>:<line>...` → the reason.
    const reason = (this.lastError ?? messageOf(e)).replace(
      /^[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]*:([^:]+):[\s\S]*$/,
      'TLS: $1',
    );
    if (/WRONGPASS|NOAUTH|NOPERM|invalid password/i.test(reason)) {
      return new RedisStoreError('Refused', `redis ${this.url} refused the connection: ${reason}`, {
        cause: e,
      });
    }
    // Over TLS 1.3 the client's handshake is done before Redis checks the client certificate
    // (`tls-auth-clients yes`); Redis then drops the connection with an alert, or with a bare
    // reset when the client's first command crosses it.
    if (
      this.handshook &&
      /^rediss:/i.test(this.url) &&
      /alert|ECONNRESET|EPIPE|closed/i.test(reason)
    ) {
      return new RedisStoreError(
        'Refused',
        `redis ${this.url} refused the connection after the TLS handshake (${reason}): it ` +
          'may require a client certificate signed by a CA it trusts (tls-auth-clients; ' +
          '--redis-tls-cert and --redis-tls-key)',
        { cause: e },
      );
    }
    // Through sentinels or a cluster the refusal shows only as nodes that close the connection.
    const hint = this.settings.tlsWithoutClientCertificate
      ? '; over TLS, a Redis or sentinel that requires client certificates (tls-auth-clients) ' +
        'closes the connection without saying why: give --redis-tls-cert and --redis-tls-key'
      : '';
    return new RedisStoreError('Unavailable', `redis unreachable (${this.url}): ${reason}${hint}`, {
      cause: e,
    });
  }

  // ── health ────────────────────────────────────────────────────────────────────────────────

  /** @throws RedisStoreError `Closed`, or `Unavailable` while not connected (nothing is sent). */
  private ready(what: string): void {
    if (this.closed) {
      throw new RedisStoreError('Closed', `redis store ${this.url} is closed`);
    }
    if (this.client.status !== 'ready') {
      throw new RedisStoreError(
        'Unavailable',
        `redis unreachable (${this.url}): ${what} failed: not connected ` +
          `(${this.client.status})${this.lastErrorSuffix()}`,
      );
    }
  }

  /** Classifies a failed command, and marks the store down when Redis is the problem. */
  private failure(e: unknown, op: 'load' | 'write', what: string): RedisStoreError {
    if (e instanceof RedisStoreError) return e;
    const error = fromRedisError(e, what, this.url);
    if (error.code === 'Unavailable') {
      this.down('Unavailable', `redis unreachable: ${messageOf(e)}`, e);
    } else if (op === 'write') {
      this.down('Refused', `redis refused writes: ${messageOf(e)}`, e);
    }
    return error;
  }

  private lastErrorSuffix(): string {
    return this.lastError === undefined ? '' : `: ${this.lastError}`;
  }

  /** Records an outage; logs only the transition from healthy. */
  private down(kind: Outage['kind'], detail: string, err?: unknown): void {
    if (this.closed || !this.opened) return;
    const wasUp = this.outage === undefined;
    // An unreachable Redis outranks one that refused a write: it is what must be probed for.
    if (this.outage?.kind === 'Unavailable' && kind === 'Refused') return;
    this.outage = { kind, detail };
    if (wasUp) {
      this.settings.logger.warn(
        { redis: this.url, prefix: this.prefix, detail, ...(err === undefined ? {} : { err }) },
        kind === 'Unavailable'
          ? 'redis store: redis unreachable, writes fail until it is back'
          : 'redis store: redis refuses writes',
      );
    }
    if (kind === 'Unavailable') this.scheduleProbe();
  }

  /**
   * Clears the outage after a successful command. A refusal (OOM, READONLY, ...) is only cleared
   * by a successful write: reads and PINGs say nothing about it.
   */
  private up(source: 'read' | 'write' | 'probe'): void {
    const outage = this.outage;
    if (outage === undefined || this.closed) return;
    if (outage.kind === 'Refused' && source !== 'write') return;
    this.outage = undefined;
    clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    this.settings.logger.info(
      { redis: this.url, prefix: this.prefix, after: outage.detail },
      outage.kind === 'Unavailable'
        ? 'redis store: redis reachable again'
        : 'redis store: redis accepts writes again',
    );
  }

  private scheduleProbe(): void {
    if (this.closed || this.probeTimer !== undefined || this.outage?.kind !== 'Unavailable') return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      void this.probe();
    }, this.settings.probeIntervalMs);
    this.probeTimer.unref();
  }

  /** PINGs Redis while it is marked unreachable and connected (else waits for the next probe). */
  private async probe(): Promise<void> {
    if (this.closed || this.probing || this.outage?.kind !== 'Unavailable') return;
    if (this.client.status !== 'ready') {
      this.scheduleProbe();
      return;
    }
    this.probing = true;
    try {
      this.sent++;
      await this.client.ping();
      this.up('probe');
    } catch (e) {
      this.down('Unavailable', `redis unreachable: ${messageOf(e)}`, e);
    } finally {
      this.probing = false;
      this.scheduleProbe();
    }
  }
}

/** The values of one pipelined MGET reply. @throws its error, or when it is not an MGET reply. */
function mgetReply(reply: [Error | null, unknown] | undefined): (string | null)[] {
  if (reply === undefined) throw new Error('missing MGET reply');
  const [error, values] = reply;
  if (error) throw error;
  if (!Array.isArray(values)) throw new Error('MGET replied with something else than an array');
  return values as (string | null)[];
}
