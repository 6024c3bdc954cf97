/**
 * Random interleavings of client commands, agents joining, leaving and draining, and agent replies
 * (successes and failures in any order), against the real supervisor with agents that hold memory
 * for what they load. Invariants are checked after every step. FC_NUM_RUNS scales the runs; a failure
 * prints the seed and path that reproduce it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isSchedulerError } from '../../src/domain/errors.js';
import { requiredMemory } from '../../src/domain/model.js';
import type { ExperimentDefinition } from '../../src/domain/experiment.js';
import { def, pipe, TestWorld } from '../support/system.js';

const NUM_RUNS = Number(process.env['FC_NUM_RUNS'] ?? 100);
const OVERCOMMIT = 10;
const servers = ['a', 'b'] as const;
const models = ['m1', 'm2', 'm3', 'm4'] as const;

type Command =
  | { kind: 'join'; server: string; idx: number; memory: number }
  | { kind: 'leave'; server: string; idx: number }
  | { kind: 'drain'; server: string; idx: number }
  | {
      kind: 'load';
      name: string;
      replicas: number;
      minReplicas: number;
      memory: number;
      uri: number;
    }
  | { kind: 'unload'; name: string }
  | { kind: 'reply'; pick: number; ok: boolean }
  | { kind: 'tick'; ms: number }
  | { kind: 'pipelineLoad'; name: string; variant: number }
  | { kind: 'pipelineUnload'; name: string }
  | { kind: 'experimentStart'; name: string; variant: number }
  | { kind: 'experimentStop'; name: string }
  | { kind: 'engineJoin'; engine: string }
  | { kind: 'engineLeave'; engine: string }
  | { kind: 'engineReply'; pick: number; ok: boolean };

const pipelineNames = ['p1', 'p2'] as const;
/** Step graphs a pipeline may have (step name → inputs); steps run the models of the same name. */
const PIPELINES: Record<string, string[]>[] = [
  { m1: [], m2: ['m1'] },
  { m2: [] },
  { m3: [], m4: ['m3.outputs.t'] },
];
const experimentNames = ['e1', 'e2'] as const;
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
const engine = fc.constantFrom('df-0', 'df-1');

const server = fc.constantFrom(...servers);
const idx = fc.integer({ min: 0, max: 2 });
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('join' as const),
      server,
      idx,
      memory: fc.constantFrom(300, 1000),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), server, idx }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drain' as const), server, idx }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('load' as const),
      name: fc.constantFrom(...models),
      replicas: fc.integer({ min: 1, max: 3 }),
      minReplicas: fc.integer({ min: 0, max: 1 }),
      memory: fc.constantFrom(0, 100, 200, 400),
      uri: fc.integer({ min: 0, max: 1 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('unload' as const),
      name: fc.constantFrom(...models),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('reply' as const), pick: fc.nat(), ok: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      ms: fc.constantFrom(500, 5000, 60_000),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('pipelineLoad' as const),
      name: fc.constantFrom(...pipelineNames),
      variant: fc.nat({ max: PIPELINES.length - 1 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('pipelineUnload' as const),
      name: fc.constantFrom(...pipelineNames),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('experimentStart' as const),
      name: fc.constantFrom(...experimentNames),
      variant: fc.nat({ max: EXPERIMENTS.length - 1 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('experimentStop' as const),
      name: fc.constantFrom(...experimentNames),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('engineJoin' as const), engine }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('engineLeave' as const), engine }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('engineReply' as const),
      pick: fc.nat(),
      ok: fc.boolean(),
    }),
  },
);

/** Runs a command the scheduler may refuse with FAILED_PRECONDITION (and nothing else). */
function refusable(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!isSchedulerError(e) || e.code !== 'FailedPrecondition') throw e;
  }
}

/** Agents that really hold memory: what they load counts until they unload it. */
export class World extends TestWorld {
  readonly connectedEngines = new Set<string>();
  readonly held = new Map<string, Map<string, number>>();
  readonly capacity = new Map<string, number>();

  heldOn(key: string): Map<string, number> {
    let m = this.held.get(key);
    if (!m) this.held.set(key, (m = new Map()));
    return m;
  }
  free(key: string): number {
    const used = [...this.heldOn(key).values()].reduce((a, b) => a + b, 0);
    return Math.max(0, Math.floor((this.capacity.get(key) ?? 0) * (1 + OVERCOMMIT / 100)) - used);
  }
}

export function step(w: World, c: Command): void {
  const key = 'server' in c ? `${c.server}/${c.idx}` : '';
  switch (c.kind) {
    case 'join':
      if (w.agents.isConnected(c.server, c.idx)) return;
      w.capacity.set(key, c.memory);
      w.held.set(key, new Map());
      w.join(c.server, c.idx, { memory: c.memory, available: w.free(key) });
      return;
    case 'leave':
      if (!w.agents.isConnected(c.server, c.idx)) return;
      w.leave(c.server, c.idx);
      w.agents.ops.splice(
        0,
        w.agents.ops.length,
        ...w.agents.ops.filter((o) => `${o.server}/${o.idx}` !== key),
      );
      w.held.delete(key);
      return;
    case 'drain':
      void w.system.drain(c.server, c.idx);
      return;
    case 'load':
      try {
        w.system.loadModel(
          def(c.name, {
            replicas: c.replicas,
            minReplicas: c.minReplicas,
            memory: c.memory,
            uri: `gs://${c.name}/${c.uri}`,
          }),
        );
      } catch (e) {
        if (!isSchedulerError(e) || e.code !== 'FailedPrecondition') throw e;
      }
      return;
    case 'unload':
      try {
        w.system.unloadModel(c.name);
      } catch (e) {
        if (!isSchedulerError(e) || e.code !== 'FailedPrecondition') throw e;
      }
      return;
    case 'reply': {
      if (w.agents.ops.length === 0) return;
      // An agent answers the ops of one model in order; across models and replicas, any order.
      const chosen = w.agents.ops[c.pick % w.agents.ops.length];
      if (!chosen) return;
      const first = w.agents.ops.findIndex(
        (o) =>
          o.server === chosen.server &&
          o.idx === chosen.idx &&
          o.op.definition.meta.name === chosen.op.definition.meta.name,
      );
      const [o] = w.agents.ops.splice(first, 1);
      if (!o) return;
      const k = `${o.server}/${o.idx}`;
      const name = o.op.definition.meta.name;
      const id = `${name}:${o.op.version}`;
      let event: 'loaded' | 'loadFailed' | 'unloaded' | 'unloadFailed';
      if (o.op.operation === 'load') {
        // This agent trusts the scheduler and loads whatever it is told: over-commit would show.
        if (c.ok) {
          w.heldOn(k).set(id, requiredMemory(o.op.definition.spec));
          event = 'loaded';
        } else event = 'loadFailed';
      } else {
        w.heldOn(k).delete(id);
        event = 'unloaded';
      }
      try {
        w.reply(o.server, o.idx, name, o.op.version, event, {
          available: w.free(k),
          message: 'no',
        });
      } catch (e) {
        // A reply to an op the scheduler has since moved past is refused; that is allowed.
        if (!isSchedulerError(e) || e.code !== 'Internal') throw e;
      }
      return;
    }
    case 'tick':
      w.advance(c.ms);
      return;
    case 'pipelineLoad':
      w.system.loadPipeline(pipe(c.name, PIPELINES[c.variant] ?? {}));
      return;
    case 'pipelineUnload':
      refusable(() => {
        w.system.unloadPipeline(c.name);
      });
      return;
    case 'experimentStart': {
      const e = EXPERIMENTS[c.variant];
      if (e) {
        refusable(() => {
          w.system.startExperiment({ ...e, name: c.name });
        });
      }
      return;
    }
    case 'experimentStop':
      refusable(() => {
        w.system.stopExperiment(c.name);
      });
      return;
    case 'engineJoin':
      if (w.connectedEngines.has(c.engine)) return;
      w.connectedEngines.add(c.engine);
      w.system.engineJoined(c.engine);
      return;
    case 'engineLeave':
      if (!w.connectedEngines.delete(c.engine)) return;
      w.engines.ops.splice(
        0,
        w.engines.ops.length,
        ...w.engines.ops.filter((o) => o.engine !== c.engine),
      );
      w.system.engineLeft(c.engine);
      return;
    case 'engineReply': {
      // Engines answer in any order; an answer to an op the scheduler moved past is ignored.
      const [o] = w.engines.ops.splice(c.pick % Math.max(1, w.engines.ops.length), 1);
      if (!o) return;
      try {
        w.system.dataflowEvent({
          engine: o.engine,
          op: o.op.op,
          pipeline: o.op.definition.name,
          version: o.op.version,
          uid: o.op.uid,
          timestamp: o.op.timestamp,
          success: c.ok,
          reason: c.ok ? '' : 'no',
        });
      } catch (e) {
        // The pipeline was re-created since (a new uid): the answer is refused, as Seldon does.
        if (!isSchedulerError(e) || e.code !== 'Internal') throw e;
      }
      return;
    }
  }
}

function checkPipelinesAndExperiments(w: World): void {
  const models = new Map(w.system.listModels(true).map((m) => [m.name, m.versions]));
  const anyAvailable = (m: string) => (models.get(m) ?? []).some((v) => v.state === 'available');
  const latestState = (m: string) => models.get(m)?.at(-1)?.state;
  for (const p of w.system.listPipelines(true)) {
    assert.ok(
      p.versions.filter((v) => v.state === 'ready').length <= 1,
      `${p.name}: two versions ready`,
    );
    for (const v of p.versions) {
      if (v.state === 'terminated') continue;
      const want = v.definition.steps.every((s) => anyAvailable(s.name));
      assert.equal(v.modelsReady, want, `${p.name}:${v.version} modelsReady ${v.modelsReady}`);
    }
  }
  const pipelineReady = (name: string) =>
    w.system.pipeline(name, false)?.versions[0]?.state === 'ready';
  for (const e of w.system.listExperiments()) {
    if (e.deleted) continue;
    const d = e.definition;
    const ready = (n: string) =>
      d.resourceType === 'model' ? latestState(n) === 'available' : pipelineReady(n);
    assert.equal(
      e.candidatesReady,
      d.candidates.every((c) => ready(c.name)),
      `${d.name} candidates`,
    );
    assert.equal(e.mirrorReady, d.mirror === undefined || ready(d.mirror.name), `${d.name} mirror`);
    if (e.active && d.resourceType === 'model') {
      for (const c of d.candidates) {
        assert.ok(models.has(c.name), `${d.name} active with ${c.name} missing`);
      }
    }
  }
}

function checkInvariants(w: World): void {
  checkPipelinesAndExperiments(w);
  // No agent ever holds more than its memory plus over-commit.
  for (const [key, held] of w.held) {
    const cap = Math.floor((w.capacity.get(key) ?? 0) * (1 + OVERCOMMIT / 100));
    const used = [...held.values()].reduce((a, b) => a + b, 0);
    assert.ok(used <= cap, `${key}: agent holds ${used} > ${cap} (${[...held.keys()].join(',')})`);
  }
  for (const m of w.system.listModels(true)) {
    const latest = m.versions.at(-1);
    if (!latest) continue;
    const want = latest.definition.deployment?.replicas ?? 0;
    assert.ok(
      latest.availableReplicas <= want || m.deleted,
      `${m.name}: available ${latest.availableReplicas} > ${want}`,
    );
    if (!m.deleted && latest.state === 'available') {
      const avail = latest.replicas.filter((r) => r.state === 'available').length;
      assert.ok(avail >= 1, `${m.name} is ModelAvailable with no Available replica`);
    }
    // Replicas of one version all live on its server, each on a connected replica or retiring.
    for (const v of m.versions) {
      for (const r of v.replicas) {
        const live = [
          'loadRequested',
          'loading',
          'loaded',
          'available',
          'loadedUnavailable',
          'draining',
        ].includes(r.state);
        if (live) {
          assert.ok(
            w.agents.isConnected(v.server, r.idx),
            `${m.name}:${v.version} ${r.state} on gone replica ${v.server}/${r.idx}`,
          );
        }
      }
    }
  }
}

/** A world restored from its records looks the same to every client and exports the same records. */
function checkRestore(w: World): void {
  const records = w.records();
  const restored = new TestWorld({ restore: records, now: w.now });
  assert.deepEqual(restored.views(), w.views(), 'restored views differ');
  assert.deepEqual(restored.records(), records, 'restored records differ');
}

/** Answers every outstanding op until the agents are quiet. */
function quiesce(w: World): void {
  for (let i = 0; i < 1000 && w.agents.ops.length > 0; i++)
    step(w, { kind: 'reply', pick: 0, ok: true });
  assert.equal(w.agents.ops.length, 0, 'agents never went quiet');
  for (let i = 0; i < 1000 && w.engines.ops.length > 0; i++)
    step(w, { kind: 'engineReply', pick: 0, ok: true });
  assert.equal(w.engines.ops.length, 0, 'engines never went quiet');
  // With every answer in, no pipeline version waits for an engine.
  for (const p of w.system.listPipelines(true)) {
    for (const v of p.versions) {
      const waiting = ['creating', 'terminate', 'terminating'].includes(v.state);
      const unsent = v.state === 'create' && w.connectedEngines.size > 0;
      assert.ok(!waiting && !unsent, `${p.name}:${v.version} still ${v.state} (${v.reason})`);
    }
  }
}

/** Runs one command sequence, checking the invariants after every step and at quiescence. */
export function runScenario(commands: readonly Command[]): void {
  const w = new World({ drainTimeoutMs: 1000 });
  for (const c of commands) {
    step(w, c);
    checkInvariants(w);
  }
  checkRestore(w);
  quiesce(w);
  checkInvariants(w);
  checkRestore(w);
  for (const m of w.system.listModels(true)) {
    if (!m.deleted) continue;
    for (const v of m.versions) {
      for (const r of v.replicas) {
        assert.ok(
          !['loading', 'loaded', 'available', 'loadRequested'].includes(r.state),
          `deleted ${m.name}:${v.version} still ${r.state} on ${v.server}/${r.idx}`,
        );
      }
    }
  }
}

describe('scheduler under random interleavings', () => {
  it('keeps its invariants after every step, and deleted models end up unloaded', () => {
    fc.assert(
      fc.property(fc.array(command, { minLength: 10, maxLength: 80, size: 'max' }), (commands) => {
        runScenario(commands);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

/** Shrunk counterexamples the property found (issue 2), kept as regressions. */
describe('regressions found by the property', () => {
  it('ScheduleFailed never reports more available replicas than wanted (several draining replicas)', () => {
    runScenario([
      { kind: 'load', name: 'm1', replicas: 1, minReplicas: 0, memory: 0, uri: 0 },
      { kind: 'join', server: 'b', idx: 0, memory: 300 },
      { kind: 'drain', server: 'b', idx: 0 },
      { kind: 'join', server: 'b', idx: 1, memory: 300 },
      { kind: 'join', server: 'a', idx: 1, memory: 300 },
      { kind: 'drain', server: 'a', idx: 1 },
      { kind: 'drain', server: 'b', idx: 1 },
      { kind: 'leave', server: 'a', idx: 1 },
      { kind: 'unload', name: 'm1' },
      { kind: 'join', server: 'a', idx: 0, memory: 300 },
      { kind: 'reply', pick: 0, ok: true },
      { kind: 'leave', server: 'a', idx: 0 },
      { kind: 'unload', name: 'm1' },
      { kind: 'load', name: 'm1', replicas: 1, minReplicas: 0, memory: 0, uri: 0 },
      { kind: 'reply', pick: 0, ok: false },
      { kind: 'unload', name: 'm1' },
      { kind: 'tick', ms: 500 },
      { kind: 'unload', name: 'm1' },
    ]);
  });

  it('a deleted model is not re-created while an old version still unloads (its reservation held)', () => {
    runScenario([
      { kind: 'join', server: 'a', idx: 0, memory: 300 },
      { kind: 'load', name: 'm3', replicas: 1, minReplicas: 0, memory: 200, uri: 0 },
      { kind: 'load', name: 'm1', replicas: 1, minReplicas: 0, memory: 200, uri: 0 },
      { kind: 'load', name: 'm3', replicas: 2, minReplicas: 0, memory: 0, uri: 0 },
      { kind: 'unload', name: 'm3' },
      { kind: 'load', name: 'm3', replicas: 1, minReplicas: 0, memory: 200, uri: 0 },
      { kind: 'reply', pick: 0, ok: false },
      { kind: 'reply', pick: 1308517599, ok: false },
      { kind: 'reply', pick: 0, ok: true },
      { kind: 'join', server: 'a', idx: 0, memory: 300 },
      { kind: 'reply', pick: 0, ok: true },
      { kind: 'join', server: 'a', idx: 0, memory: 300 },
      { kind: 'load', name: 'm1', replicas: 1, minReplicas: 0, memory: 0, uri: 0 },
      { kind: 'load', name: 'm1', replicas: 1, minReplicas: 0, memory: 0, uri: 0 },
      { kind: 'reply', pick: 0, ok: false },
      { kind: 'unload', name: 'm1' },
      { kind: 'load', name: 'm1', replicas: 1, minReplicas: 0, memory: 0, uri: 0 },
      { kind: 'load', name: 'm1', replicas: 1, minReplicas: 0, memory: 0, uri: 0 },
      { kind: 'join', server: 'a', idx: 0, memory: 300 },
    ]);
  });

  it('a failed placement keeps a version whose replica is still unloading (reservation held)', () => {
    runScenario([
      { kind: 'join', server: 'a', idx: 1, memory: 1000 },
      { kind: 'load', name: 'm2', replicas: 2, minReplicas: 0, memory: 200, uri: 1 },
      { kind: 'join', server: 'a', idx: 0, memory: 300 },
      { kind: 'load', name: 'm2', replicas: 1, minReplicas: 0, memory: 200, uri: 1 },
      { kind: 'load', name: 'm1', replicas: 1, minReplicas: 0, memory: 200, uri: 0 },
      { kind: 'leave', server: 'a', idx: 1 },
      { kind: 'reply', pick: 0, ok: true },
      { kind: 'join', server: 'a', idx: 0, memory: 300 },
      { kind: 'load', name: 'm1', replicas: 1, minReplicas: 0, memory: 0, uri: 0 },
      { kind: 'reply', pick: 574839175, ok: true },
      { kind: 'unload', name: 'm1' },
      { kind: 'leave', server: 'a', idx: 0 },
      { kind: 'load', name: 'm1', replicas: 1, minReplicas: 0, memory: 0, uri: 0 },
      { kind: 'reply', pick: 0, ok: false },
      { kind: 'join', server: 'a', idx: 0, memory: 300 },
      { kind: 'reply', pick: 0, ok: false },
      { kind: 'reply', pick: 0, ok: false },
    ]);
  });
});
