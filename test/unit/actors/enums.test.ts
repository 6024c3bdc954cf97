/** Each machine's states are exactly its proto enum's values (camelCase), no more, no fewer. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnyStateMachine, StateNode } from 'xstate';
import {
  modelVersionMachine,
  pipelineVersionMachine,
  replicaMachine,
} from '../../../src/actors/index.js';
import { modelStateToProto, replicaStateToProto } from '../../../src/wire/scheduler/model.js';
import { pipelineStateToProto } from '../../../src/wire/scheduler/pipeline.js';
import { PIPELINE_STATES } from '../../../src/domain/pipeline.js';
import { MODEL_STATES, REPLICA_STATES } from '../../../src/domain/model.js';
import {
  ModelReplicaStatus_ModelReplicaState as ProtoReplica,
  ModelStatus_ModelState as ProtoModel,
  PipelineVersionState_PipelineStatus as ProtoPipeline,
} from '../../../src/gen/mlops/scheduler/scheduler.js';

const leaves = (m: AnyStateMachine): string[] => {
  const walk = (n: StateNode): string[] =>
    Object.keys(n.states).length === 0 ? [n.key] : Object.values(n.states).flatMap((c) => walk(c));
  return walk(m.root as StateNode).sort();
};
const protoValues = (e: Record<string, string | number>) =>
  Object.values(e)
    .filter((v): v is number => typeof v === 'number' && v >= 0)
    .sort((a, b) => a - b);

describe('statecharts mirror the proto enums', () => {
  it('model replica: ModelReplicaStatus.ModelReplicaState', () => {
    assert.deepEqual(leaves(replicaMachine), [...REPLICA_STATES].sort());
    assert.deepEqual(
      REPLICA_STATES.map(replicaStateToProto).sort((a, b) => a - b),
      protoValues(ProtoReplica),
    );
  });

  it('model version: ModelStatus.ModelState', () => {
    assert.deepEqual(leaves(modelVersionMachine), [...MODEL_STATES].sort());
    assert.deepEqual(
      MODEL_STATES.map(modelStateToProto).sort((a, b) => a - b),
      protoValues(ProtoModel),
    );
  });

  it('pipeline version: PipelineVersionState.PipelineStatus (0, "not set", is no state)', () => {
    assert.deepEqual(leaves(pipelineVersionMachine), [...PIPELINE_STATES].sort());
    assert.deepEqual(
      PIPELINE_STATES.map(pipelineStateToProto).sort((a, b) => a - b),
      protoValues(ProtoPipeline).slice(1),
    );
  });
});
