/**
 * Restart from records: everything a world exported comes back equal, agents that reconnect with
 * their models get them back without a reload, and replicas whose agents stay away are replaced
 * after the reconnect grace.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { def, pipe, TestWorld } from '../../support/system.js';

/** Two server replicas, three models (one deleted), a pipeline on an engine, an experiment. */
function busyWorld(): TestWorld {
  const w = new TestWorld();
  w.system.serverNotify([
    { name: 's1', expectedReplicas: 2, minReplicas: 0, maxReplicas: 4, shared: false },
  ]);
  w.join('s1', 0, { memory: 1000 });
  w.join('s1', 1, { memory: 1000 });
  w.system.loadModel(def('a', { replicas: 2 }));
  w.system.loadModel(def('b'));
  w.system.loadModel(def('gone'));
  w.ackAll();
  w.system.unloadModel('gone');
  w.ackAll();
  w.system.loadModel(def('b', { uri: 'gs://b/2' }));
  w.engineJoin('df-0');
  w.system.loadPipeline(pipe('p1', { a: [], b: ['a'] }));
  w.engineAckAll();
  w.system.startExperiment({
    name: 'e',
    default: 'a',
    candidates: [
      { name: 'a', weight: 1 },
      { name: 'b', weight: 1 },
    ],
    resourceType: 'model',
  });
  return w;
}

describe('restore from records', () => {
  it('brings back every model, version, replica, server, pipeline and experiment as it was', () => {
    const before = busyWorld();
    const restored = new TestWorld({ restore: before.records(), now: before.now });
    assert.deepEqual(restored.views(), before.views());
    // Exporting again gives the same records: nothing is lost or invented by a round trip.
    assert.deepEqual(restored.records(), before.records());
  });

  it('agents that come back re-announce their models: Available again, nothing reloaded', () => {
    const before = busyWorld();
    before.agents.take();
    const w = new TestWorld({ restore: before.records(), now: before.now });
    const holding = (idx: number) =>
      before.system
        .listModels(false)
        .flatMap((m) =>
          m.versions.flatMap((v) =>
            v.replicas.some((r) => r.idx === idx && r.state === 'available')
              ? [{ definition: v.definition, version: v.version }]
              : [],
          ),
        );
    w.join('s1', 0, { memory: 1000, loaded: holding(0) });
    w.join('s1', 1, { memory: 1000, loaded: holding(1) });
    assert.deepEqual(
      w.agents.take().filter((op) => op.startsWith('load a') || op.startsWith('load b:1')),
      [],
    );
    assert.equal(w.latest('a').state, 'available');
    assert.equal(w.latest('a').availableReplicas, 2);
  });

  it('replicas whose agents stay away past the grace are replaced on the others', () => {
    const before = new TestWorld();
    before.join('s1', 0, { memory: 1000 });
    before.join('s1', 1, { memory: 1000 });
    before.system.loadModel(def('x'));
    before.system.loadModel(def('y'));
    before.ackAll();
    const where = (w: TestWorld, m: string) =>
      `${w.latest(m).server}/${w.latest(m).replicas[0]?.idx}`;
    const [onOne, onZero] = where(before, 'x') === 's1/1' ? ['x', 'y'] : ['y', 'x'];
    const w = new TestWorld({ restore: before.records(), now: before.now, reconnectGraceMs: 5000 });
    w.join('s1', 0, { memory: 1000, loaded: [{ definition: def(onZero), version: 1 }] });
    w.advance(4999);
    // s1/1 may still come back: its model stays where it was, nothing is loaded.
    assert.deepEqual(w.agents.take(), []);
    assert.equal(w.latest(onOne).state, 'available');
    w.advance(1);
    assert.deepEqual(w.ackAll(), [`load ${onOne}:1@s1/0`]);
    assert.deepEqual(
      w.system.server('s1')?.replicas.map((r) => r.idx),
      [0],
    );
    assert.equal(w.latest(onOne).state, 'available');
  });

  it('while restored replicas wait, new models are not placed on them', () => {
    const before = busyWorld();
    const w = new TestWorld({ restore: before.records(), now: before.now });
    w.system.loadModel(def('new'));
    assert.equal(w.latest('new').state, 'scheduleFailed');
    w.join('s1', 0, { memory: 1000 });
    assert.ok(w.agents.take().includes('load new:1@s1/0'));
  });

  it('while restored replicas wait, models on them are not moved when other agents return', () => {
    // Issue 5: the first agent back retried every model short of replicas and moved them away.
    const before = new TestWorld();
    before.join('a', 0, { memory: 1000 });
    before.system.loadModel(def('m', { replicas: 2, minReplicas: 1 }));
    before.ackAll();
    assert.equal(before.latest('m').state, 'available');
    const w = new TestWorld({ restore: before.records(), now: before.now });
    w.join('b', 0, { memory: 1000 });
    assert.deepEqual(w.agents.take(), []);
    assert.deepEqual(w.versions('m'), ['1:available']);
  });
});
