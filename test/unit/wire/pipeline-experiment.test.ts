/**
 * The wire side of pipelines and experiments: decoding LoadPipeline / StartExperiment messages
 * (INVALID_ARGUMENT for malformed input, the reference's scenarios 2 and 40),
 * the `Pipeline` message of status responses, and the PipelineStatus / ExperimentStatus mappers.
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExperimentView, PipelineView } from '../../../src/actors/index.js';
import { isSchedulerError } from '../../../src/domain/errors.js';
import { PIPELINE_STATES, preparePipeline } from '../../../src/domain/pipeline.js';
import {
  PipelineInput_JoinOp,
  PipelineOutput_JoinOp,
  PipelineStep_JoinOp,
  PipelineVersionState_PipelineStatus as Status,
  Experiment,
  PipelineStep,
  ResourceType,
  type Pipeline,
} from '../../../src/gen/mlops/scheduler/scheduler.js';
import {
  experimentFromProto,
  experimentStatusToProto,
} from '../../../src/wire/scheduler/experiment.js';
import { LIMITS } from '../../../src/wire/limits.js';
import {
  pipelineFromProto,
  pipelineStateToProto,
  pipelineStatusToProto,
  pipelineToProto,
} from '../../../src/wire/scheduler/pipeline.js';

const protoStep = (name: string, more: Partial<PipelineStep> = {}): PipelineStep => ({
  name,
  inputs: [],
  tensorMap: {},
  inputsJoin: PipelineStep_JoinOp.INNER,
  triggers: [],
  triggersJoin: PipelineStep_JoinOp.INNER,
  ...more,
});

const protoPipeline = (
  name: string,
  steps: PipelineStep[],
  more: Partial<Pipeline> = {},
): Pipeline => ({
  name,
  uid: '',
  version: 0,
  steps,
  ...more,
});

const protoExperiment = (name: string, more: Partial<Experiment> = {}): Experiment => ({
  name,
  candidates: [{ name: 'iris', weight: 50 }],
  resourceType: ResourceType.MODEL,
  ...more,
});

interface Codec<T> {
  encode(message: T): BinaryWriter;
  decode(bytes: Uint8Array): T;
}

/** `message` as a peer would send it with enum field number `field` set to `value` on the wire. */
function withEnum<T>(codec: Codec<T>, message: T, field: number, value: number): T {
  const extra = new BinaryWriter()
    .uint32((field << 3) | 0)
    .int32(value)
    .finish();
  return codec.decode(Uint8Array.from([...codec.encode(message).finish(), ...extra]));
}

/** `decode` refuses with INVALID_ARGUMENT, exactly `message` ("field: problem"). */
function invalid(decode: () => unknown, message: string | RegExp): void {
  assert.throws(decode, (e: unknown) => {
    assert.ok(isSchedulerError(e));
    assert.equal(e.code, 'InvalidSpec');
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

describe('pipelineFromProto', () => {
  it('requires the message', () => {
    invalid(() => pipelineFromProto('pipeline', undefined), 'pipeline: is required');
  });

  it('#2 refuses names that are not DNS labels, with the reference text', () => {
    for (const name of ['My.Pipe', 'a_b', 'Abc', '', '-a', 'a.b']) {
      invalid(
        () => pipelineFromProto('pipeline', protoPipeline(name, [protoStep('a')])),
        `pipeline.name: pipeline ${name} does not have a valid name - it must be alphanmumeric and cannot contain dots (.)`,
      );
    }
  });

  it('refuses over-long names', () => {
    invalid(
      () => pipelineFromProto('pipeline', protoPipeline('a'.repeat(254), [protoStep('a')])),
      /^pipeline\.name: pipeline a+ does not have a valid name .* and at most 253 characters$/,
    );
  });

  it('refuses step names that are not valid model names, naming the step', () => {
    invalid(
      () =>
        pipelineFromProto('pipeline', protoPipeline('p', [protoStep('a'), protoStep('id1_node')])),
      'pipeline.steps[1].name: Model id1_node does not have a valid name - it must be alphanumeric and not contains dots (.)',
    );
    invalid(
      () => pipelineFromProto('pipeline', protoPipeline('p', [protoStep('')])),
      /^pipeline\.steps\[0\]\.name: Model {2}does not have a valid name/,
    );
  });

  it('keeps the request as sent: order, bare refs, no uid or version', () => {
    const def = pipelineFromProto(
      'pipeline',
      protoPipeline('p', [protoStep('b', { inputs: ['a'], triggers: ['p'] }), protoStep('a')], {
        uid: 'abc',
        version: 7,
        output: {
          steps: ['b'],
          joinWindowMs: 0,
          stepsJoin: PipelineOutput_JoinOp.INNER,
          tensorMap: {},
        },
        kubernetesMeta: { namespace: 'ns', generation: 3n },
      }),
    );
    assert.deepEqual(def, {
      name: 'p',
      steps: [
        {
          name: 'b',
          inputs: ['a'],
          triggers: ['p'],
          tensorMap: {},
          inputsJoin: 'inner',
          triggersJoin: 'inner',
        },
        {
          name: 'a',
          inputs: [],
          triggers: [],
          tensorMap: {},
          inputsJoin: 'inner',
          triggersJoin: 'inner',
        },
      ],
      output: { steps: ['b'], joinWindowMs: 0, stepsJoin: 'inner', tensorMap: {} },
      kubernetesMeta: { namespace: 'ns', generation: 3 },
    });
  });

  it('maps join enums; an unknown wire value means inner', () => {
    const def = pipelineFromProto(
      'pipeline',
      protoPipeline(
        'p',
        [
          protoStep('a', {
            inputsJoin: PipelineStep_JoinOp.OUTER,
            triggersJoin: PipelineStep_JoinOp.ANY,
          }),
          withEnum(
            PipelineStep,
            protoStep('b', { triggersJoin: PipelineStep_JoinOp.UNRECOGNIZED }),
            5,
            7,
          ),
        ],
        {
          input: {
            externalInputs: ['x'],
            externalTriggers: [],
            joinType: PipelineInput_JoinOp.ANY,
            triggersJoin: PipelineInput_JoinOp.OUTER,
            tensorMap: {},
          },
          output: {
            steps: ['a'],
            joinWindowMs: 5,
            stepsJoin: PipelineOutput_JoinOp.ANY,
            tensorMap: {},
          },
        },
      ),
    );
    assert.deepEqual(
      def.steps.map((s) => [s.inputsJoin, s.triggersJoin]),
      [
        ['outer', 'any'],
        ['inner', 'inner'],
      ],
    );
    assert.equal(def.input?.joinType, 'any');
    assert.equal(def.input.triggersJoin, 'outer');
    assert.equal(def.output?.stepsJoin, 'any');
  });

  it('keeps windows, batch and tensor maps', () => {
    const def = pipelineFromProto(
      'pipeline',
      protoPipeline(
        'p',
        [
          protoStep('a', {
            joinWindowMs: 0,
            batch: { size: 20 },
            tensorMap: { 'p.inputs.x': 'X' },
          }),
        ],
        {
          input: {
            externalInputs: ['x'],
            externalTriggers: ['y'],
            joinWindowMs: 100,
            joinType: PipelineInput_JoinOp.INNER,
            triggersJoin: PipelineInput_JoinOp.INNER,
            tensorMap: { 'x.outputs.t': 'T' },
          },
        },
      ),
    );
    assert.deepEqual(def.steps[0], {
      name: 'a',
      inputs: [],
      triggers: [],
      tensorMap: { 'p.inputs.x': 'X' },
      inputsJoin: 'inner',
      triggersJoin: 'inner',
      joinWindowMs: 0,
      batch: { size: 20 },
    });
    assert.equal(def.input?.joinWindowMs, 100);
    assert.deepEqual(def.input.tensorMap, { 'x.outputs.t': 'T' });
  });

  it('refuses numbers that are not uint32', () => {
    for (const bad of [-1, 1.5, 2 ** 32]) {
      invalid(
        () =>
          pipelineFromProto(
            'pipeline',
            protoPipeline('p', [protoStep('a', { joinWindowMs: bad })]),
          ),
        `pipeline.steps[0].joinWindowMs: must be a whole number between 0 and 4294967295, got ${bad}`,
      );
    }
    invalid(
      () =>
        pipelineFromProto(
          'pipeline',
          protoPipeline('p', [protoStep('a', { batch: { windowMs: -3 } })]),
        ),
      /^pipeline\.steps\[0\]\.batch\.windowMs: must be a whole number/,
    );
    invalid(
      () =>
        pipelineFromProto(
          'pipeline',
          protoPipeline('p', [protoStep('a')], {
            output: {
              steps: [],
              joinWindowMs: 0.5,
              stepsJoin: PipelineOutput_JoinOp.INNER,
              tensorMap: {},
            },
          }),
        ),
      /^pipeline\.output\.joinWindowMs: must be a whole number/,
    );
  });

  it('refuses over-long strings and lists', () => {
    const long = 'x'.repeat(LIMITS.stringLength + 1);
    invalid(
      () =>
        pipelineFromProto(
          'pipeline',
          protoPipeline('p', [protoStep('a', { inputs: ['b', long] })]),
        ),
      `pipeline.steps[0].inputs[1]: is ${LIMITS.stringLength + 1} characters long; at most ${LIMITS.stringLength} allowed`,
    );
    invalid(
      () =>
        pipelineFromProto(
          'pipeline',
          protoPipeline('p', [protoStep('a', { tensorMap: { 'a.outputs.t': long } })]),
        ),
      /^pipeline\.steps\[0\]\.tensorMap\[a\.outputs\.t\]: is \d+ characters long/,
    );
    invalid(
      () =>
        pipelineFromProto(
          'pipeline',
          protoPipeline(
            'p',
            Array.from({ length: LIMITS.listLength + 1 }, (_, i) => protoStep(`s${i}`)),
          ),
        ),
      `pipeline.steps: has ${LIMITS.listLength + 1} entries; at most ${LIMITS.listLength} allowed`,
    );
    invalid(
      () =>
        pipelineFromProto(
          'pipeline',
          protoPipeline('p', [protoStep('a')], {
            input: {
              externalInputs: ['x'],
              externalTriggers: Array.from({ length: LIMITS.listLength + 1 }, () => 'y'),
              joinType: PipelineInput_JoinOp.INNER,
              triggersJoin: PipelineInput_JoinOp.INNER,
              tensorMap: {},
            },
          }),
        ),
      /^pipeline\.input\.externalTriggers: has \d+ entries/,
    );
  });
});

describe('pipelineToProto', () => {
  it('reports the normalised definition with the assigned version and uid (#11)', () => {
    const request = protoPipeline(
      'p',
      [
        protoStep('c', {
          inputs: ['p'],
          inputsJoin: PipelineStep_JoinOp.OUTER,
          batch: { size: 2 },
        }),
        protoStep('b', { inputs: ['a'], joinWindowMs: 10, tensorMap: { 'a.outputs.x': 'y' } }),
        protoStep('a'),
      ],
      {
        uid: 'ignored',
        version: 42,
        input: {
          externalInputs: ['other'],
          externalTriggers: [],
          joinType: PipelineInput_JoinOp.ANY,
          triggersJoin: PipelineInput_JoinOp.INNER,
          tensorMap: {},
        },
        output: {
          steps: ['b'],
          joinWindowMs: 0,
          stepsJoin: PipelineOutput_JoinOp.ANY,
          tensorMap: {},
        },
        kubernetesMeta: { namespace: 'ns', generation: 1n },
      },
    );
    const def = preparePipeline(pipelineFromProto('pipeline', request));
    assert.deepEqual(pipelineToProto(def, 3, 'cg5fm6c6dpcs73c4qhe0'), {
      name: 'p',
      uid: 'cg5fm6c6dpcs73c4qhe0',
      version: 3,
      steps: [
        protoStep('a'),
        protoStep('b', {
          inputs: ['a.outputs'],
          joinWindowMs: 10,
          tensorMap: { 'a.outputs.x': 'y' },
        }),
        protoStep('c', {
          inputs: ['p.inputs'],
          inputsJoin: PipelineStep_JoinOp.OUTER,
          batch: { size: 2 },
        }),
      ],
      input: {
        externalInputs: ['other.outputs'],
        externalTriggers: [],
        joinType: PipelineInput_JoinOp.ANY,
        triggersJoin: PipelineInput_JoinOp.INNER,
        tensorMap: {},
      },
      output: {
        steps: ['b.outputs'],
        joinWindowMs: 0,
        stepsJoin: PipelineOutput_JoinOp.ANY,
        tensorMap: {},
      },
      kubernetesMeta: { namespace: 'ns', generation: 1n },
    });
  });
});

describe('experimentFromProto', () => {
  it('requires the message', () => {
    invalid(() => experimentFromProto('experiment', undefined), 'experiment: is required');
  });

  it('refuses experiment names that are not DNS labels, naming the value', () => {
    for (const name of ['', 'A', 'a.b', 'a_b']) {
      invalid(
        () => experimentFromProto('experiment', protoExperiment(name)),
        new RegExp(
          `^experiment\\.name: experiment "${name.replace('.', '\\.')}" does not have a valid name`,
        ),
      );
    }
  });

  it('refuses empty or invalid candidate, mirror and default names', () => {
    invalid(
      () =>
        experimentFromProto(
          'experiment',
          protoExperiment('e', {
            candidates: [
              { name: 'a', weight: 1 },
              { name: '', weight: 1 },
            ],
          }),
        ),
      /^experiment\.candidates\[1\]\.name: Model {2}does not have a valid name/,
    );
    invalid(
      () =>
        experimentFromProto(
          'experiment',
          protoExperiment('e', { mirror: { name: 'Bad', percent: 10 } }),
        ),
      /^experiment\.mirror\.name: Model Bad does not have a valid name/,
    );
    invalid(
      () => experimentFromProto('experiment', protoExperiment('e', { default: '' })),
      /^experiment\.default: Model {2}does not have a valid name/,
    );
  });

  it("checks pipeline experiments' names with the pipeline rule", () => {
    invalid(
      () =>
        experimentFromProto(
          'experiment',
          protoExperiment('e', {
            resourceType: ResourceType.PIPELINE,
            candidates: [{ name: 'p.x', weight: 1 }],
          }),
        ),
      'experiment.candidates[0].name: pipeline p.x does not have a valid name - it must be alphanmumeric and cannot contain dots (.)',
    );
  });

  it('#40 resource type PIPELINE means pipeline; MODEL and unknown values mean model', () => {
    const of = (resourceType: ResourceType) =>
      experimentFromProto('experiment', protoExperiment('e', { resourceType })).resourceType;
    assert.equal(of(ResourceType.PIPELINE), 'pipeline');
    assert.equal(of(ResourceType.MODEL), 'model');
    assert.equal(of(ResourceType.UNRECOGNIZED), 'model');
    const seven = withEnum(Experiment, protoExperiment('e'), 7, 7);
    assert.equal(seven.resourceType, 7);
    assert.equal(experimentFromProto('experiment', seven).resourceType, 'model');
  });

  it('keeps everything else as sent; weights and percent are only uint32', () => {
    const def = experimentFromProto(
      'experiment',
      protoExperiment('e', {
        default: 'iris',
        candidates: [
          { name: 'iris', weight: 0 },
          { name: 'iris2', weight: 4_000_000_000 },
        ],
        mirror: { name: 'iris3', percent: 250 },
        config: { stickySessions: true },
        kubernetesMeta: { namespace: 'seldon', generation: 4n },
      }),
    );
    assert.deepEqual(def, {
      name: 'e',
      default: 'iris',
      candidates: [
        { name: 'iris', weight: 0 },
        { name: 'iris2', weight: 4_000_000_000 },
      ],
      mirror: { name: 'iris3', percent: 250 },
      config: { stickySessions: true },
      kubernetesMeta: { namespace: 'seldon', generation: 4 },
      resourceType: 'model',
    });
    invalid(
      () =>
        experimentFromProto(
          'experiment',
          protoExperiment('e', { candidates: [{ name: 'a', weight: -1 }] }),
        ),
      /^experiment\.candidates\[0\]\.weight: must be a whole number/,
    );
  });

  it('leaves the experiment rules to the domain (no candidates is decodable)', () => {
    assert.deepEqual(
      experimentFromProto('experiment', protoExperiment('e', { candidates: [] })).candidates,
      [],
    );
  });
});

describe('status mappers', () => {
  it('maps every pipeline state to its own proto status', () => {
    const mapped = PIPELINE_STATES.map(pipelineStateToProto);
    assert.deepEqual(mapped, [
      Status.PipelineCreate,
      Status.PipelineCreating,
      Status.PipelineReady,
      Status.PipelineFailed,
      Status.PipelineTerminate,
      Status.PipelineTerminating,
      Status.PipelineTerminated,
    ]);
  });

  it('builds PipelineStatusResponse from a view, versions in view order', () => {
    const definition = preparePipeline(
      pipelineFromProto(
        'pipeline',
        protoPipeline('p1', [protoStep('b', { inputs: ['a'] }), protoStep('a')]),
      ),
    );
    const view: PipelineView = {
      name: 'p1',
      deleted: false,
      versions: [
        {
          version: 1,
          uid: 'u1',
          definition,
          state: 'terminated',
          reason: 'old',
          lastChangeAt: 0,
          modelsReady: false,
        },
        {
          version: 2,
          uid: 'u2',
          definition,
          state: 'ready',
          reason: '1/1 ready ',
          lastChangeAt: 1_700_000_000_000,
          modelsReady: true,
        },
      ],
    };
    const res = pipelineStatusToProto(view);
    assert.equal(res.pipelineName, 'p1');
    assert.deepEqual(
      res.versions.map((v) => v.state),
      [
        {
          pipelineVersion: 1,
          status: Status.PipelineTerminated,
          reason: 'old',
          modelsReady: false,
        },
        {
          pipelineVersion: 2,
          status: Status.PipelineReady,
          reason: '1/1 ready ',
          lastChangeTimestamp: new Date(1_700_000_000_000),
          modelsReady: true,
        },
      ],
    );
    assert.deepEqual(
      res.versions.map((v) => [
        v.pipeline?.version,
        v.pipeline?.uid,
        v.pipeline?.steps.map((s) => s.name),
      ]),
      [
        [1, 'u1', ['a', 'b']],
        [2, 'u2', ['a', 'b']],
      ],
    );
  });

  it('builds ExperimentStatusResponse from a view', () => {
    const view: ExperimentView = {
      definition: {
        name: 'e',
        candidates: [{ name: 'iris', weight: 1 }],
        resourceType: 'model',
        kubernetesMeta: { namespace: 'ns', generation: 2 },
      },
      state: 'active',
      active: true,
      candidatesReady: true,
      mirrorReady: true,
      statusDescription: 'experiment active',
      deleted: false,
    };
    assert.deepEqual(experimentStatusToProto(view), {
      experimentName: 'e',
      active: true,
      candidatesReady: true,
      mirrorReady: true,
      statusDescription: 'experiment active',
      kubernetesMeta: { namespace: 'ns', generation: 2n },
    });
    const { kubernetesMeta: _omitted, ...bare } = view.definition;
    assert.equal('kubernetesMeta' in experimentStatusToProto({ ...view, definition: bare }), false);
  });
});
