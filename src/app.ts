import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  experimental,
  Server,
  ServerCredentials,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { createSchedulerSystem, type SchedulerSystem, type Timers } from './actors/index.js';
import { AgentService, agentServiceDefinition } from './agent/agent.service.js';
import { planRequestFromProto } from './api/mappers/placement.js';
import { createPlacementService } from './api/placement.service.js';
import { createSchedulerService, schedulerServiceDefinition } from './api/scheduler.service.js';
import { PlacementService, PlanRequest } from './gen/mlsched/placement/v1/placement.js';
import { Dashboard } from './http/dashboard/dashboard.js';
import { unavailable } from './domain/errors.js';
import type { Config } from './config/config.js';
import { ServerCertificates } from './config/tls-reload.js';
import { createHttpPort, type HttpPort } from './http/server.js';
import { httpRoutes, type HttpViews } from './http/routes.js';
import { ChainerService } from './dataflow/chainer.service.js';
import { ChainerService as ChainerServiceDefinition } from './gen/mlops/chainer/chainer.js';
import type { Logger } from './observability/logger.js';
import { createMetrics, createProcessMetrics } from './observability/metrics.js';
import type { Registry } from 'prom-client';
import { gated } from './wire/grpc.js';
import { addReflection, HealthService } from './wire/lazy-services.js';
import { PACKAGE_DIR } from './package-dir.js';
import { openFileStore } from './store/file/file-store.js';
import { MemoryStore } from './store/memory/memory-store.js';
import { Persistence, restorable } from './store/persistence.js';
import { Election } from './ha/election.js';
import type { KeptLease } from './ha/ports.js';
import type { SnapshotStore } from './store/ports.js';
import type { RecordMirror, TakenRecords } from './ha/redis/mirror.js';
import type { RedisStore } from './store/redis/redis-store.js';

export interface Ports {
  scheduler: number;
  agent: number;
  dataflow: number;
  /** Null without an HTTP port (`--http-port off`). */
  http: number | null;
}

export interface App {
  readonly ports: Ports;
  /** The actor system. @throws Error on a standby (`--ha`), which has none until it leads. */
  readonly system: SchedulerSystem;
  /** Ends streams, stops listening and releases timers; resolves within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const PROTO_DIR = fileURLToPath(new URL('proto/', PACKAGE_DIR));

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

let xidCounter = randomBytes(3).readUIntBE(0, 3);
const XID_MACHINE = randomBytes(5);
const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';

/** A 20-character id in the shape of Seldon's xids: seconds, 5 random bytes, a counter, base32hex. */
export function newXid(): string {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(Math.floor(Date.now() / 1000) >>> 0, 0);
  XID_MACHINE.copy(b, 4);
  xidCounter = (xidCounter + 1) & 0xffffff;
  b.writeUIntBE(xidCounter, 9, 3);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32HEX.charAt((value >>> (bits - 5)) & 31);
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out + BASE32HEX.charAt((value << (5 - bits)) & 31);
}

/**
 * A term of leadership: what runs while this instance leads (alone, it leads from start to
 * stop), the actor system, its services and its persistence.
 */
interface Term {
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
 * Restores the system from `store` (or from the records a standby kept warm, `taken`) and builds
 * its services.
 */
async function startTerm(
  config: Config,
  log: Logger,
  store: SnapshotStore,
  taken?: TakenRecords,
  busy?: (ms: number) => void,
): Promise<Term> {
  const started = performance.now();
  const { records, quarantined } = restorable(taken?.records ?? (await store.load()));
  for (const q of quarantined) {
    log.error(
      q,
      'stored record cannot be served as it is: left out (a new resource of its name replaces it)',
    );
  }
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
    // An acknowledged change is durable. Alone, a scheduler whose store is failing serves from
    // memory (health says so) rather than stall every client; with standbys it must not: the one
    // taking over would not have the change, so the call fails and the client retries there. Nor
    // with --redis-min-replicas: the user asked for an acknowledgement to mean replicated.
    durable: strict
      ? () =>
          withinMs(persistence.durable(), DURABLE_WAIT_MS, () =>
            unavailable(
              'the change could not be stored in time; retry (another scheduler may lead)',
            ),
          )
      : () =>
          persistence.healthy
            ? withinMs(persistence.durable(), DURABLE_WAIT_MS)
            : Promise.resolve(),
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

const SERVICES = [
  'seldon.mlops.scheduler.Scheduler',
  'mlsched.placement.v1.Placement',
  'seldon.mlops.agent.AgentService',
  'seldon.mlops.chainer.Chainer',
] as const;

/**
 * Builds the scheduler (system, gRPC services, HTTP endpoint) and starts listening. With
 * `config.ha` it first stands by: every call is refused with UNAVAILABLE naming the leader, and
 * health says NOT_SERVING, until it takes the leader lease; it leads while it renews it.
 */
export async function startApp(config: Config, log: Logger): Promise<App> {
  const store = await openStore(config, log.child({ component: 'store' }));
  let term: Term | undefined;
  /**
   * With --ha: whether the lease is surely held, checked at each call and health probe too, not
   * only by the election's timer, which an event loop busy for a moment runs late.
   */
  let leaseHeld = () => true;
  /** The term, while this instance may answer for it. */
  const active = () => (leaseHeld() ? term : undefined);
  let leader: string | undefined;
  const serving = (on: boolean) => {
    for (const s of ['', ...SERVICES]) health.setStatus(s, on ? 'SERVING' : 'NOT_SERVING');
  };
  /** Who leads, as far as a standby knows (none while this one is between leading and not). */
  const named = () => (term === undefined ? leader : undefined);
  const standby = (): string => {
    const at = named();
    return `this scheduler is a standby; ${at === undefined ? 'no scheduler leads at the moment, retry shortly' : `the leader is at ${at}`}`;
  };
  const refusal = () => ({ code: status.UNAVAILABLE, details: standby() });

  const ha = config.ha;
  const haStatus = { terms: 0, stepDowns: 0, lastTakeoverMs: undefined as number | undefined };
  // Served by a standby too: a scrape of every instance finds which one leads.
  const processMetrics = createProcessMetrics(
    ha && (() => ({ ...haStatus, leading: term !== undefined })),
  );
  if (ha && config.store.kind !== 'redis') {
    await store.close();
    throw new Error('--ha: high availability needs a redis:// store (--store redis://HOST:PORT)');
  }
  const schedulerServer = grpcServer();
  schedulerServer.addService(
    schedulerServiceDefinition,
    gated(schedulerServiceDefinition, () => active()?.services.scheduler, refusal),
  );
  schedulerServer.addService(
    PlacementService,
    gated(PlacementService, () => active()?.services.placement, refusal),
  );
  addReflection(
    schedulerServer,
    [
      'mlops/scheduler/scheduler.proto',
      'mlsched/placement/v1/placement.proto',
      'mlops/agent/agent.proto',
      'mlops/chainer/chainer.proto',
    ],
    PROTO_DIR,
  );

  const agentServer = grpcServer();
  agentServer.addService(
    agentServiceDefinition,
    gated(agentServiceDefinition, () => active()?.services.agent, refusal),
  );

  const dataflowServer = grpcServer();
  dataflowServer.addService(
    ChainerServiceDefinition,
    gated(ChainerServiceDefinition, () => active()?.services.chainer, refusal),
  );
  const health = new HealthService([schedulerServer, agentServer, dataflowServer], {
    '': 'NOT_SERVING',
    ...Object.fromEntries(SERVICES.map((s) => [s, 'NOT_SERVING' as const])),
  });
  if (!ha) {
    try {
      term = await startTerm(config, log, borrowed(store));
    } catch (e) {
      await store.close();
      throw e;
    }
    serving(true);
  }

  const views: HttpViews = {
    health: () => {
      const c = active();
      const storeHealth = { kind: config.store.kind, ...store.health() };
      if (!c) {
        return {
          code: 503,
          body: {
            status: 'NOT_SERVING',
            detail: standby(),
            leader: named() ?? null,
            store: storeHealth,
          },
        };
      }
      return {
        code: 200,
        body: {
          status: 'SERVING',
          ...(ha ? { role: 'leader' } : {}),
          restored: c.restored,
          store: {
            ...storeHealth,
            writing: c.persistence.healthy,
            pendingRecords: c.persistence.pending,
          },
        },
      };
    },
    metrics: async () => {
      const texts = await Promise.all([processMetrics.metrics(), term?.metrics.metrics() ?? '']);
      return { contentType: processMetrics.contentType, text: texts.join('') };
    },
    leader: () =>
      active() ?? {
        standby: { status: 'NOT_SERVING', detail: standby(), leader: named() ?? null },
      },
    planRequest: (body) => planRequestFromProto(PlanRequest.fromJSON(body)),
  };

  // Rotated certificates (and tokens) are served without a restart (read again every 10 s).
  const reloadMs = config.tlsReloadMs ?? 10_000;
  const certificates =
    config.tls && new ServerCertificates(config.tls, log.child({ component: 'tls' }));
  certificates?.start(reloadMs);
  let http: HttpPort | undefined;
  const closeListeners = (graceMs: number) => {
    certificates?.stop();
    return Promise.all([
      shutdown(schedulerServer, graceMs),
      shutdown(agentServer, graceMs),
      shutdown(dataflowServer, graceMs),
      http?.close(),
    ]);
  };

  let ports: Ports;
  let leaseStore: Awaited<ReturnType<typeof openLease>> | undefined;
  try {
    http =
      config.httpPort === null
        ? undefined
        : createHttpPort(
            {
              host: config.httpHost ?? config.host,
              port: config.httpPort,
              certificates,
              tokenFile: config.httpTokenFile,
              reloadMs,
              allowedHosts: config.httpAllowedHosts ?? [],
              advertise: ha?.advertise,
              log: log.child({ component: 'http' }),
            },
            httpRoutes(views, log),
          );
    ports = {
      scheduler: await bind(schedulerServer, config.host, config.schedulerPort, certificates),
      agent: await bind(agentServer, config.host, config.agentPort, certificates),
      dataflow: await bind(dataflowServer, config.host, config.dataflowPort, certificates),
      http: http ? await http.listen() : null,
    };
    leaseStore = ha
      ? await openLease(
          config,
          ha.leaseMs,
          ha.advertise ?? advertised(config.host, ports.scheduler),
          store,
        )
      : undefined;
  } catch (e) {
    // A port taken, an unusable token file or Redis refusing the lease: give back what was
    // started, then say why.
    await closeListeners(0);
    await term?.stop(0);
    await store.close();
    throw e;
  }

  let stopping: Promise<void> | undefined;
  let election: Election | undefined;
  if (leaseStore && ha) {
    const advertise = leaseStore.address;
    const haLog = log.child({ component: 'ha' });
    // A write fenced off means another scheduler leads: stop at once.
    const termStore = borrowed(store, (e) => {
      if ((e as { code?: unknown }).code === 'Fenced') {
        election?.resign('a write was fenced: another scheduler leads');
      }
    });
    election = new Election(leaseStore.lease, ha.leaseMs, haLog, {
      lead: async (epoch, busy) => {
        const t0 = performance.now();
        // Restoring the state blocks this process (about 0.1 ms a record, more on a busy
        // machine): the lease is kept through it, even past the usual stall bound.
        busy((await leaseStore.redis.count()) * BUSY_MS_PER_MODEL);
        // The old leader is fenced off by now: what the standby kept warm, caught up, is the state.
        const taken = await leaseStore.warm.take();
        leaseStore.redis.fence(epoch);
        term = await startTerm(config, log, termStore, taken, busy);
        leader = advertise;
        serving(true);
        haStatus.terms++;
        haStatus.lastTakeoverMs = performance.now() - t0;
        haLog.info(
          { epoch, address: advertise, ms: Math.round(haStatus.lastTakeoverMs) },
          'leading',
        );
      },
      follow: (holder) => {
        leader = holder;
      },
      stepDown: async (why) => {
        const c = term;
        term = undefined;
        serving(false);
        haStatus.stepDowns++;
        haLog.warn({ why }, 'no longer leading; standing by');
        await c?.stop(500);
        if (stopping === undefined) leaseStore.warm.start();
      },
    });
    const campaign = election;
    leaseHeld = () => campaign.holds();
    leaseStore.warm.start();
    election.start();
  }

  return {
    ports,
    get system() {
      if (!term) throw new Error('this scheduler is a standby: it has no system');
      return term.system;
    },
    stop: (graceMs = 4000) =>
      (stopping ??= (async () => {
        serving(false);
        await election?.stop();
        const c = term;
        term = undefined;
        await c?.stop(graceMs);
        await closeListeners(graceMs);
        await leaseStore?.warm.stop();
        await leaseStore?.lease.close();
        await store.close();
      })()),
  };
}

/**
 * The store as a leader's term uses it: its persistence does not close it (the app does, once,
 * whoever leads meanwhile), and `onWriteError` sees every failed write.
 */
function borrowed(store: SnapshotStore, onWriteError?: (e: unknown) => void): SnapshotStore {
  return {
    load: () => store.load(),
    write: (batch) =>
      store.write(batch).catch((e: unknown) => {
        onWriteError?.(e);
        throw e;
      }),
    health: () => store.health(),
    close: () => Promise.resolve(),
  };
}

/** The lease, the store as the Redis store it must be (to fence its writes), and its mirror. */
async function openLease(
  config: Config,
  leaseMs: number,
  address: string,
  store: SnapshotStore,
): Promise<{ lease: KeptLease; address: string; redis: RedisStore; warm: RecordMirror }> {
  // Loaded only when used, as the Redis store itself.
  const { RedisStore } = await import('./store/redis/redis-store.js');
  const { KeptRedisLease } = await import('./ha/redis/kept-lease.js');
  const { followChanges } = await import('./ha/redis/mirror.js');
  if (config.store.kind !== 'redis' || !(store instanceof RedisStore)) {
    throw new Error('--ha: high availability needs a redis:// store (--store redis://HOST:PORT)');
  }
  const lease = await KeptRedisLease.open({
    url: config.store.url,
    prefix: config.redisPrefix ?? 'mlsched',
    address,
    ttlMs: leaseMs,
    stallMs: Math.max(STALL_MIN_MS, STALL_LEASES * leaseMs),
    ...redisAccess(config),
  });
  return {
    lease,
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

/** Opens the store the configuration names. */
async function openStore(config: Config, log: Logger): Promise<SnapshotStore> {
  switch (config.store.kind) {
    case 'memory':
      return new MemoryStore();
    case 'file':
      return openFileStore(config.store.dir, { logger: log });
    case 'redis': {
      // Loaded only when used: the embedded stores need no Redis client.
      const { openRedisStore } = await import('./store/redis/redis-store.js');
      return openRedisStore({
        url: config.store.url,
        prefix: config.redisPrefix ?? 'mlsched',
        ...redisAccess(config),
        logger: log,
      });
    }
  }
}

/** How the store and the lease reach Redis besides its URL: TLS, the sentinels, replication. */
function redisAccess(config: Config) {
  return {
    ...(config.redisTls ? { tls: config.redisTls } : {}),
    ...(config.redisSentinel ? { sentinel: config.redisSentinel } : {}),
    ...(config.redisReplication ? { replication: config.redisReplication } : {}),
  };
}

/**
 * Time allowed per record restored, or per model an agent re-announces, while keeping the leader
 * lease (ms): a few times what it costs.
 */
const BUSY_MS_PER_MODEL = 0.5;

/**
 * How long a leader's event loop may be stuck before its lease is let lapse (ms), in lease
 * periods, and at least: long enough for an agent re-announcing thousands of models, short enough
 * that a wedged leader is replaced.
 */
const STALL_LEASES = 5;
const STALL_MIN_MS = 5000;

/** How long a call waits for its change to be stored before it is answered anyway (or refused). */
const DURABLE_WAIT_MS = 5000;

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

function grpcServer(): Server {
  return new Server({
    'grpc.max_concurrent_streams': 1_000_000,
    'grpc.keepalive_permit_without_calls': 1,
  });
}

/**
 * Listens on `host:port`: TLS with the certificates (requiring client certificates when they have
 * a client CA), plaintext without.
 */
function bind(
  server: Server,
  host: string,
  port: number,
  certificates?: ServerCertificates,
): Promise<number> {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const mutual = certificates?.mutual === true;
  const credentials = certificates
    ? experimental.createCertificateProviderServerCredentials(
        certificates,
        mutual ? certificates : null,
        mutual,
      )
    : ServerCredentials.createInsecure();
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (err, bound) => {
      if (err) reject(new Error(`cannot listen on ${address}: ${err.message}`));
      else resolve(bound);
    });
  });
}

function shutdown(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    force.unref();
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
