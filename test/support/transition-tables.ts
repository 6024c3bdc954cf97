/**
 * Hand-written transition tables of the six machines, one per machine, written from the seed proto
 * enums (proto/mlops/scheduler/scheduler.proto) and the reference scheduler's behaviour ("§M": models
 * and servers, "§P": pipelines and experiments, as our notes on it number them), not from the
 * machines: they import only the event types. Where the machine follows a deliberate difference from
 * the reference (README "differs from the reference"), the row follows the machine and its `why` says
 * so. test/property/machines.prop.test.ts checks the machines against them.
 *
 * Semantics: in leaf state `s`, event `e` applies the first row with `s` in `from`, `e.type === event`
 * and a holding guard (guards only look at the event). No such row: the event is ignored and changes
 * nothing (value and context). A row with `to === from` keeps the state but may change the context.
 */
import type { ExperimentEvent } from '../../src/actors/experiment/experiment.events.js';
import type { ModelVersionEvent } from '../../src/actors/model/model.events.js';
import type { PipelineVersionEvent } from '../../src/actors/pipeline/pipeline.events.js';
import type { ReplicaEvent } from '../../src/actors/replica/replica.events.js';
import type { ServerEvent, ServerReplicaEvent } from '../../src/actors/server/server.events.js';
import type { ReplicaSummary } from '../../src/domain/model.js';

/** One transition: tried in order, the first row whose guard holds applies. */
export interface Row<S extends string, T extends string, G extends string> {
  /** The leaf state(s) it applies in. */
  readonly from: S | readonly S[];
  readonly event: T;
  /** A named predicate over the event (the table's `guards`); absent: always. */
  readonly guard?: G;
  /** The leaf state after the event; `to === from` when only the context changes. */
  readonly to: S;
  /** The reference fact (or documented difference) the row comes from. */
  readonly why: string;
}

export interface TransitionTable<S extends string, E extends { type: string }, G extends string> {
  /** Every leaf state, with the proto enum value it stands for (or its meaning, where none). */
  readonly states: Readonly<Record<S, string>>;
  readonly initial: S;
  /** States no event leaves and no event changes; the only ones where a machine may be done. */
  readonly terminal: readonly S[];
  /** The finite event alphabet: every event type, in the payload variants the guards tell apart. */
  readonly alphabet: readonly E[];
  readonly guards: Readonly<Record<G, (event: E) => boolean>>;
  readonly rows: readonly Row<S, E['type'], G>[];
}

/** States a row applies in. */
export const fromStates = <S extends string>(row: { readonly from: S | readonly S[] }) =>
  typeof row.from === 'string' ? [row.from] : row.from;

/** The row that applies to `event` in leaf state `from`, or undefined when the event is ignored. */
export function predict<S extends string, E extends { type: string }, G extends string>(
  table: TransitionTable<S, E, G>,
  from: string,
  event: E,
): Row<S, E['type'], G> | undefined {
  return table.rows.find(
    (r) =>
      r.event === event.type &&
      (fromStates(r) as readonly string[]).includes(from) &&
      (r.guard === undefined || table.guards[r.guard](event)),
  );
}

/** Types a table for machine events E, inferring the states and guard names from the literal. */
const tableOf =
  <E extends { type: string }>() =>
  <S extends string, G extends string = never>(t: {
    states: Readonly<Record<S, string>>;
    initial: NoInfer<S>;
    terminal: readonly NoInfer<S>[];
    alphabet: readonly E[];
    guards: Readonly<Record<G, (event: E) => boolean>>;
    rows: readonly Row<NoInfer<S>, E['type'], NoInfer<G>>[];
  }): TransitionTable<S, E, G> =>
    t;

/** One `to === from` row per state: the event changes the context only. */
function stays<S extends string, T extends string>(
  from: readonly S[],
  event: T,
  why: string,
): Row<S, T, never>[] {
  return from.map((s) => ({ from: s, event, to: s, why }));
}

/** Every combination of the given choices. */
function product<T extends Record<string, readonly unknown[]>>(
  choices: T,
): { [K in keyof T]: T[K][number] }[] {
  let out: Record<string, unknown>[] = [{}];
  for (const [key, values] of Object.entries(choices)) {
    out = out.flatMap((partial) => values.map((v) => ({ ...partial, [key]: v })));
  }
  return out as { [K in keyof T]: T[K][number] }[];
}

const at = 1;

// ───────────────────────────── model version: ModelStatus.ModelState (§M1.3) ─────────────────────

const summary = (counts: Partial<ReplicaSummary>): ReplicaSummary => ({
  available: 0,
  loading: 0,
  failed: 0,
  unloading: 0,
  unloadFailed: 0,
  draining: 0,
  failedReason: '',
  unloadFailedReason: '',
  ...counts,
});

/** Replica buckets (§M1.3 "Replica-state buckets") in the mixes the derivation rules tell apart. */
const SUMMARIES: readonly ReplicaSummary[] = [
  summary({}),
  summary({ loading: 1 }),
  summary({ available: 1 }),
  summary({ available: 2 }),
  summary({ available: 1, failed: 1, failedReason: 'boom' }),
  summary({ failed: 1, failedReason: 'boom' }),
  summary({ unloading: 1 }),
  summary({ available: 1, unloadFailed: 1, unloadFailedReason: 'disk' }),
  summary({ draining: 1 }),
];

const changed = (e: ModelVersionEvent) => (e.type === 'replicas.changed' ? e : undefined);
/** Unloading, available or loading replicas: what the deleted/not-latest rules call active. */
const holding = (s: ReplicaSummary) => s.unloading > 0 || s.available > 0 || s.loading > 0;

const LIVE = ['unknown', 'progressing', 'available', 'failed', 'scheduleFailed'] as const;
/** The deleted/not-latest rules apply from every state, Terminated included (§M1.3, §M2.3 step 4). */
const RETIRE_FROM = [...LIVE, 'terminating', 'terminateFailed', 'terminated'] as const;

export const modelVersionTable = tableOf<ModelVersionEvent>()({
  states: {
    unknown: 'ModelStateUnknown = 0',
    progressing: 'ModelProgressing = 1',
    available: 'ModelAvailable = 2',
    failed: 'ModelFailed = 3',
    terminating: 'ModelTerminating = 4',
    terminated: 'ModelTerminated = 5',
    terminateFailed: 'ModelTerminateFailed = 6',
    scheduleFailed: 'ScheduleFailed = 7',
  },
  initial: 'unknown',
  // Terminated is not terminal: §M1.3 recomputes the state whenever a replica changes, whatever the
  // current state, and an agent re-subscribing with this version in loadedModels sets its replica
  // Loaded again (§M2.3 step 4), so a Terminated deleted/old version goes back to Terminating.
  terminal: [],
  alphabet: [
    ...product({
      summary: SUMMARIES,
      retiring: [false, true],
      replicas: [undefined, 0, 1, 2],
      minReplicas: [0, 1, 2],
      otherVersionAvailable: [false, true],
    }).map((p): ModelVersionEvent => ({ type: 'replicas.changed', at, ...p })),
    {
      type: 'placement.failed',
      at,
      reason: 'failed to schedule model',
      availableReplicas: 0,
      unavailableReplicas: 1,
    },
  ],
  guards: {
    /** §M1.3 deleted/not latest, first rule: unloadFailed > 0. */
    retiringWithUnloadFailed: (e) =>
      changed(e)?.retiring === true && (changed(e)?.summary.unloadFailed ?? 0) > 0,
    /** §M1.3 deleted/not latest, second rule: unloading, available or loading > 0. */
    retiringWhileHolding: (e) => {
      const c = changed(e);
      return c !== undefined && c.retiring && holding(c.summary);
    },
    /** The model is deleted or this version is not the latest (§M1.2, §M1.5). */
    retiring: (e) => changed(e)?.retiring === true,
    /** §M1.3 rule 1: failed > 0 (LoadFailed or LoadedUnavailable replicas). */
    anyFailed: (e) => (changed(e)?.summary.failed ?? 0) > 0,
    /** §M1.3 rule 3: deploymentSpec present and (available == replicas or min > 0 and available ≥ min). */
    desiredAvailable: (e) => {
      const c = changed(e);
      if (c?.replicas === undefined) return false;
      const { available } = c.summary;
      return available === c.replicas || (c.minReplicas > 0 && available >= c.minReplicas);
    },
    /** §M1.3 rule 4: available > 0 and another version is ModelAvailable. */
    rollingUpdate: (e) => {
      const c = changed(e);
      return (
        c !== undefined &&
        c.summary.available >= Math.max(1, c.minReplicas) &&
        c.otherVersionAvailable
      );
    },
  },
  rows: [
    // Deleted model or superseded version (§M1.3 "If the model is deleted OR the version is not the
    // latest"): from any state, LoadFailed/LoadedUnavailable/Draining replicas ignored.
    {
      from: RETIRE_FROM,
      event: 'replicas.changed',
      guard: 'retiringWithUnloadFailed',
      to: 'terminateFailed',
      why: '§M1.3 deleted/not latest: unloadFailed>0 → ModelTerminateFailed (reason of the newest UnloadFailed)',
    },
    {
      from: RETIRE_FROM,
      event: 'replicas.changed',
      guard: 'retiringWhileHolding',
      to: 'terminating',
      why: '§M1.3 deleted/not latest: unloading||available||loading → ModelTerminating (also from Terminated when an agent re-announces the version, §M2.3 step 4)',
    },
    {
      from: RETIRE_FROM,
      event: 'replicas.changed',
      guard: 'retiring',
      to: 'terminated',
      why: '§M1.3 deleted/not latest: otherwise ModelTerminated',
    },
    // Once retiring, never live again: a deleted model is re-created as a new model object (§M1.1)
    // and versions are only appended (§M1.5), so retiring:false is ignored in the retiring states.

    // The latest version of a live model: §M1.3 "first match wins".
    {
      from: LIVE,
      event: 'replicas.changed',
      guard: 'anyFailed',
      to: 'failed',
      why: '§M1.3 rule 1: failed>0 → ModelFailed (Progressing/Available → Failed on LoadFailed or LoadedUnavailable)',
    },
    {
      from: LIVE,
      event: 'replicas.changed',
      guard: 'desiredAvailable',
      to: 'available',
      why: '§M1.3 rule 3 → ModelAvailable. Rule 2 (ModelScaledDown) is not in the seed enum, so replicas 0 with nothing available falls to rule 3 (0 == 0)',
    },
    {
      from: LIVE,
      event: 'replicas.changed',
      guard: 'rollingUpdate',
      to: 'available',
      why: '§M1.3 rule 4 (rolling update) while another version is ModelAvailable; deliberate difference (README): it takes max(1, minReplicas) Available replicas, not one',
    },
    {
      from: LIVE,
      event: 'replicas.changed',
      to: 'progressing',
      why: '§M1.3 rule 5: otherwise ModelProgressing (Unknown → Progressing, Available → Progressing, ScheduleFailed overwritten by the next recomputation)',
    },
    {
      from: LIVE,
      event: 'placement.failed',
      to: 'scheduleFailed',
      why: '§M1.3 "Unknown/any → ScheduleFailed", §M1.7: written by the scheduler for the latest version only',
    },
    // placement.failed in the retiring states: ignored, a deleted model is scheduled by the deleted
    // branch (§M1.2) and old versions are never scheduled (§M1.5).
  ],
});

// ───────────────────── model replica: ModelReplicaStatus.ModelReplicaState (§M1.4) ────────────────

/** Loading, Loaded, Available, LoadedUnavailable: the agent was told to load it. */
const LOADEDISH = ['loading', 'loaded', 'available', 'loadedUnavailable'] as const;

export const modelReplicaTable = tableOf<ReplicaEvent>()({
  states: {
    unknown: 'ModelReplicaStateUnknown = 0',
    loadRequested: 'LoadRequested = 1',
    loading: 'Loading = 2',
    loaded: 'Loaded = 3',
    loadFailed: 'LoadFailed = 4',
    unloadRequested: 'UnloadRequested = 5',
    unloading: 'Unloading = 6',
    unloaded: 'Unloaded = 7',
    unloadFailed: 'UnloadFailed = 8',
    available: 'Available = 9',
    loadedUnavailable: 'LoadedUnavailable = 10',
    unloadEnvoyRequested: 'UnloadEnvoyRequested = 11',
    draining: 'Draining = 12',
  },
  initial: 'unknown',
  // Unloaded is not terminal: the replica can be chosen again (§M1.4 first row).
  terminal: [],
  alphabet: [
    { type: 'placement.loadRequested', at },
    { type: 'placement.unloadEnvoyRequested', at },
    { type: 'placement.unloadRequested', at },
    { type: 'agent.loadSent', at },
    { type: 'agent.loadSendFailed', at, reason: 'stream closed' },
    { type: 'agent.loaded', at },
    { type: 'agent.loadFailed', at, reason: 'boom' },
    { type: 'agent.unloadSent', at },
    { type: 'agent.unloadSendFailed', at, reason: 'stream closed' },
    { type: 'agent.unloaded', at },
    { type: 'agent.unloadFailed', at, reason: 'disk' },
    { type: 'agent.announced', at },
    { type: 'routing.ready', at },
    { type: 'routing.failed', at, reason: 'no route' },
    { type: 'routing.removed', at },
    { type: 'server.drain', at },
    { type: 'server.replicaGone', at },
  ],
  guards: {},
  rows: [
    {
      from: [
        'unknown',
        'loadRequested',
        'loadFailed',
        'unloaded',
        'unloadFailed',
        'unloadEnvoyRequested',
        'unloadRequested',
        'unloading',
      ],
      event: 'placement.loadRequested',
      to: 'loadRequested',
      why: '§M1.4 any state other than Loading/Loaded/Available/LoadedUnavailable → LoadRequested when chosen (Draining is never chosen)',
    },
    {
      from: 'loadRequested',
      event: 'agent.loadSent',
      to: 'loading',
      why: '§M1.4 LoadRequested → Loading: LOAD_MODEL sent on the Subscribe stream',
    },
    {
      from: 'loadRequested',
      event: 'agent.loadSendFailed',
      to: 'loadFailed',
      why: '§M1.4 LoadRequested → LoadFailed: sending LOAD_MODEL failed',
    },
    {
      from: 'loading',
      event: 'agent.loaded',
      to: 'loaded',
      why: '§M1.4 Loading → Loaded on AgentEvent LOADED (any other state: state mismatch, §M6 no. 31)',
    },
    {
      from: 'loading',
      event: 'agent.loadFailed',
      to: 'loadFailed',
      why: '§M1.4 Loading → LoadFailed on AgentEvent LOAD_FAILED (Draining rejects it, §M2.6)',
    },
    {
      from: ['loaded', 'loadedUnavailable'],
      event: 'routing.ready',
      to: 'available',
      why: '§M1.4 Loaded, LoadedUnavailable → Available when routes are pushed (Draining skipped)',
    },
    {
      from: ['loaded', 'available'],
      event: 'routing.failed',
      to: 'loadedUnavailable',
      why: '§M1.4 Loaded, Available → LoadedUnavailable when routes could not be pushed',
    },
    {
      from: 'loadRequested',
      event: 'placement.unloadEnvoyRequested',
      to: 'unloaded',
      why: 'Documented difference (README): memory reserved for a load that never reached its agent is released; §M1.4 would go UnloadEnvoyRequested. Follows the machine',
    },
    {
      from: [...LOADEDISH, 'loadFailed', 'unloadFailed'],
      event: 'placement.unloadEnvoyRequested',
      to: 'unloadEnvoyRequested',
      why: '§M1.4 Loaded/Available/LoadedUnavailable/Loading/LoadRequested/LoadFailed/UnloadFailed (not Draining) → UnloadEnvoyRequested when dropped from the chosen set',
    },
    {
      from: 'unloadEnvoyRequested',
      event: 'routing.removed',
      to: 'unloadRequested',
      why: '§M1.4 UnloadEnvoyRequested → UnloadRequested once routing no longer sends it traffic',
    },
    {
      from: 'loadRequested',
      event: 'placement.unloadRequested',
      to: 'unloaded',
      why: 'Documented difference (README): memory reserved for a load that never reached its agent is released; §M1.4 would go UnloadRequested. Follows the machine',
    },
    {
      from: [...LOADEDISH, 'loadFailed', 'unloadFailed', 'draining'],
      event: 'placement.unloadRequested',
      to: 'unloadRequested',
      why: '§M1.4 any state except UnloadEnvoyRequested/UnloadRequested/Unloading/Unloaded/Unknown → UnloadRequested (UnloadVersionModels, §M1.2 deleted versions incl. Draining)',
    },
    {
      from: 'unloadEnvoyRequested',
      event: 'placement.unloadRequested',
      to: 'unloadEnvoyRequested',
      why: '§M1.4 "any state except UnloadEnvoyRequested/…" → UnloadRequested: UnloadEnvoyRequested is left as it is',
    },
    {
      from: 'unloadRequested',
      event: 'agent.unloadSent',
      to: 'unloading',
      why: '§M1.4 UnloadRequested → Unloading: UNLOAD_MODEL sent',
    },
    {
      from: 'unloadRequested',
      event: 'agent.unloadSendFailed',
      to: 'unloadFailed',
      why: '§M1.4 UnloadRequested → UnloadFailed: sending UNLOAD_MODEL failed',
    },
    {
      from: 'unloading',
      event: 'agent.unloaded',
      to: 'unloaded',
      why: '§M1.4 Unloading → Unloaded on AgentEvent UNLOADED',
    },
    {
      from: 'unloading',
      event: 'agent.unloadFailed',
      to: 'unloadFailed',
      why: '§M1.4 Unloading → UnloadFailed on AgentEvent UNLOAD_FAILED',
    },
    {
      from: 'loadRequested',
      event: 'server.drain',
      to: 'unloaded',
      why: 'Documented difference (README: reserved memory of a load that never reached its agent is released; AgentDrain bounded): the pending load is cancelled. §M2.6 would leave LoadRequested alone (not yet in the loading set). Follows the machine',
    },
    {
      from: LOADEDISH,
      event: 'server.drain',
      to: 'draining',
      why: '§M1.4 any (in the replica’s loaded/loading set) → Draining on AgentDrain (§M2.6 step 1)',
    },
    // Deliberate difference (README): a replica already being unloaded ignores server.drain and
    // finishes its unload. By §M2.6 step 1 + §M2.4 it would become Draining, which is never sent
    // UNLOAD, so the agent's UNLOADED answer would be refused and the entry left Draining.
    {
      from: [
        ...LOADEDISH,
        'unloadEnvoyRequested',
        'unloadRequested',
        'unloading',
        'unloadFailed',
        'draining',
      ],
      event: 'server.replicaGone',
      to: 'unloaded',
      why: '§M1.4/§M2.5 step 2: server replica disconnected and the model is deleted or the version not latest → Unloaded ("model is removed when server replica was removed")',
    },
    {
      from: 'loadRequested',
      event: 'server.replicaGone',
      to: 'unloaded',
      why: 'Documented difference (reserved memory of a load that never reached its agent is released); §M2.5 would leave the LoadRequested entry dangling. Follows the machine',
    },
    {
      from: 'loadFailed',
      event: 'server.replicaGone',
      to: 'unloaded',
      why: 'Deliberate difference (README): the entry of a retiring version on a gone replica says Unloaded; §M2.5 step 2 would leave a dangling LoadFailed entry',
    },
    {
      from: [
        'unknown',
        'loadRequested',
        'loadFailed',
        'unloaded',
        'unloadFailed',
        'unloadEnvoyRequested',
        'unloadRequested',
        'unloading',
        ...LOADEDISH,
        'draining',
      ],
      event: 'agent.announced',
      to: 'loaded',
      why: '§M1.4 last row, §M2.3 step 4: an agent subscribing with the version in loadedModels sets its replica Loaded (a fresh, non-draining replica record)',
    },
  ],
});

// ─────────────────────────────── server (§M2.2, §M2.3, §M2.5) ───────────────────────────────────

export const serverTable = tableOf<ServerEvent>()({
  states: {
    declared:
      'no proto enum: known (ServerNotify, or created by a joining replica), no replica connected (§M2.2)',
    serving: 'no proto enum: at least one replica connected (§M2.3)',
    removed: 'no proto enum: its last replica disconnected, deleted from the store (§M2.5 step 1)',
  },
  initial: 'declared',
  // By §M2.2/§M2.5 a removed server is gone from the store: a later ServerNotify creates a new
  // server (a new actor), so `removed` takes no event.
  terminal: ['removed'],
  alphabet: [
    {
      type: 'operator.declared',
      at,
      declaration: {
        name: 's1',
        expectedReplicas: 2,
        minReplicas: 1,
        maxReplicas: 3,
        shared: true,
      },
    },
    {
      type: 'operator.declared',
      at,
      declaration: {
        name: 's1',
        expectedReplicas: 0,
        minReplicas: 0,
        maxReplicas: 0,
        shared: false,
      },
    },
    { type: 'agent.replicaJoined', at, shared: true },
    { type: 'agent.replicaJoined', at, shared: false },
    { type: 'agent.replicaLeft', at, remaining: 0 },
    { type: 'agent.replicaLeft', at, remaining: 1 },
  ],
  guards: {
    /** §M2.5 step 1: the server now has no replicas. */
    lastReplicaLeft: (e) => e.type === 'agent.replicaLeft' && e.remaining === 0,
  },
  rows: [
    ...stays(
      ['declared', 'serving'],
      'operator.declared',
      '§M2.2 ServerNotify overwrites expected/min/max replicas and kubernetesMeta (not shared); it never removes a server',
    ),
    {
      from: 'declared',
      event: 'agent.replicaJoined',
      to: 'serving',
      why: '§M2.3 step 3: Subscribe creates the replica record and sets server.shared from the request',
    },
    {
      from: 'serving',
      event: 'agent.replicaJoined',
      to: 'serving',
      why: '§M2.3 step 3: another replica; shared overwritten by the request',
    },
    {
      from: 'serving',
      event: 'agent.replicaLeft',
      guard: 'lastReplicaLeft',
      to: 'removed',
      why: '§M2.5 step 1: the server is deleted when its last replica disconnects (even if ServerNotify declared it, §M6 no. 47)',
    },
    // agent.replicaLeft with replicas remaining: only the replica record goes (§M2.5 step 1), the
    // server record is unchanged. In `declared` no replica can leave.
  ],
});

// ──────────────────────────── server replica (§M2.1, §M2.3, §M2.6) ──────────────────────────────

export const serverReplicaTable = tableOf<ServerReplicaEvent>()({
  states: {
    connected: 'no proto enum: its agent is subscribed, isDraining false (§M2.3 step 3)',
    draining:
      'no proto enum: isDraining, excluded from placement and from ServerStatus resources (§M2.6, §M2.4)',
  },
  initial: 'connected',
  // Disconnection removes the replica record (§M2.5 step 1): the actor stops, no state stands for it.
  terminal: [],
  alphabet: [
    { type: 'agent.memoryReported', at, availableMemoryBytes: 500 },
    { type: 'agent.memoryReported', at, availableMemoryBytes: 0 },
    { type: 'agent.drainRequested', at },
  ],
  guards: {},
  rows: [
    ...stays(
      ['connected', 'draining'],
      'agent.memoryReported',
      '§M2.4 availableMemoryBytes is the last agent-reported value, draining or not',
    ),
    {
      from: 'connected',
      event: 'agent.drainRequested',
      to: 'draining',
      why: '§M2.6 step 1: AgentDrain marks the replica isDraining (a second AgentDrain changes nothing)',
    },
  ],
});

// ───────────────────── pipeline version: PipelineVersionState.PipelineStatus (§P1.7) ─────────────

const RUNNING = ['create', 'creating', 'ready', 'failed'] as const;

export const pipelineVersionTable = tableOf<PipelineVersionEvent>()({
  states: {
    create: 'PipelineCreate = 1',
    creating: 'PipelineCreating = 2',
    ready: 'PipelineReady = 3',
    failed: 'PipelineFailed = 4',
    terminate: 'PipelineTerminate = 5',
    terminating: 'PipelineTerminating = 6',
    terminated: 'PipelineTerminated = 7',
  },
  initial: 'create',
  terminal: ['terminated'],
  alphabet: [
    { type: 'dataflow.createSent', at, reason: '' },
    { type: 'dataflow.reported', at, outcome: 'ready', reason: '1/1 ready ' },
    { type: 'dataflow.reported', at, outcome: 'failed', reason: '1/1 failed ' },
    { type: 'dataflow.reported', at, outcome: 'pending', reason: '1/2 ready ' },
    {
      type: 'dataflow.unavailable',
      at,
      reason: 'no dataflow engines available to handle pipeline',
    },
    { type: 'dataflow.deleteSent', at },
    { type: 'dataflow.deleted', at, reason: '1/1 terminated ' },
    { type: 'pipeline.unload', at, reason: 'pipeline removed' },
    { type: 'models.changed', ready: true },
    { type: 'models.changed', ready: false },
  ],
  guards: {
    /** §P1.7 counting: ≥1 Ready and none still unknown. */
    allReady: (e) => e.type === 'dataflow.reported' && e.outcome === 'ready',
    /** §P1.7 counting: all targeted engines failed. */
    allFailed: (e) => e.type === 'dataflow.reported' && e.outcome === 'failed',
  },
  rows: [
    {
      from: RUNNING,
      event: 'dataflow.createSent',
      to: 'creating',
      why: '§P1.7 Create → Creating when sent to ≥1 engine; any running → Creating ("Rebalance") on engine join/leave; Failed → Creating on the retry poller',
    },
    {
      from: ['creating', 'ready'],
      event: 'dataflow.reported',
      guard: 'allReady',
      to: 'ready',
      why: '§P1.7 Creating + acks: ≥1 Ready and none unknown → Ready; Ready + engine op Ready → Ready',
    },
    {
      from: ['creating', 'ready'],
      event: 'dataflow.reported',
      guard: 'allFailed',
      to: 'failed',
      why: '§P1.7 Creating + acks: all failed → Failed (also from Ready, "Failed if all failed")',
    },
    {
      from: ['creating', 'ready'],
      event: 'dataflow.reported',
      to: 'creating',
      why: '§P1.7 Creating + acks: otherwise Creating. Ready + engine op Rebalance → Rebalancing, which the seed enum lacks: Creating',
    },
    {
      from: RUNNING,
      event: 'dataflow.unavailable',
      to: 'create',
      why: '§P1.7 Create with no engine stays Create ("no dataflow engines available…"); any running with zero engines → Create',
    },
    {
      from: ['terminate', 'terminating'],
      event: 'dataflow.unavailable',
      to: 'terminated',
      why: '§P1.7 Terminate/Terminating + pipeline event with no engine → Terminated',
    },
    {
      from: [...RUNNING, 'terminate'],
      event: 'pipeline.unload',
      to: 'terminate',
      why: '§P1.7 UnloadPipeline → Terminate "pipeline removed" (§P1.10 incl. already Terminate); §P1.8 a newer version Ready → Terminate',
    },
    // pipeline.unload in terminating/terminated: §P1.10 FAILED_PRECONDITION ("still terminating",
    // "not found"), nothing changes.
    {
      from: 'terminate',
      event: 'dataflow.deleteSent',
      to: 'terminating',
      why: '§P1.7 Terminate + pipeline event with engines → Terminating, Delete sent',
    },
    {
      from: 'terminating',
      event: 'dataflow.deleteSent',
      to: 'terminating',
      why: '§P1.7 engine join/leave: "Terminating ones get a Delete instead"',
    },
    {
      from: 'terminating',
      event: 'dataflow.deleted',
      to: 'terminated',
      why: '§P1.7 Terminating + Delete acks: all targeted engines terminated → Terminated (the seed has no FailedTerminating)',
    },
    ...stays(
      [...RUNNING, 'terminate', 'terminating'],
      'models.changed',
      '§P1.9 modelsReady follows the step models (a flip publishes a pipeline event); the state is unchanged',
    ),
    // Deliberate difference: a terminated version is final, its modelsReady frozen. By §P1.9 and
    // quirk §P1.13 no. 6 a deleted pipeline's latest version keeps following its step models.
  ],
});

// ─────────────────────────────────── experiment (§P2.4–§P2.6) ───────────────────────────────────

export const experimentTable = tableOf<ExperimentEvent>()({
  states: {
    inactive:
      'no proto enum: running, active=false (route not built, §P2.5; first status after Start, §P2.3 step 4)',
    active: 'no proto enum: running, active=true, statusDescription "experiment active" (§P2.5)',
    stopped: 'no proto enum: StopExperiment, deleted, active=false (§P2.6)',
  },
  initial: 'inactive',
  // A re-started experiment is a new actor (§P2.3 step 3 replaces the entry).
  terminal: ['stopped'],
  alphabet: [
    ...product({
      candidatesReady: [false, true],
      mirrorReady: [false, true],
      routeError: [undefined, 'no live replica for model iris2 for model route e.experiment'],
    }).map((p): ExperimentEvent => ({ type: 'resources.evaluated', ...p })),
    { type: 'experiment.stop' },
  ],
  guards: {
    /** §P2.5: the route `<exp>.experiment` could be built. */
    routeBuilt: (e) => e.type === 'resources.evaluated' && e.routeError === undefined,
  },
  rows: [
    {
      from: ['inactive', 'active'],
      event: 'resources.evaluated',
      guard: 'routeBuilt',
      to: 'active',
      why: '§P2.5 success → SetStatus(true, "experiment active"); §P2.4 readiness recomputed on every referenced change',
    },
    {
      from: ['inactive', 'active'],
      event: 'resources.evaluated',
      to: 'inactive',
      why: '§P2.5 failure → SetStatus(false, <error text>), e.g. "no live replica for model …"',
    },
    {
      from: ['inactive', 'active'],
      event: 'experiment.stop',
      to: 'stopped',
      why: '§P2.6 StopExperiment → deleted, active=false; references dropped, so no further readiness events; SetStatus refuses active=true',
    },
  ],
});

/** Every table, keyed like `machines` in src/actors/index.ts. */
export const tables = {
  modelVersion: modelVersionTable,
  modelReplica: modelReplicaTable,
  server: serverTable,
  serverReplica: serverReplicaTable,
  pipelineVersion: pipelineVersionTable,
  experiment: experimentTable,
} as const;
