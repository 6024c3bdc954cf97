/**
 * The three gRPC ports: the Scheduler and Placement services (with reflection) on the scheduler
 * port, the AgentService on the agent port, the Chainer on the dataflow port, and health on each.
 * Every service is gated: a standby refuses each call with UNAVAILABLE, naming the leader.
 */
import { fileURLToPath } from 'node:url';
import { experimental, Server, ServerCredentials } from '@grpc/grpc-js';
import { agentServiceDefinition } from '../agent/agent.service.js';
import { schedulerServiceDefinition } from '../api/scheduler.service.js';
import type { ServerCertificates } from '../config/tls-reload.js';
import { ChainerService as ChainerServiceDefinition } from '../gen/mlops/chainer/chainer.js';
import { PlacementService } from '../gen/mlsched/placement/v1/placement.js';
import { PACKAGE_DIR } from '../package-dir.js';
import { gated } from '../wire/grpc.js';
import { addReflection, HealthService } from '../wire/lazy-services.js';
import type { Role } from './role.js';

const PROTO_DIR = fileURLToPath(new URL('proto/', PACKAGE_DIR));

const SERVICES = [
  'seldon.mlops.scheduler.Scheduler',
  'mlsched.placement.v1.Placement',
  'seldon.mlops.agent.AgentService',
  'seldon.mlops.chainer.Chainer',
] as const;

/** The servers of the three gRPC ports, not listening yet. */
export interface GrpcServers {
  readonly scheduler: Server;
  readonly agent: Server;
  readonly dataflow: Server;
  /** Health says SERVING (or NOT_SERVING) for every service. */
  serving(on: boolean): void;
}

/**
 * The gRPC servers, each service answered by the term `role` has while it may answer for it and
 * refused otherwise; health NOT_SERVING until {@link GrpcServers.serving}.
 */
export function gatedGrpcServers(role: Role): GrpcServers {
  const refusal = () => role.refusal();
  const scheduler = grpcServer();
  scheduler.addService(
    schedulerServiceDefinition,
    gated(schedulerServiceDefinition, () => role.active()?.services.scheduler, refusal),
  );
  scheduler.addService(
    PlacementService,
    gated(PlacementService, () => role.active()?.services.placement, refusal),
  );
  addReflection(
    scheduler,
    [
      'mlops/scheduler/scheduler.proto',
      'mlsched/placement/v1/placement.proto',
      'mlops/agent/agent.proto',
      'mlops/chainer/chainer.proto',
    ],
    PROTO_DIR,
  );

  const agent = grpcServer();
  agent.addService(
    agentServiceDefinition,
    gated(agentServiceDefinition, () => role.active()?.services.agent, refusal),
  );

  const dataflow = grpcServer();
  dataflow.addService(
    ChainerServiceDefinition,
    gated(ChainerServiceDefinition, () => role.active()?.services.chainer, refusal),
  );
  const health = new HealthService([scheduler, agent, dataflow], {
    '': 'NOT_SERVING',
    ...Object.fromEntries(SERVICES.map((s) => [s, 'NOT_SERVING' as const])),
  });
  return {
    scheduler,
    agent,
    dataflow,
    serving: (on) => {
      for (const s of ['', ...SERVICES]) health.setStatus(s, on ? 'SERVING' : 'NOT_SERVING');
    },
  };
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
export function bind(
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

/** Stops `server`: its calls may finish within `graceMs`, then it is forced. */
export function shutdown(server: Server, graceMs: number): Promise<void> {
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
