import { unavailable } from '../domain/errors.js';
import { MAX_VERSION, type ModelDefinition } from '../domain/model.js';
import type { ServerDeclaration } from '../domain/server.js';
import type { AgentGateway, Changes, DataflowGateway } from './gateways.js';
import { createActor } from 'xstate';
import {
  commands,
  type ArgsOf,
  type CommandMethods,
  type CommandName,
  type ResultOf,
} from './supervisor/commands.js';
import { nextDueAt, type Core } from './supervisor/core.js';
import { audit } from './supervisor/models/audit.js';
import {
  explainModel,
  headroom,
  planModels,
  type ModelExplanation,
  type Plan,
  type ReplicaHeadroom,
} from './supervisor/models/explain.js';
import {
  exportModel,
  exportServer,
  restoreModels,
  type ModelRecord,
  type ServerRecord,
} from './supervisor/models/records.js';
import {
  availableElsewhere,
  latestStateOf,
  listModels,
  modelNames,
  listServers,
  model,
  server,
} from './supervisor/models/views.js';
import {
  exportExperiment,
  exportPipeline,
  restorePipelines,
  type ExperimentRecord,
  type PipelineRecord,
} from './supervisor/pipelines/records.js';
import {
  experiment,
  listEngines,
  listExperiments,
  listPipelines,
  pipeline,
  pipelineVersion,
} from './supervisor/pipelines/views.js';
import { supervisorLogic } from './supervisor/supervisor.actor.js';
import type {
  ExperimentView,
  ModelView,
  PipelineView,
  ServerStatusView,
} from './supervisor/views.js';

/** Clock and timers, injected so the core has none of its own. */
export interface Timers {
  now(): number;
  /** Runs `fn` after `ms`; returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
}

export interface SchedulerSystemDeps {
  agents: AgentGateway;
  dataflow: DataflowGateway;
  timers: Timers;
  /** A fresh unique id for a pipeline version (Seldon uses 20-character xids). */
  newUid: () => string;
  /** How long deleted models stay listed with deleted=true (default 24 h). */
  deletedTtlMs?: number | undefined;
  /** Back-off after an agent load failure: first delay and cap (defaults 1 s and 60 s). */
  retryBaseMs?: number | undefined;
  retryMaxMs?: number | undefined;
  /** Delay before a pipeline version that failed on its engines is offered again (default 1 min). */
  retryFailedPipelineMs?: number | undefined;
  /** After a restart, how long restored replicas wait for their agents (default 10 s). */
  reconnectGraceMs?: number | undefined;
  /** Records to restore (from {@link SchedulerSystem.exportRecord}), applied before any command. */
  restore?: readonly PersistedResource[] | undefined;
  /** Longest an AgentDrain waits for its models to be Available elsewhere (default 60 s). */
  drainTimeoutMs?: number | undefined;
}

/**
 * One resource's persisted state: `key` is `model:<name>`, `server:<name>`, `pipeline:<name>` or
 * `experiment:<name>`; `value` is plain JSON (actors as XState persisted snapshots).
 */
export interface PersistedResource {
  readonly key: string;
  readonly value: unknown;
}

/**
 * Why a stored record cannot be served as it is (a value beyond what the wire carries, which an
 * older scheduler let in), or undefined when it can: model and pipeline versions and Kubernetes
 * generations must be whole numbers within a uint32.
 */
export function recordFault(r: PersistedResource): string | undefined {
  const uint32 = (what: string, v: unknown, min = 0) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= MAX_VERSION
      ? undefined
      : `${what} ${String(v)} is not a whole number from ${min} to ${MAX_VERSION}`;
  const generation = (meta: { kubernetesMeta?: { generation?: unknown } } | undefined) =>
    meta?.kubernetesMeta && uint32('kubernetesMeta.generation', meta.kubernetesMeta.generation);
  const [kind] = r.key.split(':', 1);
  if (kind === 'model') {
    const m = r.value as ModelRecord;
    for (const v of m.versions) {
      const fault = uint32('version', v.version, 1) ?? generation(v.definition.meta);
      if (fault) return fault;
    }
  } else if (kind === 'pipeline') {
    const p = r.value as PipelineRecord;
    for (const v of p.versions) {
      const fault = uint32('version', v.version, 1) ?? generation(v.definition);
      if (fault) return fault;
    }
  } else if (kind === 'experiment') {
    return generation((r.value as ExperimentRecord).definition);
  } else if (kind === 'server') {
    return generation((r.value as { actor?: { context?: ServerDeclaration } }).actor?.context);
  }
  return undefined;
}

/** The record keys a change touches (what a persistence subscriber rewrites). */
export function changedKeys(changes: Changes): string[] {
  return [
    ...changes.models.map((n) => `model:${n}`),
    ...changes.servers.map((n) => `server:${n}`),
    ...changes.pipelines.map((p) => `pipeline:${p.name}`),
    ...changes.experiments.map((n) => `experiment:${n}`),
  ];
}

/** The outcome of a drain: `unmoved` lists the models not Available elsewhere when it returned. */
export interface DrainOutcome {
  success: boolean;
  unmoved: string[];
}

/**
 * The scheduler's facade: commands in, views and change notifications out. Its command methods are
 * the commands of `supervisor/commands.ts`, one method each (declared there, not here); every
 * command runs the supervisor to a settled state before it returns, and listeners hear what changed.
 * Reads go straight to the core.
 */
export interface SchedulerSystem extends Omit<CommandMethods, 'startDrain' | 'tick'> {
  /** Drains a replica and resolves once its models are Available elsewhere (or the bound passes). */
  drain(server: string, idx: number): Promise<DrainOutcome>;
  model(name: string, allVersions: boolean): ModelView | undefined;
  listModels(allVersions: boolean): ModelView[];
  /** Every model's name, as listModels orders them, without building views. */
  modelNames(): string[];
  server(name: string): ServerStatusView | undefined;
  listServers(): ServerStatusView[];
  /** Why the model is where it is, or nowhere (placement's decision, observed); undefined if unknown. */
  explainModel(name: string): ModelExplanation | undefined;
  /**
   * Where the models would go, loaded in order after the server declarations, without changing
   * anything (placement on a copy of the state).
   */
  plan(declarations: readonly ServerDeclaration[], definitions: readonly ModelDefinition[]): Plan;
  /** What each replica of the server can still take; undefined for an unknown server. */
  headroom(server: string): ReplicaHeadroom[] | undefined;
  pipeline(name: string, allVersions: boolean): PipelineView | undefined;
  /** One version of a pipeline (status pushes name the version that changed). */
  pipelineVersion(name: string, version: number): PipelineView | undefined;
  listPipelines(allVersions: boolean): PipelineView[];
  experiment(name: string): ExperimentView | undefined;
  listExperiments(): ExperimentView[];
  /** Connected dataflow engines, in the order they joined. */
  listEngines(): string[];
  /** The current persisted state of a record key, or undefined when the resource is gone. */
  exportRecord(key: string): unknown;
  /** Every record key that currently has state (for a full write). */
  recordKeys(): string[];
  /** Calls `listener` after every command that changed something; returns the unsubscribe. */
  subscribe(listener: (changes: Changes) => void): () => void;
  /** Where the indexes kept for speed disagree with what they index; empty when sound (tests). */
  audit(): string[];
  stop(): void;
}

export function createSchedulerSystem(deps: SchedulerSystemDeps): SchedulerSystem {
  const { timers } = deps;
  const actor = createActor(supervisorLogic, {
    input: {
      agents: deps.agents,
      dataflow: deps.dataflow,
      newUid: deps.newUid,
      now: () => timers.now(),
      deletedTtlMs: deps.deletedTtlMs ?? 24 * 3600_000,
      retryBaseMs: deps.retryBaseMs ?? 1000,
      retryMaxMs: deps.retryMaxMs ?? 60_000,
      retryFailedMs: deps.retryFailedPipelineMs ?? 60_000,
      reconnectGraceMs: deps.reconnectGraceMs ?? 10_000,
      maxFailedRetries: 10,
    },
  }).start();
  /** Reads go straight to the supervisor's state; only commands go through the mailbox. */
  const { core } = actor.getSnapshot().context;
  const { models, pipelines } = core;
  if (deps.restore && deps.restore.length > 0) restore(core, deps.restore);
  const listeners = new Set<(c: Changes) => void>();
  let cancelTick: (() => void) | undefined;
  let tickAt: number | undefined;
  let stopped = false;

  const publish = (changes: Changes) => {
    const size =
      changes.models.length +
      changes.servers.length +
      changes.scaling.length +
      changes.pipelines.length +
      changes.experiments.length;
    if (size === 0) return;
    for (const l of [...listeners]) l(changes);
  };

  /** Sends one command to the supervisor actor and returns its result (or throws its error). */
  const run = <K extends CommandName>(type: K, args: ArgsOf<K>): ResultOf<K> => {
    if (stopped) throw unavailable('the scheduler is shutting down');
    const before = actor.getSnapshot().context.last;
    // The actor takes any event with a type (XState's own too) and runs it only if it is a command.
    const command: { readonly type: string; readonly args: readonly unknown[] } = { type, args };
    actor.send(command);
    // Each command leaves a new outcome; none means the actor was still busy with another.
    const outcome = actor.getSnapshot().context.last;
    if (!outcome || outcome === before)
      throw new Error(`supervisor command ${type} issued while another was running`);
    publish(outcome.changes);
    armTick();
    if (!outcome.ok) throw outcome.error;
    return outcome.value as ResultOf<K>;
  };

  /**
   * The facade's command methods: each sends the command of its name. (The cast: TypeScript cannot
   * relate a mapped object built from the table's keys to each key's own signature.)
   */
  const send = Object.fromEntries(
    Object.keys(commands).map((type) => [
      type,
      (...args: unknown[]) => run(type as CommandName, args as ArgsOf<CommandName>),
    ]),
  ) as CommandMethods;
  // Both are sent by the facade itself: startDrain by drain(), tick by its timer.
  const { startDrain, tick: _tick, ...methods } = send;

  const armTick = () => {
    if (stopped) return;
    const next = nextDueAt(core);
    if (next === tickAt) return;
    cancelTick?.();
    tickAt = next;
    cancelTick =
      next === undefined
        ? undefined
        : timers.after(Math.max(0, next - timers.now()), () => {
            tickAt = undefined;
            cancelTick = undefined;
            run('tick', []);
          });
  };
  // Restored state may already have something due (the reconnect grace, TTLs, retries).
  armTick();

  return {
    ...methods,
    drain: (server, idx) => {
      const moving = startDrain(server, idx);
      const unmoved = () =>
        moving.filter((m) => {
          const st = latestStateOf(models, m);
          return st !== undefined && !availableElsewhere(models, m, server, idx);
        });
      const settled = () =>
        moving.every((m) => {
          const st = latestStateOf(models, m);
          return (
            st === undefined ||
            availableElsewhere(models, m, server, idx) ||
            st === 'scheduleFailed' ||
            st === 'failed'
          );
        });
      return new Promise<DrainOutcome>((resolve) => {
        const done = () => {
          unsubscribe();
          cancel();
          const left = unmoved();
          resolve({ success: left.length === 0, unmoved: left });
        };
        const unsubscribe = () => listeners.delete(check);
        const check = () => {
          if (settled()) done();
        };
        listeners.add(check);
        const cancel = timers.after(deps.drainTimeoutMs ?? 60_000, done);
        check();
      });
    },
    pipeline: (name, all) => pipeline(pipelines, name, all),
    pipelineVersion: (name, version) => pipelineVersion(pipelines, name, version),
    listPipelines: (all) => listPipelines(pipelines, all),
    experiment: (name) => experiment(pipelines, name),
    listExperiments: () => listExperiments(pipelines),
    listEngines: () => listEngines(pipelines),
    exportRecord: (key) => {
      const colon = key.indexOf(':');
      const name = key.slice(colon + 1);
      switch (key.slice(0, colon)) {
        case 'model':
          return exportModel(models, name);
        case 'server':
          return exportServer(models, name);
        case 'pipeline':
          return exportPipeline(pipelines, name);
        case 'experiment':
          return exportExperiment(pipelines, name);
        default:
          return undefined;
      }
    },
    recordKeys: () => [
      ...modelNames(models).map((name) => `model:${name}`),
      ...listServers(models).map((sv) => `server:${sv.name}`),
      ...listPipelines(pipelines, false).map((p) => `pipeline:${p.name}`),
      ...listExperiments(pipelines).map((e) => `experiment:${e.definition.name}`),
    ],
    model: (name, all) => model(models, name, all),
    listModels: (all) => listModels(models, all),
    modelNames: () => modelNames(models),
    server: (name) => server(models, name),
    listServers: () => listServers(models),
    explainModel: (name) => explainModel(models, name),
    plan: (declarations, definitions) => planModels(models, declarations, definitions),
    headroom: (name) => headroom(models, name),
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    audit: () => audit(models),
    stop: () => {
      stopped = true;
      actor.stop();
      cancelTick?.();
      listeners.clear();
    },
  };
}

/**
 * Restores records by kind: servers and models first, then pipelines and experiments (which follow
 * the models). Unknown kinds are ignored; records are trusted (they were written by exportRecord).
 */
function restore(core: Core, records: readonly PersistedResource[]): void {
  const of = <T>(kind: string) =>
    records.filter((r) => r.key.startsWith(`${kind}:`)).map((r) => r.value as T);
  restoreModels(core.models, of<ServerRecord>('server'), of<ModelRecord>('model'));
  restorePipelines(
    core.pipelines,
    of<PipelineRecord>('pipeline'),
    of<ExperimentRecord>('experiment'),
  );
}
