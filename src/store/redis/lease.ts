/**
 * The leader lease on Redis (high availability, `--ha`): `P:leader` holds the leader's identity
 * with a time to live, taken with the equivalent of SET NX PX and renewed by its holder only;
 * `P:epoch` is the fencing token, incremented atomically with each take-over, which every write of
 * the leader's store then checks (redis-store.ts `fence`).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Lease, LeaseHolder } from '../ports.js';
import type { RedisTlsOptions } from './redis-store.js';
import { RedisStoreError, messageOf } from './errors.js';
import { keySpace, type KeySpace } from './keys.js';

export interface RedisLeaseOptions {
  /** `redis://...` or `rediss://...`, as the store's. */
  readonly url: string;
  /** The store's key prefix: the lease and epoch live beside its records. */
  readonly prefix: string;
  /** This instance's scheduler address, which followers name to clients (`host:port`). */
  readonly address: string;
  /** How long the lease lasts without a renewal (ms). */
  readonly ttlMs: number;
  /** For rediss://: the CA of Redis's certificate and the client certificate (as the store's). */
  readonly tls?: RedisTlsOptions;
}

/** KEYS: leader, epoch. ARGV: identity prefix, ttl. Takes a free lease; returns the new epoch. */
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. epoch, 'PX', ARGV[2])
return epoch
`;

/** KEYS: leader. ARGV: identity, ttl. Extends the lease if it is still this identity's. */
const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/** KEYS: leader. The lease's value and its time to live (ms), read together. */
const HOLDER = `return { redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1]) }`;

/** KEYS: leader. ARGV: identity. Deletes the lease if it is still this identity's. */
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`;

/**
 * A lease on its own Redis connection, whose commands time out well within the lease; a connection
 * that stays silent that long is reopened.
 */
export class RedisLease implements Lease {
  private readonly keys: KeySpace;
  /** `<address>|<instance uuid>`; the lease's value adds `|<epoch>`. */
  private readonly id: string;
  private held: string | undefined;

  private constructor(
    private readonly client: Redis,
    private readonly options: RedisLeaseOptions,
  ) {
    this.keys = keySpace(options.prefix);
    this.id = `${options.address}|${randomUUID()}`;
  }

  /** @throws RedisStoreError `Unavailable` when Redis cannot be reached. */
  static async open(options: RedisLeaseOptions): Promise<RedisLease> {
    const timeout = Math.max(100, Math.floor(options.ttlMs / 3));
    const client = new Redis(options.url, {
      lazyConnect: true,
      connectionName: 'mlsched-lease',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: timeout,
      // A connection silent past that (a lost flow: no reply, no reset) is dropped and reopened.
      socketTimeout: timeout,
      connectTimeout: 2000,
      retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt - 1, 10), timeout),
      ...(/^rediss:/i.test(options.url) ? { tls: { ...options.tls } } : {}),
    });
    // Each command reports its own failure; a failed connection, why (ECONNREFUSED...).
    let failure: unknown;
    client.on('error', (e: unknown) => {
      failure = e;
    });
    try {
      await client.connect();
    } catch (e) {
      client.disconnect();
      const why = failure ?? e;
      throw new RedisStoreError('Unavailable', `redis lease: cannot connect: ${messageOf(why)}`, {
        cause: why,
      });
    }
    return new RedisLease(client, options);
  }

  async acquire(): Promise<number | undefined> {
    const epoch = (await this.client.eval(
      ACQUIRE,
      2,
      this.keys.leader,
      this.keys.epoch,
      this.id,
      String(this.options.ttlMs),
    )) as number | null;
    if (epoch === null) return undefined;
    this.held = `${this.id}|${epoch}`;
    return epoch;
  }

  async renew(): Promise<boolean> {
    if (this.held === undefined) return false;
    const ttl = String(this.options.ttlMs);
    const ok = await this.client.eval(RENEW, 1, this.keys.leader, this.held, ttl);
    if (ok !== 1) this.held = undefined;
    return ok === 1;
  }

  async release(): Promise<void> {
    if (this.held === undefined) return;
    const held = this.held;
    this.held = undefined;
    await this.client.eval(RELEASE, 1, this.keys.leader, held);
  }

  async holder(): Promise<LeaseHolder | undefined> {
    const [value, ttl] = (await this.client.eval(HOLDER, 1, this.keys.leader)) as [
      string | null,
      number,
    ];
    const address = value?.split('|')[0];
    return address === undefined ? undefined : { address, expiresInMs: Math.max(0, ttl) };
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
