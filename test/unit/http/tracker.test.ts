/**
 * The dashboard's lifecycle tracker: its per-state counts always equal a recount of every actor
 * from the system's views, each resource's history lists its transitions in order and stays
 * bounded, and models page by name and state.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SchedulerSystem } from '../../../src/actors/index.js';
import { LifecycleTracker, MACHINE_IDS } from '../../../src/http/dashboard/tracker.js';
import { def, pipe, TestWorld } from '../../support/system.js';

/** Every actor counted from scratch, by machine and state. */
function recount(system: SchedulerSystem): Record<string, Record<string, number>> {
  const counts: Record<string, Record<string, number>> = Object.fromEntries(
    MACHINE_IDS.map((id) => [id, {}]),
  );
  const add = (machine: string, state: string) => {
    const states = counts[machine] ?? {};
    states[state] = (states[state] ?? 0) + 1;
    counts[machine] = states;
  };
  for (const m of system.listModels(true)) {
    for (const v of m.versions) {
      add('modelVersion', v.state);
      for (const r of v.replicas) add('modelReplica', r.state);
    }
  }
  for (const s of system.listServers()) {
    add('server', s.state);
    for (const r of s.replicas) add('serverReplica', r.draining ? 'draining' : 'connected');
  }
  for (const p of system.listPipelines(true))
    for (const v of p.versions) add('pipelineVersion', v.state);
  for (const e of system.listExperiments()) add('experiment', e.state);
  return counts;
}

describe('LifecycleTracker', () => {
  it('counts every actor by state through loads, updates, drains, unloads and purges', () => {
    const w = new TestWorld({ deletedTtlMs: 1000 });
    const t = new LifecycleTracker(w.system);
    const same = (step: string) => {
      assert.deepEqual(t.countsByMachine(), recount(w.system), step);
    };
    w.join('s', 0, { memory: 1000 });
    w.join('s', 1, { memory: 1000 });
    same('joined');
    w.system.loadModel(def('a', { replicas: 2 }));
    w.system.loadModel(def('b'));
    same('loading');
    w.ackAll();
    same('available');
    w.system.loadModel(def('a', { replicas: 2, uri: 'gs://a/2' }));
    same('rolling update');
    w.ackAll();
    same('updated');
    w.engineJoin('df');
    w.system.loadPipeline(pipe('p', { a: [], b: ['a'] }));
    w.engineAckAll();
    w.system.startExperiment({
      name: 'e',
      candidates: [
        { name: 'a', weight: 1 },
        { name: 'b', weight: 1 },
      ],
      resourceType: 'model',
    });
    same('pipeline and experiment');
    void w.system.drain('s', 1);
    w.ackAll();
    same('drained');
    w.system.stopExperiment('e');
    w.system.unloadPipeline('p');
    w.engineAckAll();
    w.system.unloadModel('b');
    w.ackAll();
    same('unloaded');
    w.advance(2000);
    same('purged');
    assert.equal(t.modelNames().includes('b'), false);
    t.close();
  });

  it('starts from what a restored system holds', () => {
    const w = new TestWorld();
    w.join('s', 0, { memory: 1000 });
    w.system.loadModel(def('a'));
    w.ackAll();
    const restored = new TestWorld({ restore: w.records(), now: w.now });
    const t = new LifecycleTracker(restored.system);
    assert.deepEqual(t.countsByMachine(), recount(restored.system));
    assert.deepEqual(t.modelNames(), ['a']);
  });

  it("keeps each resource's transitions in order, bounded, and the recent ones of all", () => {
    const w = new TestWorld();
    const t = new LifecycleTracker(w.system, { historySize: 4 });
    w.join('s', 0, { memory: 1000 });
    w.system.loadModel(def('a'));
    const loading = t
      .transitionsOf('model:a')
      .map((x) => `${x.actor}: ${x.from ?? 'new'} → ${x.to}`);
    assert.deepEqual(loading, ['a v1: new → progressing', 'a v1 replica 0: new → loading']);
    w.ackAll();
    // A command's settled states are what is seen: `loaded` comes and goes within one command.
    assert.deepEqual(
      t
        .transitionsOf('model:a')
        .map((x) => `${x.actor}: ${x.from ?? 'new'} → ${x.to}`)
        .slice(-2),
      ['a v1: progressing → available', 'a v1 replica 0: loading → available'],
    );
    w.system.unloadModel('a');
    w.ackAll();
    const all = t.transitionsOf('model:a');
    assert.equal(all.length, 4, 'bounded by historySize');
    assert.deepEqual(
      all.slice(-2).map((x) => `${x.actor} → ${x.to}`),
      ['a v1 → terminated', 'a v1 replica 0 → unloaded'],
    );
    for (let i = 1; i < all.length; i++) assert.ok(all[i]!.seq > all[i - 1]!.seq);
    const recent = t.recent();
    assert.ok(recent.some((x) => x.machine === 'serverReplica' && x.to === 'connected'));
    assert.deepEqual(t.recent(recent.at(-1)!.seq), []);
  });

  it('lists models by name, filtered by part of the name and by state', () => {
    const w = new TestWorld();
    const t = new LifecycleTracker(w.system);
    w.join('s', 0, { memory: 300 });
    for (const n of ['c', 'a', 'b-big', 'b'])
      w.system.loadModel(def(n, { memory: n === 'b-big' ? 1000 : 100 }));
    w.ackAll();
    assert.deepEqual(t.modelNames(), ['a', 'b', 'b-big', 'c']);
    assert.deepEqual(t.modelNames('b'), ['b', 'b-big']);
    assert.deepEqual(t.modelNames('', 'scheduleFailed'), ['b-big']);
    assert.deepEqual(t.modelNames('b', 'available'), ['b']);
    assert.equal(t.modelCount, 4);
  });
  it('reads a large restored world in chunks after it starts, missing and doubling nothing', async () => {
    const w = new TestWorld();
    w.join('s', 0, { memory: 1e9 });
    const n = 5000;
    for (let i = 0; i < n; i++) w.system.loadModel(def(`m${String(i).padStart(4, '0')}`));
    w.ackAll();
    assert.deepEqual(
      w.system.modelNames(),
      w.system.listModels(false).map((m) => m.name),
    );
    const t = new LifecycleTracker(w.system, { historySize: 10 });
    // The first chunk at once; the rest after what waits (a change meanwhile is seen at once).
    assert.ok(t.modelCount > 0 && t.modelCount < n, `read at once: ${t.modelCount}`);
    w.system.unloadModel('m4999');
    w.ackAll();
    while (t.modelCount < n) await new Promise<void>((resolve) => setImmediate(resolve));
    assert.deepEqual(t.countsByMachine(), recount(w.system));
    // m4999 was first read by its change: seen available, then unloading; never twice.
    const seen = t.transitionsOf('model:m4999').filter((x) => x.machine === 'modelVersion');
    assert.deepEqual(
      seen.map((x) => x.to),
      [...new Set(seen.map((x) => x.to))],
      'each state recorded once',
    );
    t.close();
  });
});
