/**
 * The agent protocol's decoding: a subscription is checked whole before anything is taken in, each
 * bad field named; an event report and an op map both ways of the shared Model message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSchedulerError } from '../../../src/domain/errors.js';
import {
  AgentSubscribeRequest,
  ModelEventMessage,
  ModelEventMessage_Event,
  ModelOperationMessage_Operation,
} from '../../../src/gen/mlops/agent/agent.js';
import {
  agentOpToProto,
  agentReportFromProto,
  replicaJoinFromProto,
} from '../../../src/wire/agent.js';

const subscription = (over: Partial<AgentSubscribeRequest> = {}) =>
  AgentSubscribeRequest.fromPartial({
    serverName: 'mlserver',
    replicaIdx: 1,
    shared: true,
    availableMemoryBytes: 1000n,
    replicaConfig: {
      inferenceSvc: 'mlserver-1',
      inferenceHttpPort: 9000,
      inferenceGrpcPort: 9500,
      memoryBytes: 2000n,
      capabilities: [' sklearn ', '', 'xgboost'],
      overCommitPercentage: 10,
    },
    loadedModels: [
      { model: { meta: { name: 'iris' }, modelSpec: { uri: 'gs://m/iris' } }, version: 3 },
    ],
    ...over,
  });

/** The field a SchedulerError InvalidSpec names, or fails. */
function fieldOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    assert.ok(isSchedulerError(e) && e.code === 'InvalidSpec', String(e));
    return e.details['field'] as string;
  }
  assert.fail('expected an InvalidSpec error');
}

describe('wire/agent', () => {
  it('decodes a subscription: replica, configuration, the models it already holds', () => {
    const join = replicaJoinFromProto(subscription());
    assert.equal(join.server, 'mlserver');
    assert.equal(join.idx, 1);
    assert.equal(join.shared, true);
    assert.equal(join.availableMemoryBytes, 1000);
    assert.deepEqual(join.config.capabilities, ['sklearn', 'xgboost']);
    assert.equal(join.config.memoryBytes, 2000);
    const [held, ...more] = join.loaded;
    assert.ok(held);
    assert.equal(more.length, 0);
    assert.equal(held.definition.meta.name, 'iris');
    assert.equal(held.version, 3);
  });

  it('refuses a subscription naming its first bad field, including an announced model', () => {
    assert.equal(
      fieldOf(() => replicaJoinFromProto(subscription({ serverName: '' }))),
      'serverName',
    );
    assert.equal(
      fieldOf(() => replicaJoinFromProto(subscription({ replicaIdx: -1 }))),
      'replicaIdx',
    );
    assert.equal(
      fieldOf(() => replicaJoinFromProto(subscription({ replicaConfig: undefined }))),
      'replicaConfig',
    );
    assert.equal(
      fieldOf(() =>
        replicaJoinFromProto(
          subscription({
            loadedModels: [
              {
                model: {
                  meta: { name: 'iris' },
                  modelSpec: { uri: 'x', requirements: [], parameters: [] },
                },
                version: 0,
              },
            ],
          }),
        ),
      ),
      'loadedModels[0].version',
    );
  });

  it('decodes an event report and refuses an event value outside the enum', () => {
    const report = agentReportFromProto(
      ModelEventMessage.fromPartial({
        serverName: 'mlserver',
        replicaIdx: 0,
        modelName: 'iris',
        modelVersion: 2,
        event: ModelEventMessage_Event.LOAD_FAIL_MEMORY,
        message: 'out of memory',
        availableMemoryBytes: 5n,
      }),
    );
    assert.deepEqual(
      { ...report },
      {
        server: 'mlserver',
        idx: 0,
        model: 'iris',
        version: 2,
        event: 'loadFailed',
        message: 'out of memory',
        availableMemoryBytes: 5,
      },
    );
    assert.equal(
      fieldOf(() =>
        agentReportFromProto(
          ModelEventMessage.fromPartial({
            serverName: 'mlserver',
            modelName: 'iris',
            modelVersion: 1,
            event: ModelEventMessage.fromJSON({ event: 99 }).event,
          }),
        ),
      ),
      'event',
    );
  });

  it('encodes an op with the model it loads', () => {
    const join = replicaJoinFromProto(subscription());
    const definition = join.loaded[0]?.definition;
    assert.ok(definition);
    const op = agentOpToProto({
      operation: 'load',
      definition,
      version: 3,
      autoscalingEnabled: false,
    });
    assert.equal(op.operation, ModelOperationMessage_Operation.LOAD_MODEL);
    const { modelVersion } = op;
    assert.ok(modelVersion?.model);
    assert.equal(modelVersion.version, 3);
    assert.equal(modelVersion.model.meta?.name, 'iris');
  });
});
