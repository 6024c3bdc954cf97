/** The Chainer wire mapping: Create/Delete messages from DataflowOps, reports from acknowledgements. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import type { DataflowOp } from '../../../src/actors/index.js';
import { fromStatusMessage, toUpdateMessage } from '../../../src/wire/chainer.js';
import { isSchedulerError } from '../../../src/domain/errors.js';
import type { PipelineDefinition, PipelineStepDef } from '../../../src/domain/pipeline.js';
import {
  PipelineStepUpdate_PipelineJoinType as Join,
  PipelineUpdateMessage_PipelineOperation as Op,
  PipelineUpdateStatusMessage,
  type PipelineUpdateMessage,
} from '../../../src/gen/mlops/chainer/chainer.js';

const step = (name: string, o: Partial<PipelineStepDef> = {}): PipelineStepDef => ({
  name,
  inputs: [],
  triggers: [],
  tensorMap: {},
  inputsJoin: 'inner',
  triggersJoin: 'inner',
  ...o,
});

/** Three steps (bare and tensor inputs, triggers, joins, batch) plus input and output sections. */
const pipeline: PipelineDefinition = {
  name: 'p',
  steps: [
    step('a'),
    step('b', {
      inputs: ['a.outputs', 'p.inputs.x'],
      triggers: ['a.outputs.choice'],
      tensorMap: { 'p.inputs.x': 'X', 'a.outputs.out': 'IN' },
      joinWindowMs: 500,
      inputsJoin: 'outer',
      triggersJoin: 'any',
      batch: { size: 10 },
    }),
    step('c', {
      inputs: ['b.outputs.t1'],
      inputsJoin: 'any',
      triggersJoin: 'outer',
      batch: { size: 3, windowMs: 100 },
    }),
  ],
  input: {
    externalInputs: ['other.outputs', 'other.step.m.outputs.t'],
    externalTriggers: ['q.inputs.flag'],
    joinWindowMs: 20,
    joinType: 'any',
    triggersJoin: 'outer',
    tensorMap: { 'other.step.m.outputs.t': 'T', 'other.outputs.o': 'O', 'bad.key': 'B' },
  },
  output: {
    steps: ['c.outputs', 'b.outputs.t2'],
    joinWindowMs: 0,
    stepsJoin: 'outer',
    tensorMap: { 'c.outputs.y': 'Y' },
  },
  kubernetesMeta: { namespace: 'seldon-mesh', generation: 1 },
};

const create = (definition: PipelineDefinition): DataflowOp => ({
  op: 'create',
  definition,
  version: 3,
  uid: 'cq2f1m1d0b3s73e6gkmg',
  timestamp: 7,
  keepTopics: false,
});

const T = 'seldon.seldon-mesh';
const defaults = {
  triggers: [],
  triggersJoinTy: Join.Unknown,
  passEmptyResponses: false,
  tensorMap: [],
};

describe('toUpdateMessage', () => {
  it('builds the Create message: steps, input, output and the error step, with exact topics', () => {
    const expected: PipelineUpdateMessage = {
      op: Op.Create,
      pipeline: 'p',
      version: 3,
      uid: 'cq2f1m1d0b3s73e6gkmg',
      updates: [
        {
          ...defaults,
          sources: [{ pipelineName: 'p', topicName: `${T}.pipeline.p.inputs` }],
          sink: { pipelineName: 'p', topicName: `${T}.model.a.inputs` },
          inputJoinTy: Join.Inner,
          triggersJoinTy: Join.Inner,
        },
        {
          ...defaults,
          sources: [
            { pipelineName: 'p', topicName: `${T}.model.a.outputs` },
            { pipelineName: 'p', topicName: `${T}.pipeline.p.inputs`, tensor: 'x' },
          ],
          triggers: [{ pipelineName: 'p', topicName: `${T}.model.a.outputs`, tensor: 'choice' }],
          sink: { pipelineName: 'p', topicName: `${T}.model.b.inputs` },
          inputJoinTy: Join.Outer,
          triggersJoinTy: Join.Any,
          tensorMap: [
            { pipelineName: 'p', topicAndTensor: `${T}.model.a.outputs.out`, tensorName: 'IN' },
            { pipelineName: 'p', topicAndTensor: `${T}.pipeline.p.inputs.x`, tensorName: 'X' },
          ],
          joinWindowMs: 500,
          batch: { size: 10, rolling: false },
        },
        {
          ...defaults,
          sources: [{ pipelineName: 'p', topicName: `${T}.model.b.outputs`, tensor: 't1' }],
          sink: { pipelineName: 'p', topicName: `${T}.model.c.inputs` },
          inputJoinTy: Join.Any,
          triggersJoinTy: Join.Outer,
          batch: { size: 3, windowMs: 100, rolling: false },
        },
        {
          ...defaults,
          sources: [
            { pipelineName: 'other', topicName: `${T}.pipeline.other.outputs` },
            { pipelineName: 'other', topicName: `${T}.model.m.outputs`, tensor: 't' },
          ],
          triggers: [{ pipelineName: 'q', topicName: `${T}.pipeline.q.inputs`, tensor: 'flag' }],
          sink: { pipelineName: 'p', topicName: `${T}.pipeline.p.inputs` },
          inputJoinTy: Join.Any,
          triggersJoinTy: Join.Outer,
          tensorMap: [
            { pipelineName: 'bad', topicAndTensor: '', tensorName: 'B' },
            {
              pipelineName: 'other',
              topicAndTensor: `${T}.pipeline.other.outputs.o`,
              tensorName: 'O',
            },
            { pipelineName: 'other', topicAndTensor: `${T}.model.m.outputs.t`, tensorName: 'T' },
          ],
          joinWindowMs: 20,
        },
        {
          ...defaults,
          sources: [
            { pipelineName: 'p', topicName: `${T}.model.c.outputs` },
            { pipelineName: 'p', topicName: `${T}.model.b.outputs`, tensor: 't2' },
          ],
          sink: { pipelineName: 'p', topicName: `${T}.pipeline.p.outputs` },
          inputJoinTy: Join.Outer,
          tensorMap: [
            { pipelineName: 'p', topicAndTensor: `${T}.model.c.outputs.y`, tensorName: 'Y' },
          ],
          joinWindowMs: 0,
        },
        {
          ...defaults,
          sources: [{ pipelineName: 'p', topicName: `${T}.errors.errors` }],
          sink: { pipelineName: 'p', topicName: `${T}.pipeline.p.outputs` },
          inputJoinTy: Join.Inner,
        },
      ],
      pipelineOutputTopic: `${T}.pipeline.p.outputs`,
      pipelineErrorTopic: `${T}.errors.errors`,
      allowCycles: false,
      maxStepRevisits: 0,
      timestamp: 7n,
      stream: '',
    };
    assert.deepEqual(toUpdateMessage(create(pipeline)), expected);
  });

  it('uses the namespace given, else the pipeline namespace, else default', () => {
    const sinkOf = (m: PipelineUpdateMessage) => m.updates.map((u) => u.sink?.topicName);
    const bare: PipelineDefinition = { name: 'solo', steps: [step('m')] };
    assert.deepEqual(sinkOf(toUpdateMessage(create(bare))), [
      'seldon.default.model.m.inputs',
      'seldon.default.pipeline.solo.outputs',
    ]);
    assert.deepEqual(sinkOf(toUpdateMessage(create(bare), 'ns1')), [
      'seldon.ns1.model.m.inputs',
      'seldon.ns1.pipeline.solo.outputs',
    ]);
    const blank = { ...bare, kubernetesMeta: { namespace: '', generation: 0 } };
    assert.equal(toUpdateMessage(create(blank)).pipelineErrorTopic, 'seldon.default.errors.errors');
    assert.equal(
      toUpdateMessage(create(pipeline), 'ns2').pipelineOutputTopic,
      'seldon.ns2.pipeline.p.outputs',
    );
  });

  it('feeds an output section without steps from the pipeline inputs topic', () => {
    const m = toUpdateMessage(
      create({
        name: 'p',
        steps: [],
        output: { steps: [], joinWindowMs: 5, stepsJoin: 'inner', tensorMap: {} },
      }),
    );
    assert.deepEqual(m.updates[0]?.sources, [
      { pipelineName: 'p', topicName: 'seldon.default.pipeline.p.inputs' },
    ]);
    assert.equal(m.updates.length, 2);
  });

  it('builds the Delete message: the pipeline version, its timestamp and no updates', () => {
    const op: DataflowOp = { ...create(pipeline), op: 'delete', timestamp: 12, keepTopics: true };
    assert.deepEqual(toUpdateMessage(op), {
      op: Op.Delete,
      pipeline: 'p',
      version: 3,
      uid: 'cq2f1m1d0b3s73e6gkmg',
      updates: [],
      pipelineOutputTopic: '',
      pipelineErrorTopic: '',
      allowCycles: false,
      maxStepRevisits: 0,
      timestamp: 12n,
      stream: '',
    });
  });
});

describe('fromStatusMessage', () => {
  const ack = (
    op: Op,
    o: Partial<PipelineUpdateStatusMessage> = {},
  ): PipelineUpdateStatusMessage => ({
    update: {
      ...toUpdateMessage({ ...create(pipeline), op: 'delete' }),
      op,
      stream: 'engine-1',
    },
    success: true,
    reason: '',
    ...o,
  });

  it('reads every operation, naming the engine by the stream', () => {
    const cases: [Op, string][] = [
      [Op.Create, 'create'],
      [Op.Delete, 'delete'],
      [Op.Rebalance, 'rebalance'],
      [Op.Ready, 'ready'],
    ];
    for (const [op, name] of cases) {
      assert.deepEqual(fromStatusMessage(ack(op, { success: false, reason: 'kafka down' })), {
        engine: 'engine-1',
        op: name,
        pipeline: 'p',
        version: 3,
        uid: 'cq2f1m1d0b3s73e6gkmg',
        timestamp: 7,
        success: false,
        reason: 'kafka down',
      });
    }
  });

  it('cuts a long reason to 4096 characters', () => {
    assert.equal(
      fromStatusMessage(ack(Op.Create, { reason: 'x'.repeat(5000) })).reason.length,
      4096,
    );
  });

  it('refuses a missing update or an Unknown / undefined op, naming the field', () => {
    const invalid = (field: string) => (e: unknown) =>
      isSchedulerError(e) && e.code === 'InvalidSpec' && e.message.startsWith(`${field}: `);
    assert.throws(() => fromStatusMessage({ success: true, reason: '' }), invalid('update'));
    assert.throws(() => fromStatusMessage(ack(Op.Unknown)), invalid('update.op'));
    // An op value the protocol does not define, as it arrives on the wire (update { op: 9 }).
    const wire = new BinaryWriter().uint32(10).fork().uint32(8).int32(9).join().finish();
    assert.throws(
      () => fromStatusMessage(PipelineUpdateStatusMessage.decode(wire)),
      invalid('update.op'),
    );
  });
});
