import type { Changes, SchedulerSystem } from '../../actors/index.js';

/** The machines of `statecharts/`, by id. */
export const MACHINE_IDS = [
  'modelVersion',
  'modelReplica',
  'server',
  'serverReplica',
  'pipelineVersion',
  'experiment',
] as const;
export type MachineId = (typeof MACHINE_IDS)[number];

/** One observed change of an actor's state. */
export interface Transition {
  /** Increases by one per transition recorded, over all resources. */
  seq: number;
  /** Epoch ms: the actor's own time of the change when it has one, else when it was seen. */
  at: number;
  machine: MachineId;
  /** The actor, e.g. `iris v2 replica 0`, `mlserver replica 1`. */
  actor: string;
  /** Undefined when the actor was first seen. */
  from: string | undefined;
  /** `gone` when the actor no longer exists. */
  to: string;
  reason: string;
}

interface ActorState {
  machine: MachineId;
  actor: string;
  state: string;
}

/** One actor's state as read from a view. */
interface Observed extends ActorState {
  at: number;
  reason: string;
}

export interface TrackerOptions {
  /** Transitions kept per resource (default 50). */
  historySize?: number;
  /** Transitions kept over all resources (default 200). */
  recentSize?: number;
  now?: () => number;
}

/** Models the tracker reads at a time when it starts. */
const SCAN_CHUNK = 2000;

/**
 * Follows every actor's state from the system's change notifications: how many actors of each
 * machine are in each state, each resource's last transitions, and the models by name and latest
 * state for paging. Work per notification is proportional to the resources it names, so it keeps
 * up with 10,000 models and more.
 */
export class LifecycleTracker {
  private readonly actors = new Map<string, ActorState>();
  /** Resource key (`model:iris`) → the keys of its actors. */
  private readonly actorsOf = new Map<string, Set<string>>();
  private readonly counts = new Map<MachineId, Map<string, number>>(
    MACHINE_IDS.map((id) => [id, new Map()]),
  );
  private readonly history = new Map<string, Transition[]>();
  private readonly recentTransitions: Transition[] = [];
  /** Latest version's state of each model. */
  private readonly modelStates = new Map<string, string>();
  private sortedModels: string[] | undefined;
  private seq = 0;
  private readonly historySize: number;
  private readonly recentSize: number;
  private readonly now: () => number;
  private readonly unsubscribe: () => void;
  /** The next chunk of the first read of every model, while it lasts. */
  private scanning: NodeJS.Immediate | undefined;

  constructor(
    private readonly system: SchedulerSystem,
    opts: TrackerOptions = {},
  ) {
    this.historySize = opts.historySize ?? 50;
    this.recentSize = opts.recentSize ?? 200;
    this.now = opts.now ?? Date.now;
    this.scan(system.modelNames(), 0);
    this.refresh({
      models: [],
      servers: system.listServers().map((s) => s.name),
      scaling: [],
      pipelines: system.listPipelines(false).map((p) => ({ name: p.name, version: 0 })),
      experiments: system.listExperiments().map((e) => e.definition.name),
    });
    this.unsubscribe = system.subscribe((changes) => {
      this.refresh(changes);
    });
  }

  close(): void {
    this.unsubscribe();
    clearImmediate(this.scanning);
  }

  /**
   * Reads models `from` on, a chunk now and the rest after whatever else is waiting: a scheduler
   * restored with 100,000 models serves before its dashboard has seen them all. A model a change
   * refreshed meanwhile reads the same again, which records nothing.
   */
  private scan(models: readonly string[], from: number): void {
    const to = Math.min(models.length, from + SCAN_CHUNK);
    for (const name of models.slice(from, to)) this.refreshModel(name);
    this.scanning =
      to < models.length
        ? setImmediate(() => {
            this.scan(models, to);
          })
        : undefined;
  }

  /** Re-reads the resources `changes` names. */
  refresh(changes: Changes): void {
    for (const name of changes.models) this.refreshModel(name);
    for (const name of changes.servers) this.refreshServer(name);
    for (const name of new Set(changes.pipelines.map((p) => p.name))) this.refreshPipeline(name);
    for (const name of changes.experiments) this.refreshExperiment(name);
  }

  /** Actors per state, for every machine (states with no actor are left out). */
  countsByMachine(): Record<MachineId, Record<string, number>> {
    const out = {} as Record<MachineId, Record<string, number>>;
    for (const [id, states] of this.counts) out[id] = Object.fromEntries(states);
    return out;
  }

  /** The resource's last transitions, oldest first (`model:iris`, `server:mlserver`, ...). */
  transitionsOf(resource: string): Transition[] {
    return [...(this.history.get(resource) ?? [])];
  }

  /** The last transitions of all resources after `afterSeq`, oldest first. */
  recent(afterSeq = 0): Transition[] {
    return this.recentTransitions.filter((t) => t.seq > afterSeq);
  }

  /** Models whose name contains `query` and whose latest version is in `state`, by name. */
  modelNames(query = '', state = ''): string[] {
    this.sortedModels ??= [...this.modelStates.keys()].sort();
    if (query === '' && state === '') return this.sortedModels;
    return this.sortedModels.filter(
      (n) => n.includes(query) && (state === '' || this.modelStates.get(n) === state),
    );
  }

  get modelCount(): number {
    return this.modelStates.size;
  }

  private refreshModel(name: string): void {
    const m = this.system.model(name, true);
    const observed: Observed[] = [];
    for (const v of m?.versions ?? []) {
      const actor = `${name} v${v.version}`;
      observed.push({ machine: 'modelVersion', actor, state: v.state, at: v.at, reason: v.reason });
      for (const r of v.replicas) {
        observed.push({
          machine: 'modelReplica',
          actor: `${actor} replica ${r.idx}`,
          state: r.state,
          at: r.at,
          reason: r.reason,
        });
      }
    }
    const latest = m?.versions.at(-1);
    if (latest) {
      if (!this.modelStates.has(name)) this.sortedModels = undefined;
      this.modelStates.set(name, latest.state);
    } else if (this.modelStates.delete(name)) {
      this.sortedModels = undefined;
    }
    this.observe(`model:${name}`, observed);
  }

  private refreshServer(name: string): void {
    const s = this.system.server(name);
    const observed: Observed[] = [];
    if (s) {
      const at = this.now();
      observed.push({ machine: 'server', actor: name, state: s.state, at, reason: '' });
      for (const r of s.replicas) {
        observed.push({
          machine: 'serverReplica',
          actor: `${name} replica ${r.idx}`,
          state: r.draining ? 'draining' : 'connected',
          at,
          reason: '',
        });
      }
    }
    this.observe(`server:${name}`, observed);
  }

  private refreshPipeline(name: string): void {
    const p = this.system.pipeline(name, true);
    this.observe(
      `pipeline:${name}`,
      (p?.versions ?? []).map((v) => ({
        machine: 'pipelineVersion',
        actor: `${name} v${v.version}`,
        state: v.state,
        at: v.lastChangeAt,
        reason: v.reason,
      })),
    );
  }

  private refreshExperiment(name: string): void {
    const e = this.system.experiment(name);
    this.observe(
      `experiment:${name}`,
      e
        ? [
            {
              machine: 'experiment',
              actor: name,
              state: e.state,
              at: this.now(),
              reason: e.statusDescription,
            },
          ]
        : [],
    );
  }

  /** Replaces the resource's actors by `observed`, counting and recording what changed. */
  private observe(resource: string, observed: readonly Observed[]): void {
    const before = this.actorsOf.get(resource) ?? new Set<string>();
    const after = new Set<string>();
    for (const o of observed) {
      const key = `${o.machine}:${o.actor}`;
      after.add(key);
      const old = this.actors.get(key);
      if (old?.state === o.state) continue;
      if (old) this.count(old, -1);
      this.count(o, 1);
      this.actors.set(key, { machine: o.machine, actor: o.actor, state: o.state });
      this.record(resource, { ...o, from: old?.state, to: o.state });
    }
    for (const key of before) {
      if (after.has(key)) continue;
      const old = this.actors.get(key);
      if (!old) continue;
      this.count(old, -1);
      this.actors.delete(key);
      this.record(resource, { ...old, at: this.now(), reason: '', from: old.state, to: 'gone' });
    }
    if (after.size > 0) this.actorsOf.set(resource, after);
    else {
      this.actorsOf.delete(resource);
      this.history.delete(resource);
    }
  }

  private count(a: ActorState, delta: number): void {
    const states = this.counts.get(a.machine);
    if (!states) return;
    const n = (states.get(a.state) ?? 0) + delta;
    if (n > 0) states.set(a.state, n);
    else states.delete(a.state);
  }

  private record(resource: string, t: Omit<Transition, 'seq'>): void {
    const { at, machine, actor, from, to, reason } = t;
    const entry: Transition = { seq: ++this.seq, at, machine, actor, from, to, reason };
    const list = this.history.get(resource) ?? [];
    list.push(entry);
    if (list.length > this.historySize) list.splice(0, list.length - this.historySize);
    this.history.set(resource, list);
    this.recentTransitions.push(entry);
    if (this.recentTransitions.length > this.recentSize) this.recentTransitions.shift();
  }
}
