/**
 * Pipelines, experiments and dataflow engines against the reference scheduler's scenarios
 * (numbers in the test names), through the system facade with
 * recording agents and engines and a hand-driven clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExperimentDefinition } from '../../../src/domain/experiment.js';
import { def, pipe, TestWorld } from '../../support/system.js';

const NO_ENGINES = 'no dataflow engines available to handle pipeline';

/** A world with one server replica and the given models loaded and Available. */
function withModels(...names: string[]): TestWorld {
  const w = new TestWorld();
  w.join('s1', 0, { memory: 10_000 });
  for (const n of names) w.system.loadModel(def(n));
  w.ackAll();
  return w;
}

const experiment = (
  name: string,
  candidates: string[],
  o: Partial<ExperimentDefinition> = {},
): ExperimentDefinition => ({
  name,
  candidates: candidates.map((c) => ({ name: c, weight: 50 })),
  resourceType: 'model',
  ...o,
});

const expState = (w: TestWorld, name: string) => {
  const e = w.system.experiment(name);
  if (!e) throw new Error(`no experiment ${name}`);
  return {
    active: e.active,
    candidatesReady: e.candidatesReady,
    mirrorReady: e.mirrorReady,
    statusDescription: e.statusDescription,
  };
};

describe('pipelines: versions, unload, status (scenarios 15-21)', () => {
  it('#1 a new pipeline is version 1 with a uid, Create and models not ready', () => {
    const w = new TestWorld();
    w.system.loadPipeline(pipe('p1', { a: [] }));
    const p = w.system.pipeline('p1', false);
    assert.equal(p?.versions[0]?.version, 1);
    assert.equal(p.versions[0].uid.length, 20);
    assert.equal(w.pipelineState('p1'), `create|${NO_ENGINES}|modelsNotReady`);
  });

  it('#15 an identical load is a no-op (our difference); a changed spec makes version 2', () => {
    const w = new TestWorld();
    w.system.loadPipeline(pipe('p1', { a: [] }));
    w.system.loadPipeline(pipe('p1', { a: [] }));
    assert.equal(w.system.pipeline('p1', true)?.versions.length, 1);
    w.system.loadPipeline(pipe('p1', { a: [], b: ['a'] }));
    const all = w.system.pipeline('p1', true)?.versions ?? [];
    assert.deepEqual(
      all.map((v) => v.version),
      [1, 2],
    );
    assert.notEqual(all[0]?.uid, all[1]?.uid);
    assert.deepEqual(
      w.system.pipeline('p1', false)?.versions.map((v) => v.version),
      [2],
    );
  });

  it('#16 the same Kubernetes generation is a no-op even with another spec', () => {
    const w = new TestWorld();
    w.system.loadPipeline(pipe('p1', { a: [] }, { generation: 3 }));
    w.system.loadPipeline(pipe('p1', { a: [], b: [] }, { generation: 3 }));
    assert.equal(w.system.pipeline('p1', true)?.versions.length, 1);
    w.system.loadPipeline(pipe('p1', { a: [], b: [] }, { generation: 4 }));
    assert.equal(w.system.pipeline('p1', true)?.versions.length, 2);
  });

  it('#17 #19 unloading an unknown, terminated or terminating pipeline is refused', () => {
    const w = new TestWorld();
    assert.throws(() => {
      w.system.unloadPipeline('nope');
    }, /^SchedulerError: pipeline nope not found$/);
    w.engineJoin('df-0');
    w.system.loadPipeline(pipe('p1', { a: [] }));
    w.engineAckAll();
    w.system.unloadPipeline('p1');
    assert.match(w.pipelineState('p1'), /^terminating\|/);
    assert.throws(() => {
      w.system.unloadPipeline('p1');
    }, /pipeline p1 still terminating/);
    w.engineAckAll();
    assert.match(w.pipelineState('p1'), /^terminated\|/);
    assert.throws(() => {
      w.system.unloadPipeline('p1');
    }, /pipeline p1 not found/);
  });

  it('#18 without engines an unloaded pipeline is Terminated at once and still listed', () => {
    const w = new TestWorld();
    w.system.loadPipeline(pipe('p1', { a: [] }));
    w.system.unloadPipeline('p1');
    assert.equal(w.pipelineState('p1'), `terminated|${NO_ENGINES}|modelsNotReady`);
    assert.deepEqual(
      w.system.listPipelines(false).map((p) => [p.name, p.deleted]),
      [['p1', true]],
    );
  });

  it('#20 loading an unloaded pipeline starts again at version 1 with a new uid', () => {
    const w = new TestWorld();
    w.system.loadPipeline(pipe('p1', { a: [] }));
    w.system.loadPipeline(pipe('p1', { b: [] }));
    w.system.loadPipeline(pipe('p1', { c: [] }));
    const oldUid = w.system.pipeline('p1', false)?.versions[0]?.uid;
    w.system.unloadPipeline('p1');
    w.system.loadPipeline(pipe('p1', { c: [] }));
    const all = w.system.pipeline('p1', true);
    assert.deepEqual(
      all?.versions.map((v) => v.version),
      [1],
    );
    assert.notEqual(all.versions[0]?.uid, oldUid);
    assert.equal(all.deleted, false);
  });

  it('#21 listing: none, then every pipeline', () => {
    const w = new TestWorld();
    assert.deepEqual(w.system.listPipelines(false), []);
    w.system.loadPipeline(pipe('p2', { a: [] }));
    w.system.loadPipeline(pipe('p1', { a: [] }));
    assert.deepEqual(
      w.system.listPipelines(false).map((p) => p.name),
      ['p1', 'p2'],
    );
  });

  it('invalid pipelines are refused with the reference text and change nothing', () => {
    const w = new TestWorld();
    assert.throws(() => {
      w.system.loadPipeline(pipe('p', { a: [], b: ['c'] }, { triggers: { a: ['b'], b: ['a'] } }));
    });
    assert.deepEqual(w.system.listPipelines(false), []);
  });

  it('deleted pipelines are purged after the TTL', () => {
    const w = new TestWorld({ deletedTtlMs: 1000 });
    w.system.loadPipeline(pipe('p1', { a: [] }));
    w.system.unloadPipeline('p1');
    w.advance(999);
    assert.ok(w.system.pipeline('p1', false));
    w.advance(1);
    assert.equal(w.system.pipeline('p1', false), undefined);
  });
});

describe('pipelines: dataflow engines (scenarios 22-26)', () => {
  it('#22 an engine gets Create and its ack makes the pipeline Ready', () => {
    const w = new TestWorld();
    w.engineJoin('df-0');
    w.system.loadPipeline(pipe('p1', { a: [] }));
    assert.equal(w.pipelineState('p1'), 'creating||modelsNotReady');
    const [sent] = w.engines.ops;
    assert.equal(sent?.op.op, 'create');
    assert.equal(sent.op.uid, w.system.pipeline('p1', false)?.versions[0]?.uid);
    assert.deepEqual(w.engineAckAll(), ['create p1:1@df-0']);
    assert.equal(w.pipelineState('p1'), 'ready|1/1 ready |modelsNotReady');
  });

  it('#23 acks with an old timestamp or from an engine not asked are ignored', () => {
    const w = new TestWorld();
    w.engineJoin('df-0');
    w.system.loadPipeline(pipe('p1', { a: [] }));
    const op = w.engines.ops[0]?.op;
    assert.ok(op);
    const ack = {
      engine: 'df-0',
      op: 'create' as const,
      pipeline: 'p1',
      version: 1,
      uid: op.uid,
      timestamp: op.timestamp,
      success: true,
      reason: '',
    };
    w.system.dataflowEvent({ ...ack, timestamp: op.timestamp - 1 });
    w.system.dataflowEvent({ ...ack, engine: 'other' });
    assert.equal(w.pipelineState('p1'), 'creating||modelsNotReady');
    assert.throws(() => {
      w.system.dataflowEvent({ ...ack, uid: 'wrong' });
    }, /pipeline version uid mismatch p1:1 expected/);
    assert.throws(() => {
      w.system.dataflowEvent({ ...ack, version: 9 });
    }, /pipeline version p1:9 not found/);
    assert.throws(() => {
      w.system.dataflowEvent({ ...ack, pipeline: 'zz' });
    }, /pipeline zz not found/);
  });

  it('#24 a failed create is Failed with the reason, then retried after a minute', () => {
    const w = new TestWorld();
    w.engineJoin('df-0');
    w.system.loadPipeline(pipe('p1', { a: [] }));
    const first = w.engines.ops[0]?.op.timestamp ?? 0;
    w.engineAckAll({ success: false, reason: 'kafka down' });
    assert.equal(w.pipelineState('p1'), 'failed|1/1 failed (df-0: kafka down)|modelsNotReady');
    w.advance(60_000);
    assert.equal(w.pipelineState('p1'), 'creating|Rebalance|modelsNotReady');
    assert.ok((w.engines.ops[0]?.op.timestamp ?? 0) > first);
    w.engineAckAll();
    assert.match(w.pipelineState('p1'), /^ready\|/);
  });

  it('#24 failed versions are retried at most 10 times', () => {
    const w = new TestWorld();
    w.engineJoin('df-0');
    w.system.loadPipeline(pipe('p1', { a: [] }));
    for (let i = 0; i < 11; i++) {
      w.engineAckAll({ success: false, reason: 'no' });
      w.advance(60_000);
    }
    assert.match(w.pipelineState('p1'), /^failed\|/);
    assert.deepEqual(w.engines.take(), []);
  });

  it('#25 a new ready version retires the old one, which the engine deletes', () => {
    const w = new TestWorld();
    w.engineJoin('df-0');
    w.system.loadPipeline(pipe('p1', { a: [] }));
    w.engineAckAll();
    w.system.loadPipeline(pipe('p1', { b: [] }));
    assert.deepEqual(w.engineAckAll(), ['create p1:2@df-0', 'delete p1:1@df-0']);
    const [v1, v2] = w.system.pipeline('p1', true)?.versions ?? [];
    assert.equal(v1?.state, 'terminated');
    assert.equal(v2?.state, 'ready');
  });

  it('#25 the old version keeps serving until the new one is ready', () => {
    const w = new TestWorld();
    w.engineJoin('df-0');
    w.system.loadPipeline(pipe('p1', { a: [] }));
    w.engineAckAll();
    w.system.loadPipeline(pipe('p1', { b: [] }));
    assert.deepEqual(
      w.system.pipeline('p1', true)?.versions.map((v) => v.state),
      ['ready', 'creating'],
    );
  });

  it('#26 losing the only engine puts pipelines back in Create; a new one takes them', () => {
    const w = new TestWorld();
    w.engineJoin('df-0');
    w.system.loadPipeline(pipe('p1', { a: [] }));
    w.system.engineLeft('df-0');
    w.engines.take();
    assert.equal(w.pipelineState('p1'), `create|${NO_ENGINES}|modelsNotReady`);
    w.engineJoin('df-1');
    assert.equal(w.pipelineState('p1'), 'creating|Rebalance|modelsNotReady');
    assert.deepEqual(w.engineAckAll(), ['create p1:1@df-1']);
    assert.match(w.pipelineState('p1'), /^ready\|/);
  });

  it('a pending pipeline proceeds when the first engine connects', () => {
    const w = new TestWorld();
    w.system.loadPipeline(pipe('p1', { a: [] }));
    w.system.loadPipeline(pipe('p2', { a: [] }));
    assert.deepEqual(w.engines.take(), []);
    w.engineJoin('df-0');
    assert.deepEqual(w.engineAckAll().sort(), ['create p1:1@df-0', 'create p2:1@df-0']);
    assert.match(w.pipelineState('p2'), /^ready\|/);
  });

  it('pipelines spread over engines; a joining engine moves only its share', () => {
    const w = new TestWorld();
    w.engineJoin('df-0');
    const names = Array.from({ length: 20 }, (_, i) => `p${i}`);
    for (const n of names) w.system.loadPipeline(pipe(n, { a: [] }));
    w.engineAckAll();
    w.engineJoin('df-1');
    const moved = w.engines.ops.filter((o) => o.op.op === 'create');
    assert.ok(moved.length > 0 && moved.length < names.length, `moved ${moved.length}`);
    assert.ok(moved.every((o) => o.engine === 'df-1'));
    // The engine that gave a pipeline up is told to delete its copy.
    const deletes = w.engines.ops.filter((o) => o.op.op === 'delete');
    assert.equal(deletes.length, moved.length);
    assert.ok(deletes.every((o) => o.engine === 'df-0' && o.op.keepTopics));
    w.engineAckAll();
    assert.ok(names.every((n) => w.pipelineState(n).startsWith('ready|')));
  });

  it('an engine reporting a rebalance puts the pipeline back in Creating until it is ready', () => {
    const w = new TestWorld();
    w.engineJoin('df-0');
    w.system.loadPipeline(pipe('p1', { a: [] }));
    const op = w.engines.ops[0]?.op;
    assert.ok(op);
    w.engineAckAll();
    const news = {
      engine: 'df-0',
      pipeline: 'p1',
      version: 1,
      uid: op.uid,
      timestamp: op.timestamp,
      success: true,
      reason: '',
    };
    w.system.dataflowEvent({ ...news, op: 'rebalance' });
    assert.equal(w.pipelineState('p1'), 'creating|Rebalance|modelsNotReady');
    w.system.dataflowEvent({ ...news, op: 'ready' });
    assert.match(w.pipelineState('p1'), /^ready\|/);
  });

  it('unloading stops every running version, not only the latest', () => {
    const w = new TestWorld();
    w.engineJoin('df-0');
    w.system.loadPipeline(pipe('p1', { a: [] }));
    w.engineAckAll();
    w.system.loadPipeline(pipe('p1', { b: [] }));
    w.system.unloadPipeline('p1');
    w.engineAckAll();
    assert.deepEqual(
      w.system.pipeline('p1', true)?.versions.map((v) => v.state),
      ['terminated', 'terminated'],
    );
  });
});

describe('pipelines: modelsReady (scenarios 28-29)', () => {
  it('#28 follows the step models live, both ways (no model gateway in the seed)', () => {
    const w = withModels('a');
    w.system.loadPipeline(pipe('p1', { a: [], b: ['a'] }));
    assert.match(w.pipelineState('p1'), /\|modelsNotReady$/);
    w.system.loadModel(def('b'));
    assert.match(w.pipelineState('p1'), /\|modelsNotReady$/);
    w.ackAll();
    assert.match(w.pipelineState('p1'), /\|modelsReady$/);
    w.system.unloadModel('b');
    assert.match(w.pipelineState('p1'), /\|modelsNotReady$/);
  });

  it('a model whose new version loads keeps the step ready while the old one serves', () => {
    const w = withModels('a');
    w.system.loadPipeline(pipe('p1', { a: [] }));
    assert.match(w.pipelineState('p1'), /\|modelsReady$/);
    w.system.loadModel(def('a', { uri: 'gs://v2' }));
    assert.match(w.pipelineState('p1'), /\|modelsReady$/);
  });
});

describe('experiments (scenarios 30-40)', () => {
  it('#30-#32 validation failures change nothing', () => {
    const w = new TestWorld();
    assert.throws(() => {
      w.system.startExperiment(experiment('e', []));
    }, /experiment e has no candidates or mirror/);
    assert.deepEqual(w.system.listExperiments(), []);
    w.system.startExperiment(experiment('m', [], { mirror: { name: 'm1', percent: 10 } }));
    assert.ok(w.system.experiment('m'));
  });

  it('#33 a default can be the baseline of one experiment per resource type', () => {
    const w = new TestWorld();
    w.system.startExperiment(experiment('b', ['model1', 'model2'], { default: 'model1' }));
    assert.throws(
      () => {
        w.system.startExperiment(experiment('a', ['model1', 'model3'], { default: 'model1' }));
      },
      {
        message:
          'Resource model1 already in experiment a as a baseline. A model or pipeline can only appear in one experiment as a baseline',
      },
    );
    w.system.startExperiment(experiment('b', ['model1', 'model2'], { default: 'model1' }));
    w.system.startExperiment(
      experiment('c', ['model1'], { default: 'model1', resourceType: 'pipeline' }),
    );
  });

  it('#34 without models it is inactive, candidates not ready, mirror ready', () => {
    const w = new TestWorld();
    w.system.startExperiment(experiment('e', ['iris', 'iris2'], { default: 'iris' }));
    assert.deepEqual(expState(w, 'e'), {
      active: false,
      candidatesReady: false,
      mirrorReady: true,
      statusDescription: 'no live replica for model iris for model route e.experiment',
    });
  });

  it('#35 #36 with Available models it is active; unloading a candidate deactivates it', () => {
    const w = withModels('iris', 'iris2');
    w.system.startExperiment(experiment('e', ['iris', 'iris2'], { default: 'iris' }));
    assert.deepEqual(expState(w, 'e'), {
      active: true,
      candidatesReady: true,
      mirrorReady: true,
      statusDescription: 'experiment active',
    });
    w.system.unloadModel('iris2');
    assert.deepEqual(expState(w, 'e'), {
      active: false,
      candidatesReady: false,
      mirrorReady: true,
      statusDescription: 'no live replica for model iris2 for model route e.experiment',
    });
    w.ackAll();
    w.system.loadModel(def('iris2', { uri: 'gs://again' }));
    w.ackAll();
    assert.equal(expState(w, 'e').active, true);
  });

  it('a mirror must be ready for mirrorReady', () => {
    const w = withModels('iris');
    w.system.startExperiment(
      experiment('e', ['iris'], { default: 'iris', mirror: { name: 'iris2', percent: 100 } }),
    );
    assert.deepEqual(expState(w, 'e'), {
      active: false,
      candidatesReady: true,
      mirrorReady: false,
      statusDescription: 'no live replica for model iris2 for model route e.experiment',
    });
  });

  it('#37 pipeline experiments: a missing default pipeline, candidates need PipelineReady', () => {
    const w = new TestWorld();
    w.system.startExperiment(
      experiment('e', ['pa', 'pb'], { default: 'pa', resourceType: 'pipeline' }),
    );
    assert.deepEqual(expState(w, 'e'), {
      active: false,
      candidatesReady: false,
      mirrorReady: true,
      statusDescription: 'pipeline pa not found',
    });
    w.system.startExperiment(experiment('f', ['pa', 'pb'], { resourceType: 'pipeline' }));
    assert.equal(expState(w, 'f').active, true);
    w.engineJoin('df-0');
    w.system.loadPipeline(pipe('pa', { a: [] }));
    w.system.loadPipeline(pipe('pb', { a: [] }));
    assert.equal(expState(w, 'e').active, true);
    assert.equal(expState(w, 'e').candidatesReady, false);
    w.engineAckAll();
    assert.equal(expState(w, 'e').candidatesReady, true);
    w.system.unloadPipeline('pb');
    assert.equal(expState(w, 'e').candidatesReady, false);
  });

  it('#38 #39 stopping: unknown is refused; stopped stays listed; the baseline is free again', () => {
    const w = withModels('iris', 'iris2');
    assert.throws(() => {
      w.system.stopExperiment('ghost');
    }, /Experiment not found ghost/);
    w.system.startExperiment(experiment('e', ['iris', 'iris2'], { default: 'iris' }));
    w.system.stopExperiment('e');
    assert.deepEqual(expState(w, 'e'), {
      active: false,
      candidatesReady: true,
      mirrorReady: true,
      statusDescription: 'experiment active',
    });
    w.system.stopExperiment('e');
    w.system.startExperiment(experiment('other', ['iris'], { default: 'iris' }));
    assert.equal(expState(w, 'other').active, true);
  });

  it('a stopped experiment can be started again and is purged after the TTL', () => {
    const w = new TestWorld({ deletedTtlMs: 1000 });
    w.system.startExperiment(experiment('e', ['m']));
    w.system.stopExperiment('e');
    w.system.startExperiment(experiment('e', ['m']));
    assert.equal(w.system.experiment('e')?.deleted, false);
    w.system.stopExperiment('e');
    w.advance(1000);
    assert.equal(w.system.experiment('e'), undefined);
  });

  it('changes are reported for the experiments and pipelines that changed', () => {
    const w = withModels('a');
    const seen: string[] = [];
    w.system.subscribe((c) => {
      seen.push(
        ...c.pipelines.map((p) => `pipeline ${p.name}:${p.version}`),
        ...c.experiments.map((e) => `experiment ${e}`),
      );
    });
    w.system.loadPipeline(pipe('p1', { a: [] }));
    w.system.startExperiment(experiment('e', ['a']));
    w.system.unloadModel('a');
    assert.deepEqual(seen, ['pipeline p1:1', 'experiment e', 'pipeline p1:1', 'experiment e']);
  });
});
