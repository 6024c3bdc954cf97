/**
 * Model-based test of the whole scheduler (issue 5). fast-check generates client commands (LoadModel
 * with new and changed specs, UnloadModel, ServerNotify, pipelines, experiments), agents and engines
 * joining, leaving and draining, the clock, and scheduler restarts from the store; `fc.scheduler`
 * decides when each agent and dataflow reply arrives, interleaved with the commands. A small reference
 * model holds what clients asked for. After every command and every reply the invariants are checked.
 *
 *   FC_NUM_RUNS=3000 node --import tsx --test test/property/system.prop.test.ts   (a long run)
 *   FC_SEED=… FC_PATH=… FC_REPLAY=… node --import tsx --test test/property/system.prop.test.ts
 *     replays a failure: seed and path as printed, FC_REPLAY the commands' `replayPath`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ExperimentDefinition } from '../../src/domain/experiment.js';
import type { ModelDefinition } from '../../src/domain/model.js';
import { Cluster, OVERCOMMIT, refusable } from '../support/cluster.js';
import { fcParams, replayPath } from '../support/fc.js';
import { def, pipe } from '../support/system.js';

const servers = ['a', 'b'] as const;
/** Server b cannot run xgboost models: placement has to filter by requirements. */
const CAPABILITIES: Record<string, string[]> = { a: ['sklearn', 'xgboost'], b: ['sklearn'] };
const modelNames = ['m1', 'm2', 'm3', 'm4'] as const;
const pipelineNames = ['p1', 'p2'] as const;
const experimentNames = ['e1', 'e2'] as const;
const engineNames = ['df-0', 'df-1'] as const;
const DRAIN_TIMEOUT_MS = 1000;
const RECONNECT_GRACE_MS = 2000;

/** Step graphs a pipeline may have (step name → inputs); steps run the models of the same name. */
const PIPELINES: Record<string, string[]>[] = [
  { m1: [], m2: ['m1'] },
  { m2: [] },
  { m3: [], m4: ['m3.outputs.t'] },
];
/** Experiments: over models, with a default and a mirror, or over the pipelines. */
const EXPERIMENTS: Omit<ExperimentDefinition, 'name'>[] = [
  {
    candidates: [
      { name: 'm1', weight: 1 },
      { name: 'm2', weight: 1 },
    ],
    default: 'm1',
    resourceType: 'model',
  },
  {
    candidates: [{ name: 'm3', weight: 1 }],
    mirror: { name: 'm4', percent: 10 },
    resourceType: 'model',
  },
  {
    candidates: [
      { name: 'p1', weight: 1 },
      { name: 'p2', weight: 1 },
    ],
    default: 'p1',
    resourceType: 'pipeline',
  },
];

/** What clients asked for: the reference the scheduler's answers are compared with. */
interface Model {
  models: Map<string, { definition: ModelDefinition; deleted: boolean }>;
  pipelines: Map<string, { variant: number; deleted: boolean }>;
  experiments: Map<string, { variant: number; stopped: boolean }>;
  servers: Map<string, number>;
}

const newModel = (): Model => ({
  models: new Map(),
  pipelines: new Map(),
  experiments: new Map(),
  servers: new Map(),
});

/** One step; its label is the code that builds it, so a counterexample can be pasted as a regression. */
class Cmd implements fc.AsyncCommand<Model, Cluster> {
  constructor(
    private readonly label: string,
    private readonly apply: (m: Model, c: Cluster) => void,
  ) {}
  check(): boolean {
    return true;
  }
  run(m: Model, c: Cluster): Promise<void> {
    c.act(() => {
      this.apply(m, c);
    });
    return Promise.resolve();
  }
  toString(): string {
    return this.label;
  }
}

const label = (name: string, ...args: unknown[]) =>
  `${name}(${args.map((a) => JSON.stringify(a)).join(', ')})`;

/** Everything a client or an agent could observe, to show that a command changed nothing. */
function observable(c: Cluster): unknown {
  return { views: c.world.views(), records: c.world.records(), ops: c.pendingOps().length };
}

/**
 * Runs a client command; when `twice`, runs it again at once and checks the repeat changed nothing.
 * A refusal (FAILED_PRECONDITION) must change nothing either. @returns whether it was accepted.
 */
function client(c: Cluster, twice: boolean, fn: () => void): boolean {
  const before = observable(c);
  const accepted = refusable(fn);
  if (!accepted) assert.deepEqual(observable(c), before, 'a refused command changed something');
  if (twice) {
    const after = observable(c);
    const again = refusable(fn);
    assert.equal(again, accepted, 'a repeated command got another answer');
    assert.deepEqual(observable(c), after, 'a repeated command changed something');
  }
  return accepted;
}

// ───────────────────────────── commands ─────────────────────────────

export const join = (server: string, idx: number, memory: number) =>
  new Cmd(label('join', server, idx, memory), (_, c) => {
    c.join(server, idx, memory, CAPABILITIES[server] ?? []);
  });

export const leave = (server: string, idx: number) =>
  new Cmd(label('leave', server, idx), (_, c) => {
    c.leave(server, idx);
  });

export const drain = (server: string, idx: number) =>
  new Cmd(label('drain', server, idx), (_, c) => {
    void c.system.drain(server, idx);
  });

interface LoadArgs {
  replicas: number;
  minReplicas: number;
  memory: number;
  uri: number;
  xgboost?: boolean;
  twice?: boolean;
}

export const load = (name: string, a: LoadArgs) =>
  new Cmd(label('load', name, a), (m, c) => {
    const d = def(name, {
      replicas: a.replicas,
      minReplicas: Math.min(a.minReplicas, a.replicas),
      memory: a.memory,
      uri: `gs://${name}/${a.uri}`,
      requirements: [a.xgboost ? 'xgboost' : 'sklearn'],
    });
    const known = m.models.get(name);
    const accepted = client(c, a.twice ?? false, () => {
      c.system.loadModel(d);
    });
    // Only a model still winding down after UnloadModel may refuse a new definition.
    if (!accepted) assert.equal(known?.deleted, true, `LoadModel ${name} refused`);
    if (accepted) m.models.set(name, { definition: d, deleted: false });
  });

export const unload = (name: string, twice = false) =>
  new Cmd(label('unload', name, twice), (m, c) => {
    const known = m.models.get(name);
    const accepted = client(c, twice, () => {
      c.system.unloadModel(name);
    });
    assert.equal(
      accepted,
      known !== undefined,
      `UnloadModel ${name} accepted: ${String(accepted)}`,
    );
    if (known) known.deleted = true;
  });

export const serverNotify = (server: string, expectedReplicas: number, twice = false) =>
  new Cmd(label('serverNotify', server, expectedReplicas, twice), (m, c) => {
    client(c, twice, () => {
      c.system.serverNotify([
        { name: server, expectedReplicas, minReplicas: 0, maxReplicas: 0, shared: true },
      ]);
    });
    m.servers.set(server, expectedReplicas);
  });

export const tick = (ms: number) =>
  new Cmd(label('tick', ms), (_, c) => {
    c.world.advance(ms);
  });

export const restart = (reconnect: boolean) =>
  new Cmd(label('restart', reconnect), (_, c) => {
    c.restart(reconnect);
  });

export const pipelineLoad = (name: string, variant: number, twice = false) =>
  new Cmd(label('pipelineLoad', name, variant, twice), (m, c) => {
    const accepted = client(c, twice, () => {
      c.system.loadPipeline(pipe(name, PIPELINES[variant] ?? {}));
    });
    assert.ok(accepted, `LoadPipeline ${name} refused`);
    m.pipelines.set(name, { variant, deleted: false });
  });

export const pipelineUnload = (name: string) =>
  new Cmd(label('pipelineUnload', name), (m, c) => {
    const p = m.pipelines.get(name);
    const accepted = client(c, false, () => {
      c.system.unloadPipeline(name);
    });
    if (accepted) assert.equal(p?.deleted, false, `UnloadPipeline ${name} accepted twice`);
    if (p && accepted) p.deleted = true;
  });

export const experimentStart = (name: string, variant: number, twice = false) =>
  new Cmd(label('experimentStart', name, variant, twice), (m, c) => {
    const e = EXPERIMENTS[variant];
    if (!e) return;
    // A baseline belongs to one running experiment of its resource type.
    const clash = [...m.experiments].some(([other, x]) => {
      const o = EXPERIMENTS[x.variant];
      return (
        other !== name &&
        !x.stopped &&
        e.default !== undefined &&
        o?.resourceType === e.resourceType &&
        o.default === e.default
      );
    });
    const accepted = client(c, twice, () => {
      c.system.startExperiment({ ...e, name });
    });
    assert.equal(accepted, !clash, `StartExperiment ${name} accepted: ${String(accepted)}`);
    if (accepted) m.experiments.set(name, { variant, stopped: false });
  });

export const experimentStop = (name: string) =>
  new Cmd(label('experimentStop', name), (m, c) => {
    const e = m.experiments.get(name);
    const accepted = client(c, false, () => {
      c.system.stopExperiment(name);
    });
    assert.equal(accepted, e !== undefined, `StopExperiment ${name} accepted: ${String(accepted)}`);
    if (e) e.stopped = true;
  });

export const engineJoin = (engine: string) =>
  new Cmd(label('engineJoin', engine), (_, c) => {
    c.engineJoin(engine);
  });

export const engineLeave = (engine: string) =>
  new Cmd(label('engineLeave', engine), (_, c) => {
    c.engineLeave(engine);
  });

/** Regressions only: answer the pending agent op at `pick` (the property lets fc.scheduler choose). */
export const answer = (pick: number, ok: boolean) =>
  new Cmd(label('answer', pick, ok), (_, c) => {
    c.answerAgent(pick, ok);
  });

export const answerEngine = (pick: number, ok: boolean) =>
  new Cmd(label('answerEngine', pick, ok), (_, c) => {
    c.answerEngine(pick, ok);
  });

const server = fc.constantFrom(...servers);
const idx = fc.integer({ min: 0, max: 2 });
const commands = [
  fc.tuple(server, idx, fc.constantFrom(300, 1000)).map(([s, i, mem]) => join(s, i, mem)),
  fc.tuple(server, idx).map(([s, i]) => leave(s, i)),
  fc.tuple(server, idx).map(([s, i]) => drain(s, i)),
  fc
    .tuple(
      fc.constantFrom(...modelNames),
      fc.record({
        replicas: fc.integer({ min: 1, max: 3 }),
        minReplicas: fc.integer({ min: 0, max: 2 }),
        memory: fc.constantFrom(0, 100, 200, 400),
        uri: fc.integer({ min: 0, max: 1 }),
        xgboost: fc.boolean(),
        twice: fc.boolean(),
      }),
    )
    .map(([n, a]) => load(n, a)),
  fc.tuple(fc.constantFrom(...modelNames), fc.boolean()).map(([n, twice]) => unload(n, twice)),
  fc
    .tuple(server, fc.integer({ min: 0, max: 3 }), fc.boolean())
    .map(([s, n, twice]) => serverNotify(s, n, twice)),
  fc.constantFrom(500, 5000, 60_000).map(tick),
  fc.boolean().map(restart),
  fc
    .tuple(fc.constantFrom(...pipelineNames), fc.nat({ max: PIPELINES.length - 1 }), fc.boolean())
    .map(([n, v, twice]) => pipelineLoad(n, v, twice)),
  fc.constantFrom(...pipelineNames).map(pipelineUnload),
  fc
    .tuple(
      fc.constantFrom(...experimentNames),
      fc.nat({ max: EXPERIMENTS.length - 1 }),
      fc.boolean(),
    )
    .map(([n, v, twice]) => experimentStart(n, v, twice)),
  fc.constantFrom(...experimentNames).map(experimentStop),
  fc.constantFrom(...engineNames).map(engineJoin),
  fc.constantFrom(...engineNames).map(engineLeave),
];

// ───────────────────────────── invariants ─────────────────────────────

/**
 * Replica states placement keeps a version in: requested, loading or serving. Draining replicas
 * (their server replica is leaving) and unloading ones are winding down.
 */
const PLACED = ['loadRequested', 'loading', 'loaded', 'available', 'loadedUnavailable'];

/** The scheduler answers what clients asked for. */
function checkAgainstModel(m: Model, c: Cluster): void {
  const real = new Map(c.system.listModels(false).map((v) => [v.name, v]));
  for (const [name, want] of m.models) {
    const got = real.get(name);
    if (!got) {
      // Deleted models are forgotten once their TTL expires.
      assert.ok(want.deleted, `model ${name} is missing`);
      m.models.delete(name);
      continue;
    }
    assert.equal(got.deleted, want.deleted, `model ${name} deleted`);
    if (!want.deleted) {
      assert.deepEqual(got.versions[0]?.definition, want.definition, `model ${name} definition`);
    }
  }
  for (const name of real.keys()) assert.ok(m.models.has(name), `unknown model ${name} listed`);
  for (const p of c.system.listPipelines(false)) {
    const want = m.pipelines.get(p.name);
    assert.ok(want, `unknown pipeline ${p.name} listed`);
    assert.equal(p.deleted, want.deleted, `pipeline ${p.name} deleted`);
    const steps = Object.keys(PIPELINES[want.variant] ?? {});
    if (!want.deleted) {
      assert.deepEqual(
        p.versions[0]?.definition.steps.map((s) => s.name),
        steps,
        `pipeline ${p.name} steps`,
      );
    }
  }
  for (const e of c.system.listExperiments()) {
    const want = m.experiments.get(e.definition.name);
    assert.ok(want, `unknown experiment ${e.definition.name} listed`);
    assert.equal(e.deleted, want.stopped, `experiment ${e.definition.name} stopped`);
  }
  const listed = new Map(c.system.listServers().map((s) => [s.name, s]));
  for (const [name, want] of m.servers) {
    const s = listed.get(name);
    // As in the reference, a server is forgotten, declaration and all, when its last replica leaves.
    if (s) assert.equal(s.expectedReplicas, want, `server ${name} expectedReplicas`);
    else m.servers.delete(name);
  }
}

/** No agent ever holds more than its memory plus over-commit. */
function checkAgents(c: Cluster): void {
  for (const a of c.agents.values()) {
    const cap = Math.floor(a.memory * (1 + OVERCOMMIT / 100));
    const used = [...a.held.values()].reduce((s, h) => s + h.memory, 0);
    const held = [...a.held.keys()].join(',');
    assert.ok(used <= cap, `${a.server}/${a.idx} holds ${used} > ${cap} (${held})`);
  }
}

function checkModels(c: Cluster): void {
  const listed = new Set(
    c.system.listServers().flatMap((s) => s.replicas.map((r) => `${s.name}/${r.idx}`)),
  );
  for (const key of listed) {
    const [s = '', i = ''] = key.split('/');
    const waiting = c.world.now < c.restartedAt + RECONNECT_GRACE_MS;
    assert.ok(c.connected(s, Number(i)) || waiting, `${key} listed but its agent is gone`);
  }
  for (const m of c.system.listModels(true)) {
    const latest = m.versions.at(-1);
    if (!latest || m.deleted) continue;
    const d = latest.definition.deployment;
    const want = d?.replicas ?? 0;
    assert.ok(latest.availableReplicas <= want, `${m.name}: ${latest.availableReplicas} > ${want}`);
    if (latest.state === 'available') {
      const avail = latest.replicas.filter((r) => r.state === 'available').length;
      const min = Math.max(1, d?.minReplicas ?? 0);
      assert.ok(avail >= min, `${m.name} is ModelAvailable with ${avail} of ${min} replicas`);
    }
    const placed = m.versions.filter((v) => v.replicas.some((r) => PLACED.includes(r.state)));
    // The last available version and the latest; the ones between only wind down.
    const show = (v: (typeof placed)[number]) =>
      `${v.version}@${v.server}[${v.replicas.map((r) => `${r.idx}:${r.state}`).join()}]`;
    assert.ok(placed.length <= 2, `${m.name}: ${placed.map(show).join(' ')} placed`);
    for (const v of m.versions) {
      for (const r of v.replicas) {
        if (!PLACED.includes(r.state) && r.state !== 'draining') continue;
        const key = `${v.server}/${r.idx}`;
        assert.ok(listed.has(key), `${m.name}:${v.version} ${r.state} on unlisted ${key}`);
      }
    }
  }
}

function checkPipelinesAndExperiments(c: Cluster): void {
  const models = new Map(c.system.listModels(true).map((m) => [m.name, m.versions]));
  const anyAvailable = (m: string) => (models.get(m) ?? []).some((v) => v.state === 'available');
  const latestState = (m: string) => models.get(m)?.at(-1)?.state;
  for (const p of c.system.listPipelines(true)) {
    const ready = p.versions.filter((v) => v.state === 'ready').length;
    assert.ok(ready <= 1, `${p.name}: ${ready} versions ready`);
    for (const v of p.versions) {
      if (v.state === 'terminated') continue;
      const want = v.definition.steps.every((s) => anyAvailable(s.name));
      assert.equal(v.modelsReady, want, `${p.name}:${v.version} modelsReady ${v.modelsReady}`);
    }
  }
  for (const p of c.system.listPipelines(false)) {
    const latest = p.versions[0];
    const retiring = ['terminate', 'terminating', 'terminated'].includes(latest?.state ?? '');
    assert.ok(p.deleted || !retiring, `${p.name}: latest version ${latest?.state} while loaded`);
  }
  const pipelineReady = (name: string) =>
    c.system.pipeline(name, false)?.versions[0]?.state === 'ready';
  for (const e of c.system.listExperiments()) {
    if (e.deleted) continue;
    const d = e.definition;
    const ready = (n: string) =>
      d.resourceType === 'model' ? latestState(n) === 'available' : pipelineReady(n);
    const candidates = d.candidates.every((x) => ready(x.name));
    assert.equal(e.candidatesReady, candidates, `${d.name} candidatesReady`);
    assert.equal(e.mirrorReady, d.mirror === undefined || ready(d.mirror.name), `${d.name} mirror`);
  }
}

/**
 * The explanation of every model agrees with what placement did: a ScheduleFailed version fails
 * for the reason it states, and a placed one is explained on its server and the replicas it holds.
 */
function checkExplanations(c: Cluster): void {
  for (const name of c.system.modelNames()) {
    const e = c.system.explainModel(name);
    const result = e?.placement?.result;
    // After a restart, until the agents are back, a model's state may predate the restart.
    if (!e || !result || e.awaitingAgents.length > 0) continue;
    explanationsChecked++;
    for (const server of e.placement.servers) {
      for (const by of [server.rejectedBy, ...server.replicas.map((r) => r.rejectedBy)]) {
        if (by !== undefined) verdictsReached.set(by, (verdictsReached.get(by) ?? 0) + 1);
      }
    }
    const where = `${name}:${e.version} ${e.state} on ${e.server}[${e.replicas.join()}]`;
    if (e.state === 'scheduleFailed') {
      assert.deepEqual(result, { ok: false, reason: e.reason }, `${where}: explained as placed`);
    } else if (
      e.replicas.length > 0 &&
      e.retryDueAt === undefined &&
      e.state !== 'failed' &&
      e.stays === undefined
    ) {
      // (A version whose load failed waits for its retry, which places it again; one that stays
      // where placement would no longer put it says why.)
      if (!result.ok) {
        // Placement cannot give it all it wants: it keeps what it has and waits for capacity.
        assert.ok(
          e.replicas.length < e.wantedReplicas,
          `${where}: explained as failing (${result.reason}) with all ${e.wantedReplicas} replicas`,
        );
        continue;
      }
      assert.equal(result.server, e.server, `${where}: explained on another server`);
      assert.deepEqual(
        [...result.replicaIdxs].sort((a, b) => a - b),
        e.replicas,
        `${where}: explained on other replicas`,
      );
    }
  }
}

function checkAll(m: Model, c: Cluster): void {
  checkAgainstModel(m, c);
  checkAgents(c);
  checkModels(c);
  checkPipelinesAndExperiments(c);
  checkExplanations(c);
  assert.deepEqual(c.system.audit(), [], 'indexes kept for speed agree with what they index');
}

/**
 * Once every agent and engine has answered: deletions are done, each version is loaded on one server
 * (an agent that returns late may bring a copy of a version placed elsewhere meanwhile; it is
 * unloaded), and nothing waits.
 */
function checkQuiet(c: Cluster): void {
  const deleted = new Set(
    c.system
      .listModels(false)
      .filter((m) => m.deleted)
      .map((m) => m.name),
  );
  const serverOf = new Map<string, string>();
  for (const a of c.agents.values()) {
    for (const h of a.held.values()) {
      const name = h.definition.meta.name;
      const id = `${name}:${h.version}`;
      assert.ok(!deleted.has(name), `deleted ${id} still loaded on ${a.server}`);
      const other = serverOf.get(id) ?? a.server;
      assert.equal(other, a.server, `${id} is loaded on servers ${other} and ${a.server}`);
      serverOf.set(id, a.server);
    }
  }
  for (const p of c.system.listPipelines(true)) {
    for (const v of p.versions) {
      const waiting = ['creating', 'terminate', 'terminating'].includes(v.state);
      const unsent = v.state === 'create' && c.engines.size > 0;
      assert.ok(!waiting && !unsent, `${p.name}:${v.version} still ${v.state} (${v.reason})`);
    }
  }
}

function newCluster(m: Model, o: Partial<ConstructorParameters<typeof Cluster>[0]> = {}) {
  return new Cluster(
    { drainTimeoutMs: DRAIN_TIMEOUT_MS, reconnectGraceMs: RECONNECT_GRACE_MS, ...o },
    (c) => {
      checkAll(m, c);
    },
  );
}

/** After the commands: everything answered, invariants hold, and a restart changes nothing. */
function finish(m: Model, c: Cluster): void {
  c.rethrow();
  c.quiesce();
  // Agents and engines that did not come back after a restart are given up on; then the agents
  // return late, with whatever they still hold.
  c.act(() => {
    c.world.advance(RECONNECT_GRACE_MS);
  });
  c.act(() => {
    c.rejoinAgents();
  });
  c.quiesce();
  checkAll(m, c);
  checkQuiet(c);
  c.restart(true);
  checkAll(m, c);
}

/** Runs hand-written steps in order (regressions): agents answer only through `answer(...)`. */
export async function runSteps(steps: readonly Cmd[]): Promise<void> {
  const m = newModel();
  const c = newCluster(m);
  for (const s of steps) await s.run(m, c);
  finish(m, c);
}

let commandsRun = 0;
let explanationsChecked = 0;
/** How often each filter's rejection was explained (which filters the property reaches). */
const verdictsReached = new Map<string, number>();

describe('scheduler against its reference model', () => {
  it('keeps its invariants after every command and reply, in any interleaving', async (t) => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.commands(commands, { maxCommands: 80, size: 'max', ...replayPath() }),
        fc.infiniteStream(fc.nat({ max: 3 })),
        async (s, cmds, outcomes) => {
          const results = outcomes[Symbol.iterator]();
          const m = newModel();
          const c = newCluster(m, {
            onOp: (deliver, what) => {
              void s.schedule(Promise.resolve(what), what).then(deliver);
            },
            // One reply in four fails.
            outcome: () => results.next().value !== 0,
          });
          await fc.scheduledModelRun(s, () => ({ model: m, real: c }), cmds);
          commandsRun += [...cmds].length;
          finish(m, c);
        },
      ),
      fcParams(),
    );
    const reached = [...verdictsReached].map(([by, n]) => `${by} ${n}`).join(', ');
    t.diagnostic(
      `${commandsRun} commands run, ${explanationsChecked} explanations checked; ` +
        `rejections explained: ${reached}`,
    );
  });
});

/** Shrunk counterexamples the property found (issues 2 and 5), kept as regressions. */
describe('regressions found by the property', () => {
  it('ScheduleFailed never reports more available replicas than wanted (several draining replicas)', async () => {
    const m1 = { replicas: 1, minReplicas: 0, memory: 0, uri: 0 };
    await runSteps([
      load('m1', m1),
      join('b', 0, 300),
      drain('b', 0),
      join('b', 1, 300),
      join('a', 1, 300),
      drain('a', 1),
      drain('b', 1),
      leave('a', 1),
      unload('m1'),
      join('a', 0, 300),
      answer(0, true),
      leave('a', 0),
      unload('m1'),
      load('m1', m1),
      answer(0, false),
      unload('m1'),
      tick(500),
      unload('m1'),
    ]);
  });

  it('a deleted model is not re-created while an old version still unloads (its reservation held)', async () => {
    const small = { replicas: 1, minReplicas: 0, memory: 200, uri: 0 };
    const none = { replicas: 1, minReplicas: 0, memory: 0, uri: 0 };
    await runSteps([
      join('a', 0, 300),
      load('m3', small),
      load('m1', small),
      load('m3', { ...none, replicas: 2 }),
      unload('m3'),
      load('m3', small),
      answer(0, false),
      answer(1308517599, false),
      answer(0, true),
      join('a', 0, 300),
      answer(0, true),
      join('a', 0, 300),
      load('m1', none),
      load('m1', none),
      answer(0, false),
      unload('m1'),
      load('m1', none),
      load('m1', none),
      join('a', 0, 300),
    ]);
  });

  it('a failed placement keeps a version whose replica is still unloading (reservation held)', async () => {
    const m2 = { replicas: 2, minReplicas: 0, memory: 200, uri: 1 };
    const small = { replicas: 1, minReplicas: 0, memory: 200, uri: 0 };
    const none = { replicas: 1, minReplicas: 0, memory: 0, uri: 0 };
    await runSteps([
      join('a', 1, 1000),
      load('m2', m2),
      join('a', 0, 300),
      load('m2', { ...m2, replicas: 1 }),
      load('m1', small),
      leave('a', 1),
      answer(0, true),
      join('a', 0, 300),
      load('m1', none),
      answer(574839175, true),
      unload('m1'),
      leave('a', 0),
      load('m1', none),
      answer(0, false),
      join('a', 0, 300),
      answer(0, false),
      answer(0, false),
    ]);
  });

  // Issue 5: found by the model-based property; each failed before its fix.
  const one = { replicas: 1, minReplicas: 0, memory: 0, uri: 0 };

  it('a drained replica of a server declared with 0 replicas does not count after a restart', async () => {
    await runSteps([
      join('a', 2, 300),
      load('m1', one),
      answer(0, true),
      join('a', 0, 300),
      drain('a', 2),
      answer(0, true),
      serverNotify('a', 0),
      restart(true),
    ]);
  });

  it('the reconnect grace runs out after a restart even when no command follows', async () => {
    await runSteps([join('a', 0, 300), restart(false), tick(5000)]);
  });

  it('a replica rejoining its server does not end the server (ServerNotify still applies)', async () => {
    await runSteps([join('b', 0, 300), restart(false), join('b', 0, 300), serverNotify('b', 0)]);
  });

  it('an older pipeline version becoming ready does not retire the newer one', async () => {
    await runSteps([
      pipelineLoad('p2', 1),
      pipelineLoad('p2', 0),
      engineJoin('df-0'),
      answerEngine(0, true),
    ]);
  });

  it('a version created while engines are away waits, then says so after the grace', async () => {
    await runSteps([
      engineJoin('df-0'),
      pipelineLoad('p2', 1),
      restart(false),
      pipelineLoad('p1', 0),
    ]);
  });

  it('replicas kept from before a rejoin count on their server replica (restore is exact)', async () => {
    await runSteps([
      load('m4', one),
      join('a', 0, 300),
      answer(0, true),
      load('m4', { ...one, replicas: 2, uri: 1 }),
      restart(true),
      restart(false),
    ]);
    await runSteps([
      load('m4', one),
      join('a', 0, 300),
      answer(0, true),
      restart(false),
      load('m4', { ...one, replicas: 2, memory: 200 }),
      tick(500),
    ]);
  });

  it('a rolling update reports Available only with minReplicas replicas Available', async () => {
    await runSteps([
      join('a', 0, 300),
      load('m4', { ...one, minReplicas: 1 }),
      answer(0, true),
      join('a', 1, 300),
      load('m4', { replicas: 2, minReplicas: 2, memory: 200, uri: 0 }),
      answer(0, true),
    ]);
  });

  it('an agent back after the grace unloads its copy of a version placed elsewhere meanwhile', async () => {
    await runSteps([
      join('b', 0, 300),
      load('m1', one),
      answer(0, true),
      restart(false),
      tick(5000),
      join('a', 0, 300),
      answer(0, true),
    ]);
  });

  it("an agent's copy of a deleted incarnation does not become the model's latest version", async () => {
    await runSteps([
      join('a', 0, 300),
      load('m1', one),
      load('m1', { ...one, memory: 100 }),
      answer(0, true),
      answer(0, true),
      answer(0, true),
      restart(false),
      unload('m1'),
      load('m1', one),
    ]);
  });

  it('a version between the serving one and the latest is unloaded at once', async () => {
    await runSteps([
      join('a', 0, 1000),
      join('a', 1, 1000),
      load('m1', one),
      answer(0, true),
      load('m1', { ...one, uri: 1 }),
      load('m1', { ...one, replicas: 2, memory: 200 }),
      answer(0, true),
      answer(0, true),
    ]);
  });

  it('an agent back within the grace does not leave a version with more replicas than wanted', async () => {
    await runSteps([
      load('m4', { ...one, memory: 200, xgboost: true }),
      join('a', 0, 300),
      answer(0, true),
      join('a', 1, 300),
      drain('a', 0),
      answer(0, true),
      restart(false),
      join('a', 0, 300),
    ]);
  });

  it('a refused agent report still stores the free memory it brought', async () => {
    await runSteps([
      load('m1', { ...one, memory: 100 }),
      join('a', 0, 300),
      drain('a', 0),
      answer(0, true),
      restart(false),
    ]);
  });

  it('a retry that is no longer due is stored as such', async () => {
    await runSteps([
      join('a', 0, 300),
      load('m1', one),
      answer(0, false),
      leave('a', 0),
      tick(5000),
      restart(false),
    ]);
  });
});
