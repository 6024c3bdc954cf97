import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { SchedulerSystem } from '../actors/index.js';
import { MODEL_STATES } from '../domain/model.js';
import { PIPELINE_STATES } from '../domain/pipeline.js';

/** What the metrics read of the persistence subscriber. */
export interface StoreStatus {
  readonly healthy: boolean;
  readonly pending: number;
  readonly stats: { batches: number; records: number; failures: number };
}

/** What the metrics read of high availability (`serve --ha`). */
export interface HaStatus {
  readonly leading: boolean;
  /** Times this instance became the leader. */
  readonly terms: number;
  /** Times it stopped leading before it was stopped itself. */
  readonly stepDowns: number;
  /** From taking the lease to serving, the last time it did (ms). */
  readonly lastTakeoverMs: number | undefined;
}

/**
 * The metrics of the process, which a standby serves too: Node's (`mlsched_process_*`,
 * `mlsched_nodejs_*`: CPU, memory, event-loop lag, garbage collection) and, with
 * `--ha`, leadership's (`mlsched_ha_*`).
 */
export function createProcessMetrics(ha?: () => HaStatus): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mlsched_' });
  if (!ha) return registry;
  new Gauge({
    name: 'mlsched_ha_leader',
    help: '1 while this scheduler leads, 0 while it stands by',
    registers: [registry],
    collect() {
      this.set(ha().leading ? 1 : 0);
    },
  });
  new Counter({
    name: 'mlsched_ha_terms_total',
    help: 'Times this scheduler became the leader',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(ha().terms);
    },
  });
  new Counter({
    name: 'mlsched_ha_step_downs_total',
    help: 'Times this scheduler stopped leading (lease lost or not renewed in time, write fenced)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(ha().stepDowns);
    },
  });
  new Gauge({
    name: 'mlsched_ha_last_takeover_seconds',
    help: 'From taking the lease to serving (restore included), the last time this scheduler did (0: never)',
    registers: [registry],
    collect() {
      this.set((ha().lastTakeoverMs ?? 0) / 1000);
    },
  });
  return registry;
}

/** The scheduler's metrics, read from the system's views at scrape time (the leader's only). */
export function createMetrics(system: SchedulerSystem, store: StoreStatus): Registry {
  const registry = new Registry();
  new Gauge({
    name: 'mlsched_models',
    help: 'Models by the state of their latest version',
    labelNames: ['state', 'deleted'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of MODEL_STATES)
        for (const d of ['true', 'false']) this.set({ state: s, deleted: d }, 0);
      for (const m of system.listModels(false)) {
        const v = m.versions[0];
        if (v) this.inc({ state: v.state, deleted: String(m.deleted) });
      }
    },
  });
  new Gauge({
    name: 'mlsched_server_replicas',
    help: 'Connected server replicas',
    labelNames: ['server', 'draining'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of system.listServers()) {
        for (const r of s.replicas) this.inc({ server: s.name, draining: String(r.draining) });
      }
    },
  });
  new Gauge({
    name: 'mlsched_server_replica_available_memory_bytes',
    help: 'Free memory last reported by each replica minus memory reserved for pending loads',
    labelNames: ['server', 'replica'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of system.listServers()) {
        for (const r of s.replicas) {
          this.set(
            { server: s.name, replica: String(r.idx) },
            Math.max(0, r.availableMemoryBytes - r.reservedMemoryBytes),
          );
        }
      }
    },
  });
  new Gauge({
    name: 'mlsched_pipelines',
    help: 'Pipelines by the state of their latest version',
    labelNames: ['state', 'deleted', 'models_ready'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of PIPELINE_STATES)
        this.set({ state: s, deleted: 'false', models_ready: 'true' }, 0);
      for (const p of system.listPipelines(false)) {
        const v = p.versions[0];
        if (v) {
          this.inc({
            state: v.state,
            deleted: String(p.deleted),
            models_ready: String(v.modelsReady),
          });
        }
      }
    },
  });
  new Gauge({
    name: 'mlsched_experiments',
    help: 'Experiments by whether they are active (stopped ones are deleted="true")',
    labelNames: ['active', 'deleted'],
    registers: [registry],
    collect() {
      this.reset();
      for (const e of system.listExperiments()) {
        this.inc({ active: String(e.active), deleted: String(e.deleted) });
      }
    },
  });
  new Gauge({
    name: 'mlsched_dataflow_engines',
    help: 'Connected dataflow engines',
    registers: [registry],
    collect() {
      this.set(system.listEngines().length);
    },
  });
  new Gauge({
    name: 'mlsched_store_healthy',
    help: '1 while store writes succeed; 0 while they fail and state is served from memory',
    registers: [registry],
    collect() {
      this.set(store.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mlsched_store_pending_records',
    help: 'Changed records not yet written to the store',
    registers: [registry],
    collect() {
      this.set(store.pending);
    },
  });
  new Counter({
    name: 'mlsched_store_writes_total',
    help: 'Store writes by outcome (one batch of changed records each)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ outcome: 'ok' }, store.stats.batches);
      this.inc({ outcome: 'failed' }, store.stats.failures);
    },
  });
  new Counter({
    name: 'mlsched_store_records_written_total',
    help: 'Records written to the store',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(store.stats.records);
    },
  });
  return registry;
}
