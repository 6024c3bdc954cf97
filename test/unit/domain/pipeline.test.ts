/**
 * LoadPipeline normalisation and validation as the reference does them (in its order, with its
 * messages) and its acceptance scenarios (numbers in the test names). Scenario 2 (the name) is at the wire:
 * test/unit/wire/pipeline-experiment.test.ts. Scenarios 10 (allowCycles) and 14 do not apply: the
 * seed's Pipeline message has no allowCycles, maxStepRevisits or dataflow.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSchedulerError } from '../../../src/domain/errors.js';
import {
  EXTERNAL_INPUT_REASONS,
  externalInputProblem,
  preparePipeline,
  samePipelineSpec,
  stepModels,
  type PipelineDefinition,
  type PipelineInputDef,
  type PipelineOutputDef,
  type PipelineStepDef,
} from '../../../src/domain/pipeline.js';

const step = (name: string, inputs: string[] = [], triggers: string[] = []): PipelineStepDef => ({
  name,
  inputs,
  triggers,
  tensorMap: {},
  inputsJoin: 'inner',
  triggersJoin: 'inner',
});

const output = (steps: string[]): PipelineOutputDef => ({
  steps,
  joinWindowMs: 0,
  stepsJoin: 'inner',
  tensorMap: {},
});

const input = (externalInputs: string[], externalTriggers: string[] = []): PipelineInputDef => ({
  externalInputs,
  externalTriggers,
  joinType: 'inner',
  triggersJoin: 'inner',
  tensorMap: {},
});

const pipeline = (
  name: string,
  steps: PipelineStepDef[],
  more: Partial<Pick<PipelineDefinition, 'input' | 'output' | 'kubernetesMeta'>> = {},
): PipelineDefinition => ({ name, steps, ...more });

/** preparePipeline refuses `raw` with FAILED_PRECONDITION and exactly `message`. */
function rejects(raw: PipelineDefinition, message: string): void {
  assert.throws(
    () => preparePipeline(raw),
    (e: unknown) => {
      assert.ok(isSchedulerError(e));
      assert.equal(e.code, 'FailedPrecondition');
      assert.equal(e.message, message);
      assert.deepEqual(e.details, { pipeline: raw.name });
      return true;
    },
  );
}

describe('preparePipeline: normalisation', () => {
  it('#1 a one-step pipeline is accepted as it is', () => {
    const def = preparePipeline(pipeline('p1', [step('a')]));
    assert.deepEqual(def, pipeline('p1', [step('a')]));
  });

  it('#11 bare refs become <step>.outputs, the pipeline name <p>.inputs; steps sorted', () => {
    const def = preparePipeline(
      pipeline('p', [step('c', ['p']), step('b', ['a']), step('a')], { output: output(['b']) }),
    );
    assert.deepEqual(
      def.steps.map((s) => s.name),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(def.steps[1]?.inputs, ['a.outputs']);
    assert.deepEqual(def.steps[2]?.inputs, ['p.inputs']);
    assert.deepEqual(def.output?.steps, ['b.outputs']);
  });

  it('normalises triggers like inputs and keeps dotted refs verbatim', () => {
    const def = preparePipeline(
      pipeline('p', [step('a'), step('b', ['a.outputs.t'], ['a', 'p', 'p.inputs.ok'])]),
    );
    assert.deepEqual(def.steps[1]?.inputs, ['a.outputs.t']);
    assert.deepEqual(def.steps[1].triggers, ['a.outputs', 'p.inputs', 'p.inputs.ok']);
  });

  it('#12 external inputs and triggers: p → p.outputs, p.step.s → p.step.s.outputs', () => {
    const def = preparePipeline(
      pipeline('p', [step('a')], {
        input: input(['other', 'other.step.s', 'x.inputs.t'], ['trig', 'trig.step.s']),
      }),
    );
    assert.deepEqual(def.input?.externalInputs, [
      'other.outputs',
      'other.step.s.outputs',
      'x.inputs.t',
    ]);
    assert.deepEqual(def.input.externalTriggers, ['trig.outputs', 'trig.step.s.outputs']);
  });

  it('an empty external input normalises to .outputs and is accepted (reference quirk)', () => {
    const def = preparePipeline(pipeline('p', [step('a')], { input: input(['']) }));
    assert.deepEqual(def.input?.externalInputs, ['.outputs']);
  });

  it('does not touch the request it was given', () => {
    const raw = pipeline('p', [step('b', ['a']), step('a')], {
      kubernetesMeta: { namespace: 'ns', generation: 2 },
    });
    const copy = structuredClone(raw);
    const def = preparePipeline(raw);
    assert.deepEqual(raw, copy);
    assert.deepEqual(def.kubernetesMeta, { namespace: 'ns', generation: 2 });
  });
});

describe('preparePipeline: validation in the reference order', () => {
  it('#5 rule 0: repeated step names', () => {
    rejects(pipeline('p', [step('a'), step('b'), step('a')]), 'pipeline p has repeated step a');
  });

  it('rule 0 reports the first repeated name in name order', () => {
    rejects(
      pipeline('p', [step('z'), step('z'), step('b'), step('b')]),
      'pipeline p has repeated step b',
    );
  });

  it('#3 rule 2: no steps', () => {
    rejects(pipeline('p', []), 'pipeline p has no steps defined');
  });

  it('#4 rule 3: a step named like the pipeline', () => {
    rejects(
      pipeline('iris', [step('iris')], { output: output(['iris']) }),
      'pipeline iris must not have a step name with the same name as pipeline name',
    );
  });

  it('#6 rule 4: an empty input, "" or ".outputs"', () => {
    for (const ref of ['', '.outputs', '.x']) {
      rejects(pipeline('p', [step('a'), step('b', [ref])]), 'pipeline p step b has an empty input');
    }
  });

  it('#6 a whitespace-only input fails rule 6 instead (normalised to "  .outputs")', () => {
    rejects(
      pipeline('p', [step('a'), step('b', ['  '])]),
      'pipeline p step b has input    for step that does not exist',
    );
  });

  it('#7 rule 4b: an input with a bad specifier or too many parts (trailing dot)', () => {
    for (const ref of ['a.ffo.t1', 'a.inputs.t1.foo']) {
      rejects(
        pipeline('p', [step('a'), step('b', [ref])]),
        `pipeline step input invalid pipeline p step b input step ${ref}.`,
      );
    }
  });

  it('rule 4 runs over every step before rule 4b', () => {
    rejects(
      pipeline('p', [step('a', ['a.bad']), step('b', [''])]),
      'pipeline p step b has an empty input',
    );
  });

  it('#6 rule 5: an empty trigger', () => {
    for (const ref of ['', '.outputs']) {
      rejects(
        pipeline('p', [step('a'), step('b', ['a'], [ref])]),
        'pipeline p step b has an empty trigger',
      );
    }
  });

  it('rule 5: a trigger with a bad specifier (the reference says "input step")', () => {
    rejects(
      pipeline('p', [step('a'), step('b', [], ['a.sdfs.x'])]),
      'pipeline step trigger invalid pipeline p step b input step a.sdfs.x.',
    );
  });

  it('inputs are checked before triggers', () => {
    rejects(
      pipeline('p', [step('a', [], ['']), step('b', ['a.x.y.z'])]),
      'pipeline step input invalid pipeline p step b input step a.x.y.z.',
    );
  });

  it('#8 rule 6: an input naming a step that does not exist', () => {
    rejects(
      pipeline('p', [step('a'), step('b', ['a']), step('c', ['f.outputs'])]),
      'pipeline p step c has input f for step that does not exist',
    );
  });

  it('rule 6 reports the first offending step in name order', () => {
    rejects(
      pipeline('p', [step('z', ['y']), step('m', ['x'])]),
      'pipeline p step m has input x for step that does not exist',
    );
  });

  it('ours: a trigger naming a step that does not exist is refused (the reference crashes)', () => {
    rejects(
      pipeline('p', [step('a'), step('b', ['a'], ['ghost.outputs.t'])]),
      'pipeline p step b has trigger ghost for step that does not exist',
    );
  });

  it('ours: a whitespace-only trigger names no step', () => {
    rejects(
      pipeline('p', [step('a'), step('b', ['a'], ['  '])]),
      'pipeline p step b has trigger    for step that does not exist',
    );
  });

  it('ours: the missing trigger target is checked after rule 6 and before rule 6b', () => {
    rejects(
      pipeline('p', [step('a', ['nope']), step('b', [], ['ghost'])]),
      'pipeline p step a has input nope for step that does not exist',
    );
    rejects(
      pipeline('p', [step('a'), step('b', [], ['ghost'])], { output: output(['foo']) }),
      'pipeline p step b has trigger ghost for step that does not exist',
    );
  });

  it('a trigger on the pipeline itself is fine (trigger-joins sample)', () => {
    const def = preparePipeline(pipeline('p', [step('a', ['p.inputs.x'], ['p.inputs.ok'])]));
    assert.deepEqual(def.steps[0]?.triggers, ['p.inputs.ok']);
  });

  it('#9 rule 6b: an output naming no step', () => {
    rejects(
      pipeline('p', [step('a')], { output: output(['foo']) }),
      'pipeline p output step foo not found',
    );
  });

  it('rule 6b: the pipeline itself is not a valid output', () => {
    rejects(
      pipeline('p', [step('a')], { output: output(['p']) }),
      'pipeline p output step p not found',
    );
  });

  it('#9 rule 7: an output with a bad specifier', () => {
    rejects(
      pipeline('p', [step('a')], { output: output(['a', 'a.sdfs.s']) }),
      'pipeline p output specifier a.sdfs.s invalid',
    );
  });

  it('#10 rule 8: a cycle through inputs', () => {
    rejects(
      pipeline('p', [step('a'), step('b', ['a', 'c']), step('c', ['b'])]),
      'pipeline p has a cycle',
    );
  });

  it('#10 rule 8: a cycle through a trigger', () => {
    rejects(
      pipeline('p', [step('a'), step('b', ['a'], ['c.outputs.ok']), step('c', ['b'])]),
      'pipeline p has a cycle',
    );
  });

  it('rule 8: a step reading its own outputs is a cycle', () => {
    rejects(pipeline('p', [step('a', ['a.outputs'])]), 'pipeline p has a cycle');
  });

  it('rule 8: references to the pipeline itself are no edge; diamonds are no cycle', () => {
    const def = preparePipeline(
      pipeline('p', [
        step('a', ['p.inputs']),
        step('b', ['a'], ['p']),
        step('c', ['a']),
        step('d', ['b', 'c'], ['a']),
      ]),
    );
    assert.equal(def.steps.length, 4);
  });

  it('rule 7 comes before the cycle check', () => {
    rejects(
      pipeline('p', [step('a', ['b']), step('b', ['a'])], { output: output(['a.bad.x']) }),
      'pipeline p output specifier a.bad.x invalid',
    );
  });

  it('#12 rule 10: an input block with no external inputs (double space)', () => {
    rejects(
      pipeline('p', [step('a')], { input: input([], ['other']) }),
      'pipeline p input  is invalid. At least one pipeline input must be specified',
    );
  });

  it('the cycle check comes before the external inputs', () => {
    rejects(pipeline('p', [step('a', ['a'])], { input: input([]) }), 'pipeline p has a cycle');
  });

  it('#13 rule 10b: each reachable reason', () => {
    const cases: [string, string][] = [
      ['foo.foo', EXTERNAL_INPUT_REASONS.invalidPrefix],
      ['foo.bar.t', EXTERNAL_INPUT_REASONS.invalidPrefix],
      ['foo.x.bar.outputs', EXTERNAL_INPUT_REASONS.invalidPrefix],
      ['foo.outputs.t.outputs', EXTERNAL_INPUT_REASONS.invalidPrefix],
      ['foo.step.bar.zee', EXTERNAL_INPUT_REASONS.stepSuffix],
      ['foo.inputs.t.x', EXTERNAL_INPUT_REASONS.stepSuffix],
      ['foo.step.bar.inputs.tensor.xyz', EXTERNAL_INPUT_REASONS.tooLong],
    ];
    for (const [ref, reason] of cases) {
      rejects(
        pipeline('p', [step('a')], { input: input(['ok', ref]) }),
        `pipeline p input ${ref} is invalid. ${reason}`,
      );
    }
  });

  it("#13 the reason texts are the reference's (typo included)", () => {
    assert.equal(
      EXTERNAL_INPUT_REASONS.invalidPrefix,
      'A Pipeline inputs referencing another pipeline must be <pipeineName>.(inputs|outputs|step.<stepName>)',
    );
    assert.equal(
      EXTERNAL_INPUT_REASONS.stepSuffix,
      'A pipeline step must be <pipelineName>.step.<stepName>.(inputs|outputs)',
    );
    assert.equal(
      EXTERNAL_INPUT_REASONS.tooLong,
      'The input is too long. It must be <pipelineName>.(inputs|outputs).(tensorName)? or <pipelineName>.step.<stepName>.<inputs|outputs>.<tensorName>',
    );
    assert.equal(EXTERNAL_INPUT_REASONS.empty, 'Input name must not be empty');
  });

  it('rule 10b: reasons normalisation makes unreachable, on the validator itself', () => {
    assert.equal(externalInputProblem(''), EXTERNAL_INPUT_REASONS.empty);
    assert.equal(externalInputProblem('  '), EXTERNAL_INPUT_REASONS.empty);
    assert.equal(externalInputProblem('foo.step.bar'), EXTERNAL_INPUT_REASONS.stepSuffix);
    assert.equal(externalInputProblem('foo'), EXTERNAL_INPUT_REASONS.invalidPrefix);
  });

  it('rule 10b: valid shapes', () => {
    for (const ref of [
      'foo.inputs',
      'foo.outputs',
      'foo.outputs.t',
      'foo.step.bar.inputs',
      'foo.step.bar.outputs.t',
    ]) {
      assert.equal(externalInputProblem(ref), undefined, ref);
    }
  });

  it('external triggers are not validated (reference)', () => {
    const def = preparePipeline(
      pipeline('p', [step('a')], { input: input(['x'], ['a.b.c.d.e.f.g']) }),
    );
    assert.deepEqual(def.input?.externalTriggers, ['a.b.c.d.e.f.g']);
  });
});

describe('samePipelineSpec', () => {
  const base = (): PipelineDefinition =>
    pipeline(
      'p',
      [step('a'), { ...step('b', ['a']), tensorMap: { 'a.outputs.x': 'X', 'a.outputs.y': 'Y' } }],
      {
        output: output(['b']),
      },
    );

  it('ignores kubernetesMeta, step order of the request and tensorMap key order', () => {
    const a = preparePipeline({ ...base(), kubernetesMeta: { namespace: 'n', generation: 1 } });
    const raw = base();
    raw.steps.reverse();
    const b1 = raw.steps[0];
    assert.ok(b1);
    b1.tensorMap = { 'a.outputs.y': 'Y', 'a.outputs.x': 'X' };
    const b = preparePipeline({ ...raw, kubernetesMeta: { namespace: 'm', generation: 9 } });
    assert.equal(samePipelineSpec(a, b), true);
  });

  it('sees bare and normalised references as the same spec', () => {
    const a = preparePipeline(base());
    const raw = base();
    raw.steps[1] = {
      ...step('b', ['a.outputs']),
      tensorMap: { 'a.outputs.x': 'X', 'a.outputs.y': 'Y' },
    };
    assert.equal(samePipelineSpec(a, preparePipeline(raw)), true);
  });

  it('sees a changed input, join, window, batch or output', () => {
    const a = preparePipeline(base());
    const changes: ((d: PipelineDefinition) => void)[] = [
      (d) => d.steps[1]?.inputs.push('a.outputs.z'),
      (d) => {
        const s = d.steps[1];
        if (s) s.inputsJoin = 'any';
      },
      (d) => {
        const s = d.steps[0];
        if (s) s.joinWindowMs = 10;
      },
      (d) => {
        const s = d.steps[0];
        if (s) s.batch = { size: 2 };
      },
      (d) => {
        if (d.output) d.output.stepsJoin = 'outer';
      },
      (d) => {
        d.input = input(['x']);
      },
      (d) => {
        const s = d.steps[1];
        if (s) s.tensorMap = { 'a.outputs.x': 'X' };
      },
    ];
    for (const change of changes) {
      const raw = base();
      change(raw);
      assert.equal(samePipelineSpec(a, preparePipeline(raw)), false, change.toString());
    }
  });
});

describe('stepModels', () => {
  it('lists the step models sorted', () => {
    const def = preparePipeline(pipeline('p', [step('zeta'), step('alpha', ['zeta'])]));
    assert.deepEqual(stepModels(def), ['alpha', 'zeta']);
  });

  it('is unique', () => {
    assert.deepEqual(stepModels(pipeline('p', [step('b'), step('a'), step('b')])), ['a', 'b']);
  });
});
