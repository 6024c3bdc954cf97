import { randomBytes } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { createSchedulerSystem, type SchedulerSystem, type Timers } from './actors/index.js';
import { AgentService } from './agent/agent.service.js';
import { createSchedulerService, schedulerServiceDefinition } from './api/scheduler.service.js';
import { Dashboard } from './dashboard/dashboard.js';
import type { Config } from './config/config.js';
import type { ServerTls } from './config/tls.js';
import { ChainerService } from './dataflow/chainer.service.js';
import { AgentServiceService } from './gen/mlops/agent/agent.js';
import { ChainerService as ChainerServiceDefinition } from './gen/mlops/chainer/chainer.js';
import type { Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { openFileStore } from './store/file/file-store.js';
import { MemoryStore } from './store/memory/memory-store.js';
import { Persistence, restoreRecords } from './store/persistence.js';
import type { SnapshotStore } from './store/ports.js';

export interface Ports {
  scheduler: number;
  agent: number;
  dataflow: number;
  http: number;
}

export interface App {
  readonly ports: Ports;
  readonly system: SchedulerSystem;
  /** Ends streams, stops listening and releases timers; resolves within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const PROTO_DIR = fileURLToPath(new URL('../proto/', import.meta.url));

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

/** Builds the scheduler (system, gRPC services, HTTP endpoint) and starts listening. */
export async function startApp(config: Config, log: Logger): Promise<App> {
  const started = performance.now();
  const store = await openStore(config, log.child({ component: 'store' }));
  const records = await restoreRecords(store).catch(async (e: unknown) => {
    await store.close();
    throw e;
  });
  const agents = new AgentService({ log: log.child({ component: 'agent' }) });
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
  const persistence = new Persistence(system, store, { log: log.child({ component: 'store' }) });
  if (records.length > 0) {
    log.info(
      { records: records.length, ms: Math.round(performance.now() - started) },
      'state restored; waiting for agents to reconnect',
    );
  }
  agents.attach(system);
  engines.attach(system);
  const scheduler = createSchedulerService({
    system,
    log: log.child({ component: 'api' }),
    applicationVersion: config.version,
    // An acknowledged change is durable, unless the store is failing: then the scheduler serves
    // from memory (health says so) rather than stall every client.
    durable: () =>
      persistence.healthy ? withinMs(persistence.durable(), 5000) : Promise.resolve(),
  });

  const health = new HealthImplementation({
    '': 'SERVING',
    'seldon.mlops.scheduler.Scheduler': 'SERVING',
    'seldon.mlops.agent.AgentService': 'SERVING',
    'seldon.mlops.chainer.Chainer': 'SERVING',
  });
  const reflection = new ReflectionService(
    loadSync(
      ['mlops/scheduler/scheduler.proto', 'mlops/agent/agent.proto', 'mlops/chainer/chainer.proto'],
      { includeDirs: [PROTO_DIR] },
    ),
  );

  const schedulerServer = grpcServer();
  schedulerServer.addService(schedulerServiceDefinition, scheduler.implementation);
  health.addToServer(schedulerServer);
  reflection.addToServer(schedulerServer);

  const agentServer = grpcServer();
  agentServer.addService(AgentServiceService, agents.implementation());
  health.addToServer(agentServer);

  const dataflowServer = grpcServer();
  dataflowServer.addService(ChainerServiceDefinition, engines.implementation());
  health.addToServer(dataflowServer);

  const metrics = createMetrics(system, persistence);
  const dashboard = new Dashboard(system);
  const http = createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          status: 'SERVING',
          store: {
            kind: config.store.kind,
            ...store.health(),
            writing: persistence.healthy,
            pendingRecords: persistence.pending,
          },
        }),
      );
    } else if (req.url === '/metrics') {
      metrics.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.contentType });
          res.end(text);
        },
        (e: unknown) => {
          log.error({ err: e }, 'metrics failed');
          res.writeHead(500);
          res.end();
        },
      );
    } else if (req.url === '/api/state') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          {
            models: system.listModels(false),
            servers: system.listServers(),
            pipelines: system.listPipelines(false),
            experiments: system.listExperiments(),
            dataflowEngines: system.listEngines(),
          },
          null,
          2,
        ),
      );
    } else if (!dashboard.handle(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });

  const ports: Ports = {
    scheduler: await bind(schedulerServer, config.host, config.schedulerPort, config.tls),
    agent: await bind(agentServer, config.host, config.agentPort, config.tls),
    dataflow: await bind(dataflowServer, config.host, config.dataflowPort, config.tls),
    http: await listenHttp(http, config.host, config.httpPort),
  };

  let stopping: Promise<void> | undefined;
  return {
    ports,
    system,
    stop: (graceMs = 4000) =>
      (stopping ??= (async () => {
        health.setStatus('', 'NOT_SERVING');
        scheduler.close();
        dashboard.close();
        agents.close();
        engines.close();
        system.stop();
        await Promise.all([
          shutdown(schedulerServer, graceMs),
          shutdown(agentServer, graceMs),
          shutdown(dataflowServer, graceMs),
          new Promise<void>((resolve) => {
            http.close(() => {
              resolve();
            });
            http.closeAllConnections();
          }),
        ]);
        await persistence.close(graceMs);
      })()),
  };
}

/** Opens the store the configuration names. */
async function openStore(config: Config, log: Logger): Promise<SnapshotStore> {
  switch (config.store.kind) {
    case 'memory':
      return new MemoryStore();
    case 'file':
      return openFileStore(config.store.dir);
    case 'redis': {
      // Loaded only when used: the embedded stores need no Redis client.
      const { openRedisStore } = await import('./store/redis/redis-store.js');
      return openRedisStore({
        url: config.store.url,
        prefix: config.redisPrefix ?? 'mlsched',
        ...(config.redisTlsCa ? { tlsCa: config.redisTlsCa } : {}),
        logger: log,
      });
    }
  }
}

/** Resolves when `p` does or after `ms`, whichever is first. */
function withinMs(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
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

/** Listens on `host:port`: TLS with `tls` (requiring client certificates with its `clientCa`). */
function bind(server: Server, host: string, port: number, tls?: ServerTls): Promise<number> {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const credentials = tls
    ? ServerCredentials.createSsl(
        tls.clientCa ?? null,
        [{ cert_chain: tls.cert, private_key: tls.key }],
        tls.clientCa !== undefined,
      )
    : ServerCredentials.createInsecure();
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (err, bound) => {
      if (err) reject(new Error(`cannot listen on ${address}: ${err.message}`));
      else resolve(bound);
    });
  });
}

function listenHttp(server: HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (e) => {
      reject(new Error(`cannot listen on ${host}:${port}: ${e.message}`));
    });
    server.listen(port, host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
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
