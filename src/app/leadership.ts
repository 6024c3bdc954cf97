/**
 * Who leads. Alone, this instance leads from start to stop; with `--ha` it stands by and
 * campaigns for the leader lease on the Redis store, leads while it renews it, and steps down
 * when it cannot.
 */
import { hostname } from 'node:os';
import type { Config, HaConfig } from '../config/config.js';
import { Election } from '../ha/election.js';
import type { KeptLease } from '../ha/ports.js';
import type { RecordMirror } from '../ha/redis/mirror.js';
import type { Logger } from '../observability/logger.js';
import type { SnapshotStore } from '../store/ports.js';
import type { RedisStore } from '../store/redis/redis-store.js';
import type { GrpcServers } from './grpc.js';
import type { Role } from './role.js';
import { borrowed, redisAccess } from './store.js';
import { BUSY_MS_PER_MODEL, startTerm } from './term.js';

export const HA_NEEDS_REDIS =
  '--ha: high availability needs a redis:// store (--store redis://HOST:PORT)';

/**
 * How long a leader's event loop may be stuck before its lease is let lapse (ms), in lease
 * periods, and at least: long enough for an agent re-announcing thousands of models, short enough
 * that a wedged leader is replaced.
 */
const STALL_LEASES = 5;
const STALL_MIN_MS = 5000;

/** The lease, the store as the Redis store it must be (to fence its writes), and its mirror. */
export interface LeaseStore {
  readonly lease: KeptLease;
  /** Its period (`--lease-ms`). */
  readonly leaseMs: number;
  /** The address standbys name for this instance. */
  readonly address: string;
  readonly redis: RedisStore;
  /** What a standby keeps warm, to take over without reading the whole store. */
  readonly warm: RecordMirror;
}

/** Without `--ha`: restores the state and serves it (on failure, the store is closed). */
export async function leadAlone(
  config: Config,
  log: Logger,
  store: SnapshotStore,
  role: Role,
  grpc: GrpcServers,
): Promise<void> {
  try {
    role.term = await startTerm(config, log, borrowed(store));
  } catch (e) {
    await store.close();
    throw e;
  }
  grpc.serving(true);
}

/**
 * With `--ha`: opens the lease on the store's Redis, naming this instance by `ha.advertise` or
 * its host and bound scheduler port.
 */
export async function openLease(
  config: Config,
  ha: HaConfig,
  schedulerPort: number,
  store: SnapshotStore,
): Promise<LeaseStore> {
  const address = ha.advertise ?? advertised(config.host, schedulerPort);
  // Loaded only when used, as the Redis store itself.
  const { RedisStore } = await import('../store/redis/redis-store.js');
  const { KeptRedisLease } = await import('../ha/redis/kept-lease.js');
  const { followChanges } = await import('../ha/redis/mirror.js');
  if (config.store.kind !== 'redis' || !(store instanceof RedisStore)) {
    throw new Error(HA_NEEDS_REDIS);
  }
  const lease = await KeptRedisLease.open({
    url: config.store.url,
    prefix: config.redisPrefix ?? 'mlsched',
    address,
    ttlMs: ha.leaseMs,
    stallMs: Math.max(STALL_MIN_MS, STALL_LEASES * ha.leaseMs),
    ...redisAccess(config),
  });
  return {
    lease,
    leaseMs: ha.leaseMs,
    address,
    redis: store,
    // What a standby keeps warm: read on the store's connection, which it does not write with.
    warm: followChanges(store.changeFeed()),
  };
}

/** The address standbys name for this instance: its host (the machine's name for a wildcard). */
function advertised(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' || host === '' ? hostname() : host;
  return name.includes(':') ? `[${name}]:${port}` : `${name}:${port}`;
}

/**
 * With `--ha`: stands by, keeping the state warm, and campaigns for the lease; when it takes the
 * lease it leads (restores a term and serves it), when it loses it it steps down and stands by
 * again (unless `stopping()`).
 */
export function leadOrFollow(
  config: Config,
  log: Logger,
  store: SnapshotStore,
  role: Role,
  grpc: GrpcServers,
  leaseStore: LeaseStore,
  stopping: () => boolean,
): Election {
  const advertise = leaseStore.address;
  const haLog = log.child({ component: 'ha' });
  // A write fenced off means another scheduler leads: stop at once.
  const termStore = borrowed(store, (e) => {
    if ((e as { code?: unknown }).code === 'Fenced') {
      election.resign('a write was fenced: another scheduler leads');
    }
  });
  const election = new Election(leaseStore.lease, leaseStore.leaseMs, haLog, {
    lead: async (epoch, busy) => {
      const t0 = performance.now();
      // Restoring the state blocks this process (about 0.1 ms a record, more on a busy
      // machine): the lease is kept through it, even past the usual stall bound.
      busy((await leaseStore.redis.count()) * BUSY_MS_PER_MODEL);
      // The old leader is fenced off by now: what the standby kept warm, caught up, is the state.
      const taken = await leaseStore.warm.take();
      leaseStore.redis.fence(epoch);
      role.term = await startTerm(config, log, termStore, taken, busy);
      role.leader = advertise;
      grpc.serving(true);
      role.counts.terms++;
      role.counts.lastTakeoverMs = performance.now() - t0;
      haLog.info(
        { epoch, address: advertise, ms: Math.round(role.counts.lastTakeoverMs) },
        'leading',
      );
    },
    follow: (holder) => {
      role.leader = holder;
    },
    stepDown: async (why) => {
      const c = role.term;
      role.term = undefined;
      grpc.serving(false);
      role.counts.stepDowns++;
      haLog.warn({ why }, 'no longer leading; standing by');
      await c?.stop(500);
      if (!stopping()) leaseStore.warm.start();
    },
  });
  role.leaseHeld = () => election.holds();
  leaseStore.warm.start();
  election.start();
  return election;
}
