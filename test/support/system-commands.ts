/**
 * The whole-system property's reference model and its commands: what clients asked for (`Model`),
 * the small world the commands range over (servers a and b, models m1–m4, pipelines, experiments,
 * dataflow engines), each command as code that prints as itself (so a shrunk counterexample pastes
 * as a regression), and the fast-check arbitraries that generate them.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ExperimentDefinition } from '../../src/domain/experiment.js';
import type { ModelDefinition } from '../../src/domain/model.js';
import { refusable, type Cluster } from './cluster.js';
import { def, pipe } from './system.js';

const servers = ['a', 'b'] as const;
/** Server b cannot run xgboost models: placement has to filter by requirements. */
const CAPABILITIES: Record<string, string[]> = { a: ['sklearn', 'xgboost'], b: ['sklearn'] };
const modelNames = ['m1', 'm2', 'm3', 'm4'] as const;
const pipelineNames = ['p1', 'p2'] as const;
const experimentNames = ['e1', 'e2'] as const;
const engineNames = ['df-0', 'df-1'] as const;

/** Step graphs a pipeline may have (step name → inputs); steps run the models of the same name. */
export const PIPELINES: Record<string, string[]>[] = [
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
export interface Model {
  models: Map<string, { definition: ModelDefinition; deleted: boolean }>;
  pipelines: Map<string, { variant: number; deleted: boolean }>;
  experiments: Map<string, { variant: number; stopped: boolean }>;
  servers: Map<string, number>;
}

/** A reference with nothing asked for yet. */
export const newModel = (): Model => ({
  models: new Map(),
  pipelines: new Map(),
  experiments: new Map(),
  servers: new Map(),
});

/** One step; its label is the code that builds it, so a counterexample can be pasted as a regression. */
export class Cmd implements fc.AsyncCommand<Model, Cluster> {
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
/** Every command the property draws from, with its arguments drawn from the small world above. */
export const commands = [
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
