/**
 * The leader lease on Redis (high availability, `--ha`): `P:leader` holds the leader's identity
 * with a time to live, taken with the equivalent of SET NX PX and renewed by its holder only;
 * `P:epoch` is the fencing token, incremented atomically with each take-over, which every write of
 * the leader's store then checks (redis-store.ts `fence`).
 */
import { randomUUID } from 'node:crypto';
import type { Lease, LeaseHolder } from '../ports.js';
import {
  createClient,
  type RedisClient,
  type RedisTlsOptions,
  type SentinelAccess,
} from '../../store/redis/client.js';
import { parseRedisEndpoint } from '../../store/redis/endpoint.js';
import { RedisStoreError, messageOf } from '../../store/redis/errors.js';
import { keyRoot, keySpace, type KeySpace } from '../../store/redis/keys.js';
import { NO_REPLICATION, replicated, type Replication } from '../../store/redis/replication.js';
import { LEASE_SCRIPTS } from './scripts.js';

export interface RedisLeaseOptions {
  /** The store's URL (any of endpoint.ts's forms). */
  readonly url: string;
  /** The store's key prefix: the lease and epoch live beside its records. */
  readonly prefix: string;
  /** This instance's scheduler address, which followers name to clients (`host:port`). */
  readonly address: string;
  /** How long the lease lasts without a renewal (ms). */
  readonly ttlMs: number;
  /** For rediss://: the CA of Redis's certificate and the client certificate (as the store's). */
  readonly tls?: RedisTlsOptions;
  /** The sentinels' own credentials and TLS (as the store's). */
  readonly sentinel?: SentinelAccess;
  /** Replicas that must have a take-over or renewal before it counts (as the store's writes). */
  readonly replication?: Replication;
}

/** How long one command of the lease may take: well within the lease. */
const commandTimeout = (options: RedisLeaseOptions) => Math.max(100, Math.floor(options.ttlMs / 3));

/**
 * A lease on its own Redis connection, whose commands time out well within the lease; a connection
 * that stays silent that long is reopened.
 */
export class RedisLease implements Lease {
  private readonly keys: KeySpace;
  /** `<address>|<instance uuid>`; the lease's value adds `|<epoch>`. */
  private readonly id: string;
  private held: string | undefined;

  private readonly replication: Replication;

  private constructor(
    private readonly client: RedisClient,
    private readonly options: RedisLeaseOptions,
  ) {
    const endpoint = parseRedisEndpoint(options.url);
    this.keys = keySpace(keyRoot(options.prefix, endpoint.kind === 'cluster'));
    // A WAIT must end well within the command timeout, which is well within the lease.
    const { replicas, timeoutMs } = options.replication ?? NO_REPLICATION;
    this.replication = { replicas, timeoutMs: Math.min(timeoutMs, commandTimeout(options) / 2) };
    this.id = `${options.address}|${randomUUID()}`;
  }

  /** @throws RedisStoreError `Unavailable` when Redis cannot be reached. */
  static async open(options: RedisLeaseOptions): Promise<RedisLease> {
    const timeout = commandTimeout(options);
    const client = createClient(parseRedisEndpoint(options.url), {
      connectionName: 'mlsched-lease',
      commandTimeout: timeout,
      // A connection silent past that (a lost flow: no reply, no reset) is dropped and reopened.
      socketTimeout: timeout,
      connectTimeout: 2000,
      retryDelay: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt - 1, 10), timeout),
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.sentinel ? { sentinel: options.sentinel } : {}),
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

  /**
   * Takes the lease when it is free. With replication, a take-over that too few replicas have is
   * given back: a failover could otherwise bring back the old lease beside this leader.
   * @throws RedisStoreError `Unavailable` then (and for Redis errors as they come).
   */
  async acquire(): Promise<number | undefined> {
    const { leader, epoch: counter } = this.keys;
    const ttl = String(this.options.ttlMs);
    let epoch: number | null;
    try {
      [epoch] = (await replicated(
        this.client,
        (p) => p.eval(LEASE_SCRIPTS.acquire, 2, leader, counter, this.id, ttl),
        this.replication,
        'the lease take-over',
      )) as [number | null];
    } catch (e) {
      if (e instanceof RedisStoreError) {
        // Taken on the primary only: not led from. Given back, whoever holds it now.
        const held = await this.client.get(this.keys.leader).catch(() => null);
        if (held?.startsWith(`${this.id}|`)) {
          await this.client
            .eval(LEASE_SCRIPTS.release, 1, this.keys.leader, held)
            .catch(() => undefined);
        }
      }
      throw e;
    }
    if (epoch === null) return undefined;
    this.held = `${this.id}|${epoch}`;
    return epoch;
  }

  /**
   * Extends the lease if it is still this instance's. With replication, a renewal too few replicas
   * have fails (rejects), so the lease is kept only as long as a promoted replica would keep it.
   */
  async renew(): Promise<boolean> {
    if (this.held === undefined) return false;
    const ttl = String(this.options.ttlMs);
    const held = this.held;
    const [ok] = await replicated(
      this.client,
      (p) => p.eval(LEASE_SCRIPTS.renew, 1, this.keys.leader, held, ttl),
      this.replication,
      'the lease renewal',
    );
    if (ok !== 1) this.held = undefined;
    return ok === 1;
  }

  async release(): Promise<void> {
    if (this.held === undefined) return;
    const held = this.held;
    this.held = undefined;
    await this.client.eval(LEASE_SCRIPTS.release, 1, this.keys.leader, held);
  }

  async holder(): Promise<LeaseHolder | undefined> {
    const [value, ttl] = (await this.client.eval(LEASE_SCRIPTS.holder, 1, this.keys.leader)) as [
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
