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
import { def, TestWorld } from '../support/system.js';

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
  | { kind: 'tick'; ms: number };

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
    arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.constantFrom(500, 5000) }),
  },
);

/** Agents that really hold memory: what they load counts until they unload it. */
export class World extends TestWorld {
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
  }
}

function checkInvariants(w: World): void {
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

/** Answers every outstanding op until the agents are quiet. */
function quiesce(w: World): void {
  for (let i = 0; i < 1000 && w.agents.ops.length > 0; i++)
    step(w, { kind: 'reply', pick: 0, ok: true });
  assert.equal(w.agents.ops.length, 0, 'agents never went quiet');
}

/** Runs one command sequence, checking the invariants after every step and at quiescence. */
export function runScenario(commands: readonly Command[]): void {
  const w = new World({ drainTimeoutMs: 1000 });
  for (const c of commands) {
    step(w, c);
    checkInvariants(w);
  }
  quiesce(w);
  checkInvariants(w);
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
