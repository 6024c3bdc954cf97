/**
 * The composition root: {@link startApp} opens the store, builds the ports, leads (alone, or by
 * election with `--ha`) and listens. Each step is a function of its own in `src/app/`:
 *
 * | step                                      | file              |
 * |-------------------------------------------|-------------------|
 * | `openStore`                               | app/store.ts      |
 * | `gatedGrpcServers`                        | app/grpc.ts       |
 * | `leadAlone`, `openLease`, `leadOrFollow`  | app/leadership.ts |
 * | `startTerm` (restore, services)           | app/term.ts       |
 * | `httpViews`                               | app/http-views.ts |
 * | `watchCertificates`, `Listeners.listen`   | app/listeners.ts  |
 * | `Role` (leader or standby, as calls see)  | app/role.ts       |
 * | `newXid` (the ids of new resources)       | app/xid.ts        |
 */
import type { SchedulerSystem } from './actors/index.js';
import type { Config } from './config/config.js';
import type { Logger } from './observability/logger.js';
import { createProcessMetrics } from './observability/metrics.js';
import { gatedGrpcServers } from './app/grpc.js';
import { httpViews } from './app/http-views.js';
import {
  HA_NEEDS_REDIS,
  leadAlone,
  leadOrFollow,
  openLease,
  type LeaseStore,
} from './app/leadership.js';
import { Listeners, watchCertificates, type Ports } from './app/listeners.js';
import { Role } from './app/role.js';
import { openStore } from './app/store.js';

export type { Ports } from './app/listeners.js';
export { newXid } from './app/xid.js';

export interface App {
  readonly ports: Ports;
  /** The actor system. @throws Error on a standby (`--ha`), which has none until it leads. */
  readonly system: SchedulerSystem;
  /** Ends streams, stops listening and releases timers; resolves within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Builds the scheduler (system, gRPC services, HTTP endpoint) and starts listening. With
 * `config.ha` it first stands by: every call is refused with UNAVAILABLE naming the leader, and
 * health says NOT_SERVING, until it takes the leader lease; it leads while it renews it.
 */
export async function startApp(config: Config, log: Logger): Promise<App> {
  const { ha } = config;
  const store = await openStore(config, log.child({ component: 'store' }));
  const role = new Role();
  // Served by a standby too: a scrape of every instance finds which one leads.
  const processMetrics = createProcessMetrics(ha && (() => role.haStatus()));
  if (ha && config.store.kind !== 'redis') {
    await store.close();
    throw new Error(HA_NEEDS_REDIS);
  }
  const grpc = gatedGrpcServers(role);
  if (!ha) await leadAlone(config, log, store, role, grpc);
  const views = httpViews(config, store, role, processMetrics);
  const listeners = new Listeners(grpc, watchCertificates(config, log));

  let ports: Ports;
  let leaseStore: LeaseStore | undefined;
  try {
    ports = await listeners.listen(config, log, views);
    leaseStore = ha ? await openLease(config, ha, ports.scheduler, store) : undefined;
  } catch (e) {
    // A port taken, an unusable token file or Redis refusing the lease: give back what was
    // started, then say why.
    await listeners.close(0);
    await role.term?.stop(0);
    await store.close();
    throw e;
  }

  let stopping: Promise<void> | undefined;
  const election =
    leaseStore &&
    leadOrFollow(config, log, store, role, grpc, leaseStore, () => stopping !== undefined);
  return {
    ports,
    get system() {
      return role.system();
    },
    stop: (graceMs = 4000) =>
      (stopping ??= (async () => {
        grpc.serving(false);
        await election?.stop();
        const c = role.term;
        role.term = undefined;
        await c?.stop(graceMs);
        await listeners.close(graceMs);
        await leaseStore?.warm.stop();
        await leaseStore?.lease.close();
        await store.close();
      })()),
  };
}
