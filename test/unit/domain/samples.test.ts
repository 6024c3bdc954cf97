/**
 * Every Seldon sample Pipeline and Experiment (test/fixtures/seldon-samples) through what a
 * request meets: the client's strict manifest decode (src/cli/manifests.ts, through
 * test/support/manifests.ts), the wire decode and the domain rules. Files without an entry in the
 * expectations below must be accepted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSchedulerError } from '../../../src/domain/errors.js';
import { checkExperiment } from '../../../src/domain/experiment.js';
import { preparePipeline, type PipelineDefinition } from '../../../src/domain/pipeline.js';
import { experimentFromProto } from '../../../src/wire/scheduler/experiment.js';
import { pipelineFromProto } from '../../../src/wire/scheduler/pipeline.js';
import { experimentManifest, ManifestError, pipelineManifest } from '../../support/manifests.js';
import {
  EXPERIMENT_FAILURES,
  PIPELINE_FAILURES,
  read,
  sampleName,
  yamlFiles,
  type Outcome,
} from '../../support/samples.js';

const loadPipeline = (text: string, file?: string): PipelineDefinition =>
  preparePipeline(pipelineFromProto('pipeline', pipelineManifest(text, file)));

function startExperiment(text: string, file?: string): void {
  checkExperiment(experimentFromProto('experiment', experimentManifest(text, file)));
}

function expectOutcome(run: () => unknown, outcome: Outcome): void {
  assert.throws(run, (e: unknown) => {
    if ('decode' in outcome) {
      assert.ok(
        e instanceof ManifestError && !isSchedulerError(e),
        `expected a ManifestError, got ${String(e)}`,
      );
      assert.equal(e.message, outcome.decode);
    } else {
      assert.ok(isSchedulerError(e), `expected a SchedulerError, got ${String(e)}`);
      assert.equal(e.code, outcome.code);
      assert.equal(e.message, outcome.message);
    }
    return true;
  });
}

function describeSamples(
  kind: 'pipelines' | 'experiments',
  failures: Readonly<Record<string, Outcome>>,
  accept: (text: string, file: string) => unknown,
): void {
  describe(`samples/${kind}`, () => {
    const files = yamlFiles(kind);

    it('has every file the expectations name', () => {
      for (const file of Object.keys(failures)) assert.ok(files.includes(file), file);
    });

    for (const file of files) {
      const outcome = failures[file];
      it(`${file} ${outcome ? 'is refused' : 'is accepted'}`, () => {
        const run = () => accept(read(kind, file), sampleName(kind, file));
        if (outcome) expectOutcome(run, outcome);
        else run();
      });
    }
  });
}

describeSamples('pipelines', PIPELINE_FAILURES, loadPipeline);
describeSamples('experiments', EXPERIMENT_FAILURES, startExperiment);

describe('samples: what the scheduler stores', () => {
  const steps = (file: string) =>
    Object.fromEntries(loadPipeline(read('pipelines', file)).steps.map((s) => [s.name, s]));

  it('tfsimples.yaml: a bare input becomes <step>.outputs', () => {
    assert.deepEqual(steps('tfsimples.yaml')['tfsimple2']?.inputs, ['tfsimple1.outputs']);
  });

  it('outlier.yaml: a bare trigger becomes <step>.outputs', () => {
    assert.deepEqual(steps('outlier.yaml')['add10']?.triggers, ['outlier-error.outputs']);
  });

  it('trigger-joins.yaml: triggersJoinType any, triggers on the pipeline inputs', () => {
    const mul10 = steps('trigger-joins.yaml')['mul10'];
    assert.equal(mul10?.triggersJoin, 'any');
    assert.deepEqual(mul10.triggers, ['trigger-joins.inputs.ok1', 'trigger-joins.inputs.ok2']);
  });

  it('choice.yaml: steps sorted by name, output join any', () => {
    const def = loadPipeline(read('pipelines', 'choice.yaml'));
    assert.deepEqual(
      def.steps.map((s) => s.name),
      ['add10', 'choice-is-one', 'choice-is-two', 'mul10'],
    );
    assert.deepEqual(def.output, {
      steps: ['mul10.outputs', 'add10.outputs'],
      joinWindowMs: 0,
      stepsJoin: 'any',
      tensorMap: {},
    });
  });

  it('tfsimple-extended-step.yaml: an external step input with its tensor map', () => {
    const def = loadPipeline(read('pipelines', 'tfsimple-extended-step.yaml'));
    assert.deepEqual(def.input?.externalInputs, ['tfsimple.step.tfsimple1.outputs']);
    assert.equal(def.input.tensorMap['tfsimple.step.tfsimple1.outputs.OUTPUT1'], 'INPUT1');
  });

  it('iris-async-drift.yaml: batch size and the pipeline inputs as a step input', () => {
    const drift = steps('iris-async-drift.yaml')['iris-drift-detect'];
    assert.deepEqual(drift?.batch, { size: 2 });
    assert.deepEqual(drift.inputs, ['iris-async-drift.inputs']);
  });

  it('metadata: namespace "" and generation 0 unless the manifest has them', () => {
    const def = loadPipeline(read('pipelines', 'tfsimple.yaml'));
    assert.deepEqual(def.kubernetesMeta, { namespace: '', generation: 0 });
  });

  it('addmul10-mirror.yaml: a pipeline experiment with a mirror', () => {
    const def = experimentFromProto(
      'experiment',
      experimentManifest(read('experiments', 'addmul10-mirror.yaml')),
    );
    assert.deepEqual(def, {
      name: 'addmul10-mirror',
      default: 'pipeline-add10',
      candidates: [{ name: 'pipeline-add10', weight: 100 }],
      mirror: { name: 'pipeline-mul10', percent: 100 },
      kubernetesMeta: { namespace: '', generation: 0 },
      resourceType: 'pipeline',
    });
  });
});

describe('manifests: strict decode', () => {
  const doc = (spec: string) =>
    `apiVersion: mlops.seldon.io/v1alpha1\nkind: Pipeline\nmetadata:\n  name: p\n  namespace: ns\n  generation: 3\nspec:\n${spec}`;

  it('names an unknown field at any depth', () => {
    assert.throws(
      () => pipelineManifest(doc('  steps:\n  - name: a\n    batch:\n      sise: 2\n')),
      {
        name: 'ManifestError',
        message: 'manifest.yaml: document 1 (Pipeline p): spec.steps[0].batch.sise: unknown field',
      },
    );
    assert.throws(() => pipelineManifest(doc('  allowCycle: true\n  steps: []\n')), {
      name: 'ManifestError',
      message: 'manifest.yaml: document 1 (Pipeline p): spec.allowCycle: unknown field',
    });
  });

  it('maps join types (unknown strings mean inner), drops batch.rolling, keeps metadata', () => {
    const p = pipelineManifest(
      doc(
        '  steps:\n  - name: a\n    inputsJoinType: outer\n    triggersJoinType: sideways\n    batch:\n      size: 3\n      rolling: true\n',
      ),
    );
    assert.deepEqual(p.steps[0]?.inputsJoin, 1);
    assert.deepEqual(p.steps[0].triggersJoin, 0);
    assert.deepEqual(p.steps[0].batch, { size: 3 });
    assert.deepEqual(p.kubernetesMeta, { namespace: 'ns', generation: 3n });
    assert.equal(p.uid, '');
  });

  it('refuses other kinds and API versions', () => {
    assert.throws(
      () =>
        pipelineManifest(
          'apiVersion: mlops.seldon.io/v1alpha1\nkind: SeldonDeployment\nmetadata:\n  name: m\n',
        ),
      /kind: Unknown Seldon Kind SeldonDeployment/,
    );
    assert.throws(
      () => pipelineManifest('apiVersion: v1\nkind: Pipeline\nmetadata:\n  name: p\n'),
      /apiVersion: must be mlops\.seldon\.io\/v1alpha1/,
    );
  });

  it('refuses numbers outside uint32', () => {
    assert.throws(
      () => pipelineManifest(doc('  steps:\n  - name: a\n    joinWindowMs: -1\n')),
      /spec\.steps\[0\]\.joinWindowMs: must be a whole number/,
    );
  });
});
