/**
 * A term of leadership: the actor system restored from the store, its gRPC services, its
 * persistence, metrics and dashboard. Alone, an instance leads one term from start to stop; with
 * `--ha`, one per time it takes the lease.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { createSchedulerSystem, type SchedulerSystem, type Timers } from '../actors/index.js';
import { AgentService } from '../agent/agent.service.js';
import { createPlacementService } from '../api/placement.service.js';
import { createSchedulerService } from '../api/scheduler.service.js';
import type { Config } from '../config/config.js';
import { ChainerService } from '../chainer/chainer.service.js';
import { unavailable } from '../domain/errors.js';
import type { TakenRecords } from '../ha/redis/mirror.js';
import { Dashboard } from '../http/dashboard/dashboard.js';
import type { Logger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { PACKAGE_DIR } from '../package-dir.js';
import { Persistence, restorable, type Restorable } from '../store/persistence.js';
import type { SnapshotStore } from '../store/ports.js';
import { newXid } from './xid.js';

/**
 * A term of leadership: what runs while this instance leads (alone, it leads from start to
 * stop), the actor system, its services and its persistence.
 */
export interface Term {
  readonly system: SchedulerSystem;
  /** The gRPC implementations of the services. */
  readonly services: Readonly<
    Record<'scheduler' | 'placement' | 'agent' | 'chainer', UntypedServiceImplementation>
  >;
  readonly persistence: Persistence;
  readonly metrics: Registry;
  readonly dashboard: Dashboard;
  /** What the restore at start read (GET /health shows it): from the store, or a standby's memory. */
  readonly restored: { records: number; ms: number; from: 'store' | 'standby memory' };
  /** Ends its streams and timers and flushes what is pending (within `graceMs`). */
  stop(graceMs: number): Promise<void>;
}

/**
 * Time allowed per record restored, or per model an agent re-announces, while keeping the leader
 * lease (ms): a few times what it costs.
 */
export const BUSY_MS_PER_MODEL = 0.5;

/** How long a call waits for its change to be stored before it is answered anyway (or refused). */
const DURABLE_WAIT_MS = 5000;

const realTimers: Timers = {
  now: () => Date.now(),
  after: (ms, fn) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => {
      clearTimeout(t);
    };
  },
};

/**
 * Restores the system from `store` (or from the records a standby kept warm, `taken`) and builds
 * its services.
 */
export async function startTerm(
  config: Config,
  log: Logger,
  store: SnapshotStore,
  taken?: TakenRecords,
  busy?: (ms: number) => void,
): Promise<Term> {
  const started = performance.now();
  const records = await readRecords(store, taken, log);
  const { agents, engines } = gateways(log, busy);
  const system = createSchedulerSystem({
    agents: agents.gateway,
    dataflow: engines.gateway,
    newUid: newXid,
    timers: config.timers ?? realTimers,
    deletedTtlMs: config.deletedTtlMs,
    drainTimeoutMs: config.drainTimeoutMs,
    reconnectGraceMs: config.reconnectGraceMs,
    restore: records,
  });
  // Acknowledged must mean stored (and, with --redis-min-replicas, replicated): a call waiting on a
  // write that failed is refused at once.
  const strict = config.ha !== undefined || config.redisReplication !== undefined;
  const persistence = new Persistence(system, store, {
    log: log.child({ component: 'store' }),
    refuseOnFailure: strict,
    // Calls are refused while writes fail: retry often, so that they are taken again soon after.
    ...(strict ? { retryMaxMs: 1000 } : {}),
  });
  const restored = {
    records: records.length,
    ms: Math.round(performance.now() - started),
    from: taken?.warm ? ('standby memory' as const) : ('store' as const),
  };
  if (records.length > 0) log.info(restored, 'state restored; waiting for agents to reconnect');
  agents.attach(system);
  engines.attach(system);
  const scheduler = createSchedulerService({
    system,
    log: log.child({ component: 'api' }),
    applicationVersion: config.version,
    durable: durableWhen(strict, persistence),
  });
  const dashboard = new Dashboard(system, {
    statechartsDir: new URL('statecharts/', PACKAGE_DIR),
    staticDir: new URL('src/http/dashboard/static/', PACKAGE_DIR),
  });
  return {
    system,
    services: {
      scheduler: scheduler.implementation,
      placement: createPlacementService({ system, log: log.child({ component: 'api' }) }),
      agent: agents.implementation(),
      chainer: engines.implementation(),
    },
    persistence,
    metrics: createMetrics(system, persistence),
    dashboard,
    restored,
    stop: async (graceMs) => {
      scheduler.close();
      dashboard.close();
      agents.close();
      engines.close();
      system.stop();
      await persistence.close(graceMs);
    },
  };
}

/**
 * The records to restore, from the store or those a standby kept warm: the ones that cannot be
 * served as they are logged and left out.
 */
async function readRecords(
  store: SnapshotStore,
  taken: TakenRecords | undefined,
  log: Logger,
): Promise<Restorable['records']> {
  const { records, quarantined } = restorable(taken?.records ?? (await store.load()));
  for (const q of quarantined) {
    log.error(
      q,
      'stored record cannot be served as it is: left out (a new resource of its name replaces it)',
    );
  }
  return records;
}

/**
 * The system's gateways to the agents and the dataflow engines (their gRPC services once
 * attached). With `busy`, an agent re-announcing its models keeps the leader lease meanwhile.
 */
function gateways(log: Logger, busy?: (ms: number) => void) {
  const agents = new AgentService({
    log: log.child({ component: 'agent' }),
    ...(busy
      ? {
          announcing: (models: number) => {
            busy(models * BUSY_MS_PER_MODEL);
          },
        }
      : {}),
  });
  const engines = new ChainerService({ log: log.child({ component: 'dataflow' }) });
  return { agents, engines };
}

/** What a call that changed something waits for before it is answered. */
function durableWhen(strict: boolean, persistence: Persistence): () => Promise<void> {
  // An acknowledged change is durable. Alone, a scheduler whose store is failing serves from
  // memory (health says so) rather than stall every client; with standbys it must not: the one
  // taking over would not have the change, so the call fails and the client retries there. Nor
  // with --redis-min-replicas: the user asked for an acknowledgement to mean replicated.
  return strict
    ? () =>
        withinMs(persistence.durable(), DURABLE_WAIT_MS, () =>
          unavailable('the change could not be stored in time; retry (another scheduler may lead)'),
        )
    : () =>
        persistence.healthy ? withinMs(persistence.durable(), DURABLE_WAIT_MS) : Promise.resolve();
}

/** Settles as `p` does, or after `ms`: resolving, or rejecting with `late()` when given. */
function withinMs(p: Promise<void>, ms: number, late?: () => Error): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => {
        if (late) reject(late());
        else resolve();
      }, ms);
    }),
  ]).finally(() => {
    clearTimeout(timer);
  });
}
