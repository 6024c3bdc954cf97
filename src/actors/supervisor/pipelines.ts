import type { Snapshot } from 'xstate';
import { Cell } from '../cell.js';
import { failedPrecondition } from '../../domain/errors.js';
import { checkExperiment, type ExperimentDefinition } from '../../domain/experiment.js';
import {
  preparePipeline,
  samePipelineSpec,
  stepModels,
  type PipelineDefinition,
  type PipelineState,
} from '../../domain/pipeline.js';
import { experimentMachine } from '../experiment/experiment.machine.js';
import type { Changes, DataflowGateway, DataflowReport } from '../gateways.js';
import { pipelineStateOf, pipelineVersionMachine } from '../pipeline/pipeline.machine.js';
import type { ExperimentView, PipelineVersionView, PipelineView } from './views.js';

/** What pipelines and experiments need to know about models. */
export interface ModelReadiness {
  /** Some version of the model is ModelAvailable. */
  anyAvailable(name: string): boolean;
  /** The model's latest version is ModelAvailable. */
  latestAvailable(name: string): boolean;
  /** Traffic can reach it: a version is Available or the latest version has an available replica. */
  routable(name: string): boolean;
}

export interface PipelineSupervisorOptions {
  dataflow: DataflowGateway;
  models: ModelReadiness;
  now: () => number;
  newUid: () => string;
  /** How long deleted pipelines and stopped experiments stay listed (ms). */
  deletedTtlMs: number;
  /** Delay before a failed latest version is offered to the engines again (Seldon: 1 min). */
  retryFailedMs: number;
  /** Most retries of a failed version (Seldon: 10). */
  maxFailedRetries: number;
  /** After a restart, how long restored pipelines wait for an engine before it counts as gone (ms). */
  reconnectGraceMs: number;
}

export const NO_ENGINES = 'no dataflow engines available to handle pipeline';
const REBALANCE = 'Rebalance';

type EngineAnswer = { ok: true } | { ok: false; reason: string } | undefined;

/** One send to a set of engines; their answers are counted against its timestamp. */
interface Iteration {
  readonly kind: 'create' | 'delete';
  readonly timestamp: number;
  /** Each engine asked, with its answer (undefined while it has not answered). */
  readonly engines: Map<string, EngineAnswer>;
}

interface VersionEntry {
  readonly version: number;
  readonly uid: string;
  definition: PipelineDefinition;
  readonly actor: Cell<typeof pipelineVersionMachine>;
  iteration: Iteration | undefined;
  /** The timestamp of the last send to an engine (kept across restarts). */
  lastTimestamp: number;
  retry: { attempts: number; dueAt: number };
}

interface PipelineEntry {
  readonly name: string;
  deleted: boolean;
  deletedAt: number;
  /** Ascending by version; the last one is the latest. */
  readonly versions: VersionEntry[];
}

interface ExperimentEntry {
  readonly definition: ExperimentDefinition;
  readonly actor: Cell<typeof experimentMachine>;
  deleted: boolean;
  deletedAt: number;
}

/** The persisted form of a pipeline (record `pipeline:<name>`). */
export interface PipelineRecord {
  name: string;
  deleted: boolean;
  deletedAt: number;
  versions: {
    version: number;
    uid: string;
    definition: PipelineDefinition;
    actor: unknown;
    retry: { attempts: number; dueAt: number };
    /** The timestamp of the last send, so new sends after a restart never reuse one. */
    lastTimestamp: number;
  }[];
}

/** The persisted form of an experiment (record `experiment:<name>`). */
export interface ExperimentRecord {
  definition: ExperimentDefinition;
  deleted: boolean;
  deletedAt: number;
  actor: unknown;
}

const stateOf = (v: VersionEntry): PipelineState => pipelineStateOf(v.actor.getSnapshot());
const isRetiring = (s: PipelineState) =>
  s === 'terminate' || s === 'terminating' || s === 'terminated';
const latestOf = (p: PipelineEntry): VersionEntry | undefined => p.versions[p.versions.length - 1];
const refKey = (type: ExperimentDefinition['resourceType'], name: string) => `${type}:${name}`;

/** FNV-1a: a small, stable hash for choosing an engine. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** `1/2 ready 1/2 failed ` as Seldon words it, plus the engines' own failure reasons. */
function countsReason(it: Iteration): string {
  const answers = [...it.engines.values()];
  const total = answers.length;
  const ready = answers.filter((a) => a?.ok === true).length;
  const failures = [...it.engines].flatMap(([engine, a]) =>
    a && !a.ok ? [`${engine}: ${a.reason}`] : [],
  );
  let reason = '';
  if (ready > 0) reason += `${ready}/${total} ready `;
  if (failures.length > 0) reason += `${failures.length}/${total} failed (${failures.join('; ')})`;
  return reason;
}

/**
 * Pipelines, experiments and the dataflow engines. Pipeline versions are sent to engines chosen by
 * rendezvous hashing of their uid, follow the engines' acknowledgements, retire older versions once
 * a newer one is ready, and track their step models; experiments follow the resources they route to.
 * Like the placement supervisor, every command runs to completion and reports what changed.
 */
export class PipelineSupervisor {
  private readonly pipelines = new Map<string, PipelineEntry>();
  private readonly experiments = new Map<string, ExperimentEntry>();
  /** Connected engines, in join order. */
  private readonly engines = new Set<string>();
  /** Model name → pipelines whose versions have a step running it (may hold stale names). */
  private readonly pipelinesByModel = new Map<string, Set<string>>();
  /** `model:<name>` / `pipeline:<name>` → experiments referring to it (may hold stale names). */
  private readonly experimentsByRef = new Map<string, Set<string>>();
  private sendSeq = 0;
  /** Until when restored pipelines wait for an engine (ms since epoch); 0 when none wait. */
  private graceUntil = 0;
  private changedPipelines = new Map<string, { name: string; version: number }>();
  private changedExperiments = new Set<string>();
  /** Experiments to re-evaluate before the command returns. */
  private staleExperiments = new Set<string>();

  constructor(private readonly opts: PipelineSupervisorOptions) {}

  // ───────────────────────────── pipelines ─────────────────────────────

  /** LoadPipeline: a new pipeline, a new version of a changed one, or nothing for the same spec. */
  loadPipeline(raw: PipelineDefinition): Changes {
    const def = preparePipeline(raw);
    const existing = this.pipelines.get(def.name);
    const latest = existing && latestOf(existing);
    if (existing && latest && !isRetiring(stateOf(latest))) {
      const gen = def.kubernetesMeta?.generation ?? 0;
      const sameGeneration = gen > 0 && gen === latest.definition.kubernetesMeta?.generation;
      if (sameGeneration || samePipelineSpec(latest.definition, def)) {
        if (!sameGeneration && !sameMeta(latest.definition, def)) {
          latest.definition = def;
          this.touch(existing.name, latest);
        }
        return this.finish();
      }
      this.addVersion(existing, latest.version + 1, def);
    } else {
      // Unknown, or unloaded: a fresh pipeline from version 1 (Seldon replaces the old object).
      const entry: PipelineEntry = { name: def.name, deleted: false, deletedAt: 0, versions: [] };
      if (existing) this.dropPipeline(existing);
      this.pipelines.set(def.name, entry);
      this.addVersion(entry, 1, def);
    }
    return this.finish();
  }

  /** UnloadPipeline: every running version is told to terminate. */
  unloadPipeline(name: string): Changes {
    const p = this.pipelines.get(name);
    const latest = p && latestOf(p);
    if (!p || !latest || stateOf(latest) === 'terminated') {
      throw failedPrecondition(`pipeline ${name} not found`, { pipeline: name });
    }
    if (stateOf(latest) === 'terminating') {
      throw failedPrecondition(`pipeline ${name} still terminating`, { pipeline: name });
    }
    p.deleted = true;
    p.deletedAt = this.opts.now();
    // Seldon terminates only the latest version; an older one still serving would be left running.
    for (const v of p.versions) {
      const s = stateOf(v);
      if (s === 'terminating' || s === 'terminated') continue;
      v.actor.send({ type: 'pipeline.unload', at: this.opts.now(), reason: 'pipeline removed' });
      this.sendDelete(v, false);
      this.touch(name, v);
    }
    return this.finish();
  }

  // ───────────────────────────── engines ─────────────────────────────

  engineJoined(name: string): Changes {
    this.engines.add(name);
    this.graceUntil = 0;
    this.rebalance();
    return this.finish();
  }

  engineLeft(name: string): Changes {
    if (this.engines.delete(name)) this.rebalance();
    return this.finish();
  }

  /** An engine's acknowledgement (or its own rebalance/ready news) for a pipeline version. */
  dataflowEvent(r: DataflowReport): Changes {
    const p = this.pipelines.get(r.pipeline);
    if (!p) throw failedPrecondition(`pipeline ${r.pipeline} not found`, { pipeline: r.pipeline });
    const v = p.versions.find((x) => x.version === r.version);
    if (!v) {
      throw failedPrecondition(`pipeline version ${r.pipeline}:${r.version} not found`, {
        pipeline: r.pipeline,
      });
    }
    if (v.uid !== r.uid) {
      throw failedPrecondition(
        `pipeline version uid mismatch ${r.pipeline}:${r.version} expected ${v.uid} found ${r.uid}`,
        { pipeline: r.pipeline },
      );
    }
    const it = v.iteration;
    // Answers to an older send, or from an engine not asked, are ignored (Seldon parity).
    if (it?.timestamp !== r.timestamp || !it.engines.has(r.engine)) return this.finish();
    const answer: EngineAnswer = r.success ? { ok: true } : { ok: false, reason: r.reason };
    const at = this.opts.now();
    if (it.kind === 'delete') {
      if (r.op !== 'delete') return this.finish();
      it.engines.set(r.engine, answer);
      if ([...it.engines.values()].every((a) => a !== undefined)) {
        v.iteration = undefined;
        const failed = [...it.engines.values()].some((a) => a?.ok === false);
        v.actor.send({ type: 'dataflow.deleted', at, reason: failed ? countsReason(it) : '' });
        this.touch(p.name, v);
      }
      return this.finish();
    }
    if (r.op === 'delete') return this.finish();
    it.engines.set(r.engine, r.op === 'rebalance' ? undefined : answer);
    const answers = [...it.engines.values()];
    const outcome = answers.every((a) => a?.ok === false)
      ? 'failed'
      : answers.some((a) => a?.ok === true) && answers.every((a) => a !== undefined)
        ? 'ready'
        : 'pending';
    const before = stateOf(v);
    v.actor.send({
      type: 'dataflow.reported',
      at,
      outcome,
      reason: r.op === 'rebalance' ? REBALANCE : countsReason(it),
    });
    this.touch(p.name, v);
    const after = stateOf(v);
    if (after === 'ready' && before !== 'ready') {
      v.retry = { attempts: 0, dueAt: 0 };
      this.retireOthers(p, v);
    }
    if (after === 'failed' && before !== 'failed') this.armRetry(p, v);
    return this.finish();
  }

  // ───────────────────────────── experiments ─────────────────────────────

  /** StartExperiment: (re)starts the experiment, replacing one of the same name. */
  startExperiment(def: ExperimentDefinition): Changes {
    if (def.default !== undefined) {
      for (const other of this.experiments.values()) {
        const o = other.definition;
        if (
          !other.deleted &&
          o.name !== def.name &&
          o.resourceType === def.resourceType &&
          o.default === def.default
        ) {
          throw failedPrecondition(
            `Resource ${def.default} already in experiment ${def.name} as a baseline. A model or pipeline can only appear in one experiment as a baseline`,
            { experiment: def.name },
          );
        }
      }
    }
    checkExperiment(def);
    this.experiments.get(def.name)?.actor.stop();
    const actor = Cell.of(experimentMachine, { input: { name: def.name } });
    this.experiments.set(def.name, { definition: def, actor, deleted: false, deletedAt: 0 });
    for (const ref of referencesOf(def)) {
      index(this.experimentsByRef, refKey(def.resourceType, ref), def.name);
    }
    this.staleExperiments.add(def.name);
    this.changedExperiments.add(def.name);
    return this.finish();
  }

  /** StopExperiment: stops it (again, if already stopped); it stays listed until its TTL. */
  stopExperiment(name: string): Changes {
    const e = this.experiments.get(name);
    if (!e) throw failedPrecondition(`Experiment not found ${name}`, { experiment: name });
    e.deleted = true;
    e.deletedAt = this.opts.now();
    e.actor.send({ type: 'experiment.stop' });
    this.changedExperiments.add(name);
    return this.finish();
  }

  // ───────────────────────────── model changes and time ─────────────────────────────

  /** Models changed state: pipelines' modelsReady and experiments' readiness follow. */
  modelsChanged(models: readonly string[]): Changes {
    for (const model of models) {
      for (const name of this.pipelinesByModel.get(model) ?? []) {
        const p = this.pipelines.get(name);
        if (!p) continue;
        for (const v of p.versions) {
          if (!stepModels(v.definition).includes(model) || stateOf(v) === 'terminated') continue;
          const ready = this.modelsReady(v.definition);
          if (ready === v.actor.getSnapshot().context.modelsReady) continue;
          v.actor.send({ type: 'models.changed', ready });
          this.touch(name, v);
        }
      }
      for (const e of this.experimentsByRef.get(refKey('model', model)) ?? []) {
        this.staleExperiments.add(e);
      }
    }
    return this.finish();
  }

  /** Retries failed versions whose delay passed and purges deleted resources past their TTL. */
  tick(): Changes {
    const now = this.opts.now();
    if (this.graceUntil > 0 && now >= this.graceUntil) {
      // No engine came back after the restart: what waited on one is treated as after engines left.
      this.graceUntil = 0;
      this.rebalance();
    }
    for (const p of [...this.pipelines.values()]) {
      const latest = latestOf(p);
      if (p.deleted && latest && stateOf(latest) === 'terminated') {
        if (now - p.deletedAt >= this.opts.deletedTtlMs) {
          this.dropPipeline(p);
          this.changedPipelines.set(`${p.name}:0`, { name: p.name, version: 0 });
        }
        continue;
      }
      if (latest && latest.retry.dueAt > 0 && latest.retry.dueAt <= now) {
        latest.retry.dueAt = 0;
        if (!p.deleted && stateOf(latest) === 'failed') {
          latest.retry.attempts++;
          this.sendCreate(latest, REBALANCE);
        }
        this.touch(p.name, latest);
      }
    }
    for (const e of [...this.experiments.values()]) {
      if (e.deleted && now - e.deletedAt >= this.opts.deletedTtlMs) {
        e.actor.stop();
        this.experiments.delete(e.definition.name);
        this.changedExperiments.add(e.definition.name);
      }
    }
    return this.finish();
  }

  /** When the next retry or purge is due (ms since epoch), or undefined. */
  nextDueAt(): number | undefined {
    const due: number[] = this.graceUntil > 0 ? [this.graceUntil] : [];
    for (const p of this.pipelines.values()) {
      const latest = latestOf(p);
      if (!latest) continue;
      if (p.deleted && stateOf(latest) === 'terminated') {
        due.push(p.deletedAt + this.opts.deletedTtlMs);
      } else if (latest.retry.dueAt > 0) due.push(latest.retry.dueAt);
    }
    for (const e of this.experiments.values()) {
      if (e.deleted) due.push(e.deletedAt + this.opts.deletedTtlMs);
    }
    return due.length === 0 ? undefined : Math.min(...due);
  }

  // ───────────────────────────── persistence ─────────────────────────────

  exportPipeline(name: string): PipelineRecord | undefined {
    const p = this.pipelines.get(name);
    if (!p) return undefined;
    return {
      name,
      deleted: p.deleted,
      deletedAt: p.deletedAt,
      versions: p.versions.map((v) => ({
        version: v.version,
        uid: v.uid,
        definition: v.definition,
        actor: v.actor.getPersistedSnapshot(),
        retry: { ...v.retry },
        lastTimestamp: v.lastTimestamp,
      })),
    };
  }

  exportExperiment(name: string): ExperimentRecord | undefined {
    const e = this.experiments.get(name);
    if (!e) return undefined;
    return {
      definition: e.definition,
      deleted: e.deleted,
      deletedAt: e.deletedAt,
      actor: e.actor.getPersistedSnapshot(),
    };
  }

  /**
   * Rebuilds pipelines and experiments from their records (before any command, after the models).
   * No engine is connected yet: each version keeps its state until the first engine joins and is
   * sent its create (or delete) again; experiments are re-evaluated against the restored models.
   */
  restore(pipelines: readonly PipelineRecord[], experiments: readonly ExperimentRecord[]): Changes {
    for (const rec of pipelines) {
      const p: PipelineEntry = {
        name: rec.name,
        deleted: rec.deleted,
        deletedAt: rec.deletedAt,
        versions: [],
      };
      for (const rv of rec.versions) {
        const actor = Cell.of(pipelineVersionMachine, {
          snapshot: rv.actor as Snapshot<unknown>,
        });
        p.versions.push({
          version: rv.version,
          uid: rv.uid,
          definition: rv.definition,
          actor,
          iteration: undefined,
          lastTimestamp: rv.lastTimestamp,
          retry: { ...rv.retry },
        });
        this.sendSeq = Math.max(this.sendSeq, rv.lastTimestamp);
        for (const m of stepModels(rv.definition)) index(this.pipelinesByModel, m, rec.name);
      }
      this.pipelines.set(rec.name, p);
      this.graceUntil = this.opts.now() + this.opts.reconnectGraceMs;
    }
    for (const rec of experiments) {
      const actor = Cell.of(experimentMachine, {
        snapshot: rec.actor as Snapshot<unknown>,
      });
      this.experiments.set(rec.definition.name, {
        definition: rec.definition,
        actor,
        deleted: rec.deleted,
        deletedAt: rec.deletedAt,
      });
      for (const ref of referencesOf(rec.definition)) {
        index(this.experimentsByRef, refKey(rec.definition.resourceType, ref), rec.definition.name);
      }
      this.staleExperiments.add(rec.definition.name);
    }
    // The models were restored too: modelsReady follows them.
    return this.modelsChanged([...this.pipelinesByModel.keys()]);
  }

  // ───────────────────────────── views ─────────────────────────────

  pipeline(name: string, allVersions: boolean): PipelineView | undefined {
    const p = this.pipelines.get(name);
    return p && viewPipeline(p, allVersions);
  }

  /** Every pipeline (deleted ones included), by name. */
  listPipelines(allVersions: boolean): PipelineView[] {
    return [...this.pipelines.values()]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((p) => viewPipeline(p, allVersions));
  }

  /** One version of a pipeline, for status pushes naming it. */
  pipelineVersion(name: string, version: number): PipelineView | undefined {
    const p = this.pipelines.get(name);
    const v = p?.versions.find((x) => x.version === version);
    return p && v && { name, deleted: p.deleted, versions: [viewVersion(v)] };
  }

  listEngines(): string[] {
    return [...this.engines];
  }

  experiment(name: string): ExperimentView | undefined {
    const e = this.experiments.get(name);
    return e && viewExperiment(e);
  }

  /** Every experiment (stopped ones included), by name. */
  listExperiments(): ExperimentView[] {
    return [...this.experiments.values()]
      .sort((a, b) => (a.definition.name < b.definition.name ? -1 : 1))
      .map(viewExperiment);
  }

  // ───────────────────────────── internals ─────────────────────────────

  private addVersion(p: PipelineEntry, version: number, def: PipelineDefinition): void {
    const uid = this.opts.newUid();
    const actor = Cell.of(pipelineVersionMachine, {
      input: {
        name: p.name,
        version,
        uid,
        at: this.opts.now(),
        modelsReady: this.modelsReady(def),
      },
    });
    const v: VersionEntry = {
      version,
      uid,
      definition: def,
      actor,
      iteration: undefined,
      lastTimestamp: 0,
      retry: { attempts: 0, dueAt: 0 },
    };
    p.versions.push(v);
    for (const m of stepModels(def)) index(this.pipelinesByModel, m, p.name);
    this.sendCreate(v, '');
    this.touch(p.name, v);
  }

  private modelsReady(def: PipelineDefinition): boolean {
    return stepModels(def).every((m) => this.opts.models.anyAvailable(m));
  }

  /** The engine that runs a version: the highest rendezvous hash of its uid among connected ones. */
  private engineFor(uid: string): string | undefined {
    let best: string | undefined;
    let bestScore = -1;
    for (const e of this.engines) {
      const score = hash(`${uid}/${e}`);
      if (score > bestScore || (score === bestScore && best !== undefined && e < best)) {
        best = e;
        bestScore = score;
      }
    }
    return best;
  }

  private send(v: VersionEntry, kind: 'create' | 'delete', engines: string[], keepTopics = false) {
    const timestamp = ++this.sendSeq;
    v.lastTimestamp = timestamp;
    for (const engine of engines) {
      this.opts.dataflow.send(engine, {
        op: kind,
        definition: v.definition,
        version: v.version,
        uid: v.uid,
        timestamp,
        keepTopics,
      });
    }
    return timestamp;
  }

  private sendCreate(v: VersionEntry, reason: string): void {
    const at = this.opts.now();
    const engine = this.engineFor(v.uid);
    if (engine === undefined) {
      v.iteration = undefined;
      v.actor.send({ type: 'dataflow.unavailable', at, reason: NO_ENGINES });
      return;
    }
    const timestamp = this.send(v, 'create', [engine]);
    v.iteration = { kind: 'create', timestamp, engines: new Map([[engine, undefined]]) };
    v.actor.send({ type: 'dataflow.createSent', at, reason });
  }

  /** Tells the engines that may run the version to delete it; with none, it is simply gone. */
  private sendDelete(v: VersionEntry, keepTopics: boolean): void {
    const at = this.opts.now();
    const targets = new Set(
      [...(v.iteration?.engines.keys() ?? []), this.engineFor(v.uid)].filter(
        (e): e is string => e !== undefined && this.engines.has(e),
      ),
    );
    if (targets.size === 0) {
      v.iteration = undefined;
      v.actor.send({ type: 'dataflow.unavailable', at, reason: NO_ENGINES });
      return;
    }
    const timestamp = this.send(v, 'delete', [...targets], keepTopics);
    v.iteration = {
      kind: 'delete',
      timestamp,
      engines: new Map([...targets].map((e) => [e, undefined])),
    };
    v.actor.send({ type: 'dataflow.deleteSent', at });
  }

  /** A newer version is ready: older running ones retire, keeping their topics. */
  private retireOthers(p: PipelineEntry, ready: VersionEntry): void {
    for (const v of p.versions) {
      if (v.version >= ready.version || isRetiring(stateOf(v))) continue;
      v.actor.send({
        type: 'pipeline.unload',
        at: this.opts.now(),
        reason: `replaced by version ${ready.version}`,
      });
      this.sendDelete(v, true);
      this.touch(p.name, v);
    }
  }

  private armRetry(p: PipelineEntry, v: VersionEntry): void {
    if (v === latestOf(p) && !p.deleted && v.retry.attempts < this.opts.maxFailedRetries) {
      v.retry.dueAt = this.opts.now() + this.opts.retryFailedMs;
    }
  }

  /**
   * Engines came or went: versions whose engine changed are sent to their new one (the old one,
   * if still connected, deletes its copy); with no engine left they wait in Create.
   */
  private rebalance(): void {
    for (const p of this.pipelines.values()) {
      for (const v of p.versions) {
        const state = stateOf(v);
        if (state === 'terminated') continue;
        const asked = [...(v.iteration?.engines.keys() ?? [])];
        const target = this.engineFor(v.uid);
        if (state === 'terminate' || state === 'terminating') {
          if (asked.some((e) => this.engines.has(e)) && state === 'terminating') continue;
          this.sendDelete(v, true);
        } else if (target === undefined) {
          if (state === 'create' && v.actor.getSnapshot().context.reason === NO_ENGINES) continue;
          this.sendCreate(v, REBALANCE);
        } else if (state === 'create' || !asked.includes(target)) {
          const previous = asked.filter((e) => e !== target && this.engines.has(e));
          if (previous.length > 0) this.send(v, 'delete', previous, true);
          this.sendCreate(v, REBALANCE);
        } else continue;
        this.touch(p.name, v);
      }
    }
  }

  private dropPipeline(p: PipelineEntry): void {
    for (const v of p.versions) v.actor.stop();
    this.pipelines.delete(p.name);
    for (const e of this.experimentsByRef.get(refKey('pipeline', p.name)) ?? []) {
      this.staleExperiments.add(e);
    }
  }

  private touch(name: string, v: VersionEntry): void {
    this.changedPipelines.set(`${name}:${v.version}`, { name, version: v.version });
    for (const e of this.experimentsByRef.get(refKey('pipeline', name)) ?? []) {
      this.staleExperiments.add(e);
    }
  }

  /** Re-evaluates stale experiments and returns what changed during the command. */
  /** Settles and reports what changed so far (after a refused command that recorded facts first). */
  flush(): Changes {
    return this.finish();
  }

  private finish(): Changes {
    for (const name of this.staleExperiments) {
      const e = this.experiments.get(name);
      if (!e || e.deleted) continue;
      const before = viewExperiment(e);
      e.actor.send({ type: 'resources.evaluated', ...this.evaluate(e.definition) });
      const after = viewExperiment(e);
      if (
        before.active !== after.active ||
        before.candidatesReady !== after.candidatesReady ||
        before.mirrorReady !== after.mirrorReady ||
        before.statusDescription !== after.statusDescription
      ) {
        this.changedExperiments.add(name);
      }
    }
    const changes: Changes = {
      models: [],
      servers: [],
      scaling: [],
      pipelines: [...this.changedPipelines.values()],
      experiments: [...this.changedExperiments],
    };
    this.staleExperiments = new Set();
    this.changedPipelines = new Map();
    this.changedExperiments = new Set();
    return changes;
  }

  /** Readiness of an experiment's resources and whether traffic can be split (Seldon's rules). */
  private evaluate(def: ExperimentDefinition): {
    candidatesReady: boolean;
    mirrorReady: boolean;
    routeError: string | undefined;
  } {
    const ready = (name: string) => {
      if (def.resourceType === 'model') return this.opts.models.latestAvailable(name);
      const p = this.pipelines.get(name);
      const latest = p && latestOf(p);
      return latest !== undefined && stateOf(latest) === 'ready';
    };
    let routeError: string | undefined;
    if (def.resourceType === 'model') {
      const unroutable = [...def.candidates.map((c) => c.name), def.mirror?.name].find(
        (m) => m !== undefined && !this.opts.models.routable(m),
      );
      if (unroutable !== undefined) {
        routeError = `no live replica for model ${unroutable} for model route ${def.name}.experiment`;
      }
    } else if (def.default !== undefined && !this.pipelines.has(def.default)) {
      routeError = `pipeline ${def.default} not found`;
    }
    return {
      candidatesReady: def.candidates.every((c) => ready(c.name)),
      mirrorReady: def.mirror === undefined || ready(def.mirror.name),
      routeError,
    };
  }
}

function index(map: Map<string, Set<string>>, key: string, value: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

function referencesOf(def: ExperimentDefinition): string[] {
  return [
    ...def.candidates.map((c) => c.name),
    ...(def.mirror ? [def.mirror.name] : []),
    ...(def.default !== undefined ? [def.default] : []),
  ];
}

function sameMeta(a: PipelineDefinition, b: PipelineDefinition): boolean {
  const x = a.kubernetesMeta;
  const y = b.kubernetesMeta;
  return x?.namespace === y?.namespace && x?.generation === y?.generation;
}

function viewVersion(v: VersionEntry): PipelineVersionView {
  const snap = v.actor.getSnapshot();
  return {
    version: v.version,
    uid: v.uid,
    definition: v.definition,
    state: pipelineStateOf(snap),
    reason: snap.context.reason,
    lastChangeAt: snap.context.at,
    modelsReady: snap.context.modelsReady,
  };
}

function viewPipeline(p: PipelineEntry, allVersions: boolean): PipelineView {
  const versions = allVersions ? p.versions : p.versions.slice(-1);
  return { name: p.name, deleted: p.deleted, versions: versions.map(viewVersion) };
}

function viewExperiment(e: ExperimentEntry): ExperimentView {
  const snap = e.actor.getSnapshot();
  return {
    definition: e.definition,
    state: typeof snap.value === 'string' ? snap.value : snap.value.running,
    active: snap.hasTag('active'),
    candidatesReady: snap.context.candidatesReady,
    mirrorReady: snap.context.mirrorReady,
    statusDescription: snap.context.statusDescription,
    deleted: e.deleted,
  };
}
