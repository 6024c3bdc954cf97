/**
 * The supervisor against the reference scheduler's scenarios (numbers in the test names), driven through the system facade with recording agents and a hand-driven clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NO_MATCHING_SERVERS, NOT_ENOUGH_REPLICAS } from '../../../src/placement/types.js';
import { def, TestWorld } from '../../support/system.js';

describe('supervisor: versioning (scenarios 1-10)', () => {
  it('#2 a new model is version 1, Unknown until placement records something', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.loadModel(def('m1', { replicas: 0 }));
    assert.deepEqual(w.versions('m1'), ['1:unknown']);
    assert.equal(w.system.model('m1', false)?.deleted, false);
  });

  it('#3 the first version is the Kubernetes generation', () => {
    const w = new TestWorld();
    w.system.loadModel(def('m1', { generation: 100 }));
    assert.equal(w.latest('m1').version, 100);
  });

  it('#4 #5 #7 #8 identical, deployment-only and meta-only changes keep the version', () => {
    const w = new TestWorld();
    w.system.loadModel(def('m1', { replicas: 2 }));
    w.system.loadModel(def('m1', { replicas: 2 }));
    w.system.loadModel(def('m1', { replicas: 4 }));
    assert.equal(w.latest('m1').definition.deployment?.replicas, 4);
    w.system.loadModel(def('m1', { replicas: 4, generation: 7 }));
    assert.equal(w.latest('m1').definition.meta.kubernetesMeta?.generation, 7);
    const withRuntime = def('m1', { replicas: 4, generation: 7 });
    withRuntime.spec.runtimeInfo = { kind: 'mlserver', parallelWorkers: 3 };
    w.system.loadModel(withRuntime);
    assert.deepEqual(w.versions('m1').length, 1);
  });

  it('#6 a changed modelSpec makes version 2; all versions list ascending', () => {
    const w = new TestWorld();
    w.system.loadModel(def('m1'));
    w.system.loadModel(def('m1', { uri: 'gs://other' }));
    assert.deepEqual(
      w.system.model('m1', true)?.versions.map((v) => v.version),
      [1, 2],
    );
  });

  it('#9 #10 a deleted model can be re-created once inactive, not while unloading', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.loadModel(def('m1'));
    w.ackAll();
    w.system.unloadModel('m1');
    assert.deepEqual(w.agents.take(), ['unload m1:1@s1/0']);
    assert.throws(
      () => {
        w.system.loadModel(def('m1'));
      },
      {
        code: 'FailedPrecondition',
        message: 'Model m1 is in process of deletion - new model can not be created',
      },
    );
    w.reply('s1', 0, 'm1', 1, 'unloaded');
    w.system.loadModel(def('m1'));
    const m = w.system.model('m1', true);
    assert.equal(m?.deleted, false);
    assert.deepEqual(w.versions('m1'), ['1:progressing']);
  });
});

describe('supervisor: scheduling outcomes (scenarios 11-27)', () => {
  it('#11 no servers: ScheduleFailed, no matching servers, serverName empty', () => {
    const w = new TestWorld();
    w.system.loadModel(def('m1'));
    const v = w.latest('m1');
    assert.equal(v.state, 'scheduleFailed');
    assert.equal(v.reason, NO_MATCHING_SERVERS);
    assert.equal(v.server, '');
  });

  it('#12 #13 requirements must all be capabilities', () => {
    const w = new TestWorld();
    w.join('s1', 0, { capabilities: ['sklearn'] });
    w.system.loadModel(def('a', { requirements: ['xgboost'] }));
    assert.equal(w.latest('a').state, 'scheduleFailed');
    w.join('s2', 0, { capabilities: ['sklearn', 'xgboost'] });
    assert.deepEqual(w.agents.take(), ['load a:1@s2/0'], 'retried when capacity arrived');
  });

  it('#14 too much memory: not enough suitable replicas', () => {
    const w = new TestWorld();
    w.join('s1', 0, { memory: 1000 });
    w.system.loadModel(def('m1', { memory: 2000 }));
    assert.equal(w.latest('m1').reason, NOT_ENOUGH_REPLICAS);
  });

  it('#15 too many replicas: ScheduleFailed with 0 available, 2 unavailable', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.loadModel(def('m1', { replicas: 2 }));
    const v = w.latest('m1');
    assert.equal(v.state, 'scheduleFailed');
    assert.equal(v.availableReplicas, 0);
    assert.equal(v.unavailableReplicas, 2);
  });

  it('#16 #17 two replicas load the same version; minReplicas allows a partial placement', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.join('s1', 1);
    w.system.loadModel(def('two', { replicas: 2 }));
    assert.deepEqual(w.agents.take().sort(), ['load two:1@s1/0', 'load two:1@s1/1']);
    w.system.loadModel(def('part', { replicas: 3, minReplicas: 2 }));
    w.ackAll();
    const v = w.latest('part');
    assert.equal(v.state, 'available');
    assert.equal(v.availableReplicas, 2);
    assert.equal(v.unavailableReplicas, 0);
  });

  it('#18 a pinned server that does not exist yet: scheduled when it joins', () => {
    const w = new TestWorld();
    w.system.loadModel(def('m1', { server: 's9' }));
    assert.equal(w.latest('m1').state, 'scheduleFailed');
    w.join('s9', 0);
    assert.deepEqual(w.agents.take(), ['load m1:1@s9/0']);
  });

  it('#19 an unshared server only takes models pinned to it', () => {
    const w = new TestWorld();
    w.join('s1', 0, { shared: false });
    w.system.loadModel(def('a'));
    assert.equal(w.latest('a').state, 'scheduleFailed');
    w.system.loadModel(def('b', { server: 's1' }));
    assert.deepEqual(w.agents.take(), ['load b:1@s1/0']);
  });

  it('#21 a server notified with expectedReplicas 0 takes nothing', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.serverNotify([
      { name: 's1', expectedReplicas: 0, minReplicas: 0, maxReplicas: 0, shared: true },
    ]);
    w.system.loadModel(def('m1'));
    assert.equal(w.latest('m1').reason, NO_MATCHING_SERVERS);
  });

  it('#21b a model serving all it wants on a server declared with 0 replicas stays Available, loaded again or not', () => {
    // The property found it: the first LoadModel that scaled it down left it Available, the same
    // LoadModel repeated made it ScheduleFailed.
    const w = new TestWorld();
    w.system.loadModel(def('m2', { replicas: 2, minReplicas: 1 }));
    w.join('s1', 1);
    w.join('s1', 0);
    w.ackAll();
    w.system.serverNotify([
      { name: 's1', expectedReplicas: 0, minReplicas: 0, maxReplicas: 0, shared: true },
    ]);
    assert.equal(w.latest('m2').state, 'available');
    w.system.loadModel(def('m2', { replicas: 1 }));
    assert.deepEqual(w.agents.take(), ['unload m2:1@s1/1']);
    assert.equal(w.latest('m2').state, 'available');
    w.system.loadModel(def('m2', { replicas: 1 }));
    assert.deepEqual(w.agents.take(), []);
    const v = w.latest('m2');
    assert.equal(v.state, 'available');
    assert.equal(v.reason, '');
    assert.equal(v.availableReplicas, 1);
  });

  it('#22 memory reserved for a pending load is not given away twice', () => {
    const w = new TestWorld();
    w.join('s1', 0, { memory: 1000 });
    w.system.loadModel(def('a', { memory: 600 }));
    w.system.loadModel(def('b', { memory: 600 }));
    assert.equal(w.latest('b').state, 'scheduleFailed');
    w.reply('s1', 0, 'a', 1, 'loaded', { available: 400 });
    w.system.loadModel(def('b', { memory: 600 }));
    assert.equal(w.latest('b').state, 'scheduleFailed');
  });

  it('#25 scale down keeps the roomiest replica and unloads the other', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.join('s1', 1);
    w.system.loadModel(def('m1', { replicas: 2 }));
    w.reply('s1', 0, 'm1', 1, 'loaded', { available: 200 });
    w.reply('s1', 1, 'm1', 1, 'loaded', { available: 175 });
    w.agents.take();
    w.system.loadModel(def('m1', { replicas: 1 }));
    assert.deepEqual(w.agents.take(), ['unload m1:1@s1/1']);
    const v = w.latest('m1');
    assert.equal(v.state, 'available');
    assert.equal(v.availableReplicas, 1);
  });

  it('#23 runtime info from the agent multiplies the memory later placements need', () => {
    const w = new TestWorld();
    w.join('s1', 0, { memory: 1000 });
    w.system.loadModel(def('m1', { memory: 100 }));
    w.agents.take();
    w.reply('s1', 0, 'm1', 1, 'loaded', {
      runtimeInfo: { kind: 'mlserver', parallelWorkers: 4 },
    });
    assert.deepEqual(w.latest('m1').definition.spec.runtimeInfo, {
      kind: 'mlserver',
      parallelWorkers: 4,
    });
    w.join('s1', 1, { memory: 1000, available: 350 });
    w.system.loadModel(def('m1', { memory: 100, replicas: 2 }));
    assert.equal(w.latest('m1').state, 'scheduleFailed', '400 bytes needed, 350 free');
  });

  it('a load still in flight reserves what the runtime info another replica reported needs', () => {
    const w = new TestWorld();
    w.join('s1', 0, { memory: 1000 });
    w.join('s1', 1, { memory: 1000 });
    w.system.loadModel(def('m1', { memory: 100, replicas: 2 }));
    w.agents.take();
    w.reply('s1', 0, 'm1', 1, 'loaded', {
      available: 600,
      runtimeInfo: { kind: 'mlserver', parallelWorkers: 4 },
    });
    const reserved = () =>
      w.system.listServers()[0]?.replicas.map((r) => [r.idx, r.reservedMemoryBytes]);
    assert.deepEqual(reserved(), [
      [0, 0],
      [1, 400],
    ]);
    w.system.loadModel(def('m1', { memory: 100, replicas: 2 })); // another placement pass
    w.reply('s1', 1, 'm1', 1, 'loaded', { available: 600 });
    assert.deepEqual(reserved(), [
      [0, 0],
      [1, 0],
    ]);
    assert.deepEqual(w.system.audit(), []);
  });

  it('#26 replicas 0 unloads every replica (the seed has no ScaledDown: the model stays Available)', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.loadModel(def('m1'));
    w.ackAll();
    w.system.loadModel(def('m1', { replicas: 0 }));
    assert.deepEqual(w.ackAll(), ['unload m1:1@s1/0']);
    const v = w.latest('m1');
    assert.equal(v.replicas[0]?.state, 'unloaded');
    assert.equal(v.state, 'available');
    assert.equal(v.availableReplicas, 0);
  });

  it('#27 a draining replica is never chosen and keeps state Draining', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.join('s1', 1);
    w.system.loadModel(def('m1', { replicas: 1 }));
    w.ackAll();
    const idx = w.latest('m1').replicas[0]?.idx ?? -1;
    void w.system.drain('s1', idx);
    assert.deepEqual(w.agents.take(), [`load m1:1@s1/${1 - idx}`]);
    const states = Object.fromEntries(w.latest('m1').replicas.map((r) => [r.idx, r.state]));
    assert.equal(states[idx], 'draining');
  });
});

describe('supervisor: agents and replica states (scenarios 28-40)', () => {
  it('#28 #29 LOAD_MODEL → Loading, LOADED → Available; server counts the model', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.loadModel(def('m1'));
    const v = w.latest('m1');
    assert.equal(v.replicas[0]?.state, 'loading');
    assert.equal(v.state, 'progressing');
    assert.equal(v.unavailableReplicas, 1);
    w.ackAll();
    assert.equal(w.latest('m1').state, 'available');
    const s = w.system.server('s1');
    assert.equal(s?.replicas[0]?.numLoadedModels, 1);
    assert.equal(s.replicas[0].availableMemoryBytes, 900);
  });

  it('#30 LOAD_FAILED: replica LoadFailed, model ModelFailed with the reason; retried with back-off', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.loadModel(def('m1'));
    w.agents.take();
    w.reply('s1', 0, 'm1', 1, 'loadFailed', { message: 'boom' });
    const v = w.latest('m1');
    assert.equal(v.state, 'failed');
    assert.equal(v.reason, 'boom');
    assert.equal(v.replicas[0]?.state, 'loadFailed');
    assert.deepEqual(w.agents.take(), [], 'not retried at once');
    w.advance(1000);
    assert.deepEqual(w.agents.take(), ['load m1:1@s1/0'], 'retried after 1 s');
    w.reply('s1', 0, 'm1', 1, 'loadFailed', { message: 'boom' });
    w.advance(1500);
    assert.deepEqual(w.agents.take(), [], 'second back-off is 2 s');
    w.advance(500);
    assert.deepEqual(w.agents.take(), ['load m1:1@s1/0']);
  });

  it('a due retry of a model that is no longer failed does not spin the timer (regression)', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.loadModel(def('m1'));
    w.agents.take();
    w.reply('s1', 0, 'm1', 1, 'loadFailed', { message: 'boom' });
    w.leave('s1', 0);
    assert.equal(w.latest('m1').state, 'scheduleFailed');
    w.advance(5000); // looped forever when the due retry was left set
    assert.equal(w.latest('m1').state, 'scheduleFailed');
  });

  it('memory of a load in flight stays reserved while the replica is asked to unload', () => {
    const w = new TestWorld();
    w.join('s1', 0, { memory: 300, available: 330 });
    w.system.loadModel(def('a', { memory: 200 }));
    w.system.unloadModel('a');
    assert.deepEqual(w.agents.take(), ['load a:1@s1/0', 'unload a:1@s1/0']);
    w.system.loadModel(def('b', { memory: 200 }));
    assert.equal(w.latest('b').state, 'scheduleFailed', 'the agent may still be loading a');
    w.reply('s1', 0, 'a', 1, 'unloaded', { available: 330 });
    assert.deepEqual(w.agents.take(), ['load b:1@s1/0'], 'placed once the agent answered');
  });

  it('#31 #32 #33 agent events that do not match are rejected and change nothing', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.loadModel(def('m1'));
    w.ackAll();
    assert.throws(
      () => {
        w.reply('s1', 0, 'm1', 1, 'loaded');
      },
      {
        code: 'FailedPrecondition',
        message: /State mismatch for m1:1 expected state Loading but was Available/,
      },
    );
    assert.throws(
      () => {
        w.reply('s1', 0, 'nope', 1, 'loaded');
      },
      {
        message: /failed to find model nope/,
      },
    );
    assert.throws(
      () => {
        w.reply('s1', 0, 'm1', 9, 'loaded');
      },
      {
        message: /Version not found for model m1, version 9/,
      },
    );
    assert.throws(
      () => {
        w.reply('s2', 0, 'm1', 1, 'loaded');
      },
      {
        message: /failed to find server s2/,
      },
    );
    assert.equal(w.latest('m1').state, 'available');
  });

  it('#34 an op that cannot be written to its agent makes the replica LoadFailed with the error', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.agents.failSends = true;
    w.system.loadModel(def('m1'));
    const v = w.latest('m1');
    assert.equal(v.replicas[0]?.state, 'loadFailed');
    assert.equal(v.state, 'failed');
    assert.equal(v.reason, 'stream closed');
  });

  it('#35 #37 UnloadModel: deleted, Terminating, UNLOAD sent, Terminated after UNLOADED', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.loadModel(def('m1'));
    w.ackAll();
    w.system.unloadModel('m1');
    const m = w.system.model('m1', false);
    assert.equal(m?.deleted, true);
    assert.equal(m.versions[0]?.state, 'terminating');
    assert.deepEqual(w.agents.take(), ['unload m1:1@s1/0']);
    assert.equal(w.latest('m1').replicas[0]?.state, 'unloading');
    w.reply('s1', 0, 'm1', 1, 'unloaded');
    assert.equal(w.latest('m1').state, 'terminated');
    assert.doesNotThrow(() => {
      w.system.unloadModel('m1');
    });
    assert.throws(
      () => {
        w.system.unloadModel('never');
      },
      {
        code: 'FailedPrecondition',
        message: 'Model never not found',
      },
    );
  });

  it('#36 UNLOAD_FAILED: ModelTerminateFailed with the reason', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.loadModel(def('m1'));
    w.ackAll();
    w.system.unloadModel('m1');
    w.reply('s1', 0, 'm1', 1, 'unloadFailed', { message: 'disk' });
    assert.equal(w.latest('m1').state, 'terminateFailed');
    assert.equal(w.latest('m1').reason, 'disk');
  });

  it('#38 unload before placement: Terminated at once, no op', () => {
    const w = new TestWorld();
    w.system.loadModel(def('m1'));
    w.system.unloadModel('m1');
    assert.equal(w.latest('m1').state, 'terminated');
    assert.deepEqual(w.agents.take(), []);
  });

  it('#39 rolling update: v2 loads beside v1, v1 unloads once v2 is Available', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.loadModel(def('m1'));
    w.ackAll();
    w.system.loadModel(def('m1', { uri: 'gs://v2' }));
    assert.deepEqual(w.agents.take(), ['load m1:2@s1/0']);
    assert.deepEqual(w.versions('m1'), ['1:available', '2:progressing']);
    w.reply('s1', 0, 'm1', 2, 'loaded');
    assert.deepEqual(w.agents.take(), ['unload m1:1@s1/0']);
    w.reply('s1', 0, 'm1', 1, 'unloaded');
    assert.deepEqual(w.versions('m1'), ['1:terminated', '2:available']);
  });

  it('#40 a failed new version leaves the old one serving', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.loadModel(def('m1'));
    w.ackAll();
    w.system.loadModel(def('m1', { uri: 'gs://v2' }));
    w.agents.take();
    w.reply('s1', 0, 'm1', 2, 'loadFailed', { message: 'bad' });
    assert.deepEqual(w.versions('m1'), ['1:available', '2:failed']);
    assert.deepEqual(w.agents.take(), []);
  });
});

describe('supervisor: servers and connections (scenarios 41-60)', () => {
  it('#41 #43 ServerNotify declares a server; a replica of an undeclared one shows -1 expected', () => {
    const w = new TestWorld();
    w.system.serverNotify([
      { name: 's1', expectedReplicas: 2, minReplicas: 1, maxReplicas: 3, shared: true },
    ]);
    const s1 = w.system.server('s1');
    assert.equal(s1?.expectedReplicas, 2);
    assert.equal(s1.replicas.length, 0);
    w.join('s2', 0);
    assert.equal(w.system.server('s2')?.expectedReplicas, -1);
  });

  it('#47 a server is forgotten when its last replica leaves', () => {
    const w = new TestWorld();
    w.system.serverNotify([
      { name: 's1', expectedReplicas: 1, minReplicas: 0, maxReplicas: 0, shared: true },
    ]);
    w.join('s1', 0);
    w.leave('s1', 0);
    assert.equal(w.system.server('s1'), undefined);
  });

  it('#48 a lost replica’s models move to another replica of the same server, same version', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.join('s1', 1);
    w.system.loadModel(def('m1'));
    const first = w.ackAll();
    const idx = first[0]?.endsWith('/0') ? 0 : 1;
    w.leave('s1', idx);
    assert.deepEqual(w.agents.take(), [`load m1:1@s1/${1 - idx}`]);
  });

  it('#49 moving to another server makes a new version', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.loadModel(def('m1'));
    w.ackAll();
    w.join('s2', 0);
    w.leave('s1', 0);
    assert.deepEqual(w.agents.take(), ['load m1:2@s2/0']);
  });

  it('#50 the only replica leaves: ScheduleFailed with server reset; same version on return', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.loadModel(def('m1'));
    w.ackAll();
    w.leave('s1', 0);
    const v = w.latest('m1');
    assert.equal(v.state, 'scheduleFailed');
    assert.equal(v.server, '');
    w.join('s1', 0);
    assert.deepEqual(w.agents.take(), ['load m1:1@s1/0']);
  });

  it('#51 ServerNotify expectedReplicas 0 moves models; the old replica serves until then', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.loadModel(def('m1'));
    w.ackAll();
    w.join('s2', 0);
    w.system.serverNotify([
      { name: 's1', expectedReplicas: 0, minReplicas: 0, maxReplicas: 0, shared: true },
    ]);
    assert.deepEqual(w.agents.take(), ['load m1:2@s2/0']);
    assert.deepEqual(w.versions('m1'), ['1:available', '2:progressing']);
    w.reply('s2', 0, 'm1', 2, 'loaded');
    assert.deepEqual(w.agents.take(), ['unload m1:1@s1/0']);
  });

  it('#53 a model that wants more replicas than its server has asks for a scale-up (capped)', () => {
    const w = new TestWorld();
    const asked: string[] = [];
    w.system.subscribe((c) =>
      asked.push(...c.scaling.map((r) => `${r.server}=${r.expectedReplicas}`)),
    );
    w.system.serverNotify([
      { name: 's1', expectedReplicas: 2, minReplicas: 0, maxReplicas: 3, shared: true },
    ]);
    w.join('s1', 0);
    w.system.loadModel(def('m1'));
    w.ackAll();
    assert.deepEqual(asked, []);
    w.system.loadModel(def('m1', { replicas: 10 }));
    assert.equal(w.latest('m1').state, 'scheduleFailed');
    assert.equal(
      w.latest('m1').replicas[0]?.state,
      'available',
      'the placed replica keeps serving',
    );
    assert.deepEqual(asked, ['s1=3']);
  });

  it('#54 empty replicas ask for a scale-down when a model replica unloads; not below 1', () => {
    const w = new TestWorld();
    const asked: string[] = [];
    w.system.subscribe((c) =>
      asked.push(...c.scaling.map((r) => `${r.server}=${r.expectedReplicas}`)),
    );
    w.system.serverNotify([
      { name: 's1', expectedReplicas: 2, minReplicas: 0, maxReplicas: 3, shared: true },
    ]);
    w.join('s1', 0);
    w.join('s1', 1);
    w.system.loadModel(def('m1'));
    w.ackAll();
    w.system.unloadModel('m1');
    w.ackAll();
    assert.deepEqual(asked, ['s1=1']);
    const undeclared = new TestWorld();
    const none: string[] = [];
    undeclared.system.subscribe((c) => none.push(...c.scaling.map((r) => r.server)));
    undeclared.join('s2', 0);
    undeclared.join('s2', 1);
    undeclared.system.loadModel(def('m1'));
    undeclared.ackAll();
    undeclared.system.unloadModel('m1');
    undeclared.ackAll();
    assert.deepEqual(none, [], 'servers never declared (expected -1) are not scaled');
  });

  it('#55 a replica re-announcing an unknown model creates it, Available with no load', () => {
    const w = new TestWorld();
    w.join('s1', 0, { loaded: [{ definition: def('m7'), version: 3 }] });
    const v = w.latest('m7');
    assert.equal(v.version, 3);
    assert.equal(v.state, 'available');
    assert.deepEqual(w.agents.take(), []);
  });

  it('#57 #58 drain moves models and resolves once they are Available elsewhere', async () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.loadModel(def('m1'));
    w.ackAll();
    w.join('s1', 1);
    const drained = w.system.drain('s1', 0);
    assert.deepEqual(w.ackAll(), ['load m1:1@s1/1']);
    assert.deepEqual(await drained, { success: true, unmoved: [] });
    assert.deepEqual(await w.system.drain('nope', 3), { success: true, unmoved: [] });
  });

  it('drain is bounded and reports models that could not move', async () => {
    const w = new TestWorld({ drainTimeoutMs: 5000 });
    w.join('s1', 0);
    w.system.loadModel(def('m1'));
    w.ackAll();
    w.join('s1', 1);
    const drained = w.system.drain('s1', 0);
    w.agents.take();
    w.advance(5000);
    assert.deepEqual(await drained, { success: false, unmoved: ['m1'] });
  });

  it('#60 a ScheduleFailed model is retried when a replica of its server joins', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.loadModel(def('m1', { replicas: 2 }));
    assert.equal(w.latest('m1').state, 'scheduleFailed');
    w.join('s1', 1);
    assert.deepEqual(w.agents.take().sort(), ['load m1:1@s1/0', 'load m1:1@s1/1']);
  });

  it('#62 listing includes deleted models', () => {
    const w = new TestWorld();
    w.system.loadModel(def('a'));
    w.system.loadModel(def('b'));
    w.system.unloadModel('b');
    assert.deepEqual(
      w.system.listModels(false).map((m) => [m.name, m.deleted]),
      [
        ['a', false],
        ['b', true],
      ],
    );
  });

  it('deleted models are purged after their TTL', () => {
    const w = new TestWorld({ deletedTtlMs: 10_000 });
    w.system.loadModel(def('a'));
    w.system.unloadModel('a');
    w.advance(9_999);
    assert.ok(w.system.model('a', false));
    w.advance(1);
    assert.equal(w.system.model('a', false), undefined);
  });
});
