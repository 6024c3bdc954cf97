/**
 * StartExperiment validation, the reference's rules 2-4 (in its order, with its messages) and its
 * scenarios 30-32. Rule 1 (the baseline is free) is stateful and belongs to the caller; scenario 40
 * (unknown resource type) is at the wire: test/unit/wire/pipeline-experiment.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSchedulerError } from '../../../src/domain/errors.js';
import { checkExperiment, type ExperimentDefinition } from '../../../src/domain/experiment.js';

const experiment = (
  name: string,
  candidates: string[],
  more: Partial<Pick<ExperimentDefinition, 'default' | 'mirror' | 'resourceType'>> = {},
): ExperimentDefinition => ({
  name,
  candidates: candidates.map((c) => ({ name: c, weight: 50 })),
  resourceType: 'model',
  ...more,
});

function rejects(def: ExperimentDefinition, message: string): void {
  assert.throws(
    () => {
      checkExperiment(def);
    },
    (e: unknown) => {
      assert.ok(isSchedulerError(e));
      assert.equal(e.code, 'FailedPrecondition');
      assert.equal(e.message, message);
      assert.deepEqual(e.details, { experiment: def.name });
      return true;
    },
  );
}

describe('checkExperiment (the reference rules)', () => {
  it('accepts a default among the candidates', () => {
    checkExperiment(experiment('e', ['iris', 'iris2'], { default: 'iris' }));
  });

  it('#30 no candidates and no mirror', () => {
    rejects(experiment('e', []), 'experiment e has no candidates or mirror');
  });

  it('#30 a mirror alone is enough', () => {
    checkExperiment(experiment('e', [], { mirror: { name: 'm', percent: 10 } }));
  });

  it('#31 a default that is not a candidate', () => {
    rejects(
      experiment('a', ['model2'], { default: 'model1' }),
      'default model/pipeline model1 not found in experiment a candidates',
    );
  });

  it('rule 2 comes before rule 3', () => {
    rejects(
      experiment('a', [], { default: 'model1' }),
      'default model/pipeline model1 not found in experiment a candidates',
    );
  });

  it('#32 a candidate listed twice', () => {
    rejects(
      experiment('a', ['model1', 'model2', 'model2']),
      'each candidate and mirror must be unique but found resource model2 duplicated in experiment a',
    );
  });

  it('#32 a mirror that is also a candidate', () => {
    rejects(
      experiment('a', ['model1', 'model2'], { mirror: { name: 'model2', percent: 100 } }),
      'each candidate and mirror must be unique but found resource model2 duplicated in experiment a',
    );
  });

  it('rule 4 reports the first repeat in request order', () => {
    rejects(
      experiment('a', ['z', 'b', 'z', 'b']),
      'each candidate and mirror must be unique but found resource z duplicated in experiment a',
    );
  });

  it('does not check weights, percentages or the resource type (reference)', () => {
    checkExperiment({
      name: 'e',
      candidates: [
        { name: 'a', weight: 0 },
        { name: 'b', weight: 4_000_000_000 },
      ],
      mirror: { name: 'c', percent: 1000 },
      resourceType: 'pipeline',
    });
  });
});
