/**
 * The agent protocol's messages (seldon.mlops.agent.AgentService): what agents send decoded and
 * checked (a subscription, an event on an op, a drain), and the ops the scheduler sends them.
 */
import type { AgentOp, AgentReport, ReplicaJoin } from '../actors/index.js';
import { invalidSpec } from '../domain/errors.js';
import { MAX_VERSION } from '../domain/model.js';
import { checkInt, checkModelName, checkServerName } from '../domain/names.js';
import type { ReplicaConfig } from '../domain/server.js';
import {
  ModelEventMessage_Event as AgentEventKind,
  ModelOperationMessage_Operation as Operation,
  type AgentSubscribeRequest,
  type ModelEventMessage,
  type ModelOperationMessage,
} from '../gen/mlops/agent/agent.js';
import { checkInt64, LIMITS } from './limits.js';
import { announcedModelFromProto, modelToProto, runtimeInfoFromProto } from './scheduler/model.js';

/** The largest replica index accepted (a StatefulSet ordinal). */
const MAX_REPLICA_IDX = 100_000;

/** The replica a message names, checked. @throws SchedulerError InvalidSpec naming the field. */
export function replicaFromProto(req: { serverName: string; replicaIdx: number }): {
  server: string;
  idx: number;
} {
  return {
    server: checkServerName('serverName', req.serverName),
    idx: checkInt('replicaIdx', req.replicaIdx, 0, MAX_REPLICA_IDX),
  };
}

/**
 * A replica's subscription: its configuration and the models it already holds (an agent
 * reconnecting announces them). @throws SchedulerError InvalidSpec naming the first bad field.
 */
export function replicaJoinFromProto(req: AgentSubscribeRequest): ReplicaJoin {
  const { server, idx } = replicaFromProto(req);
  const config = replicaConfigFromProto(req);
  return {
    server,
    idx,
    shared: req.shared,
    config,
    availableMemoryBytes: Number(req.availableMemoryBytes),
    loaded: req.loadedModels.map((mv, i) => ({
      definition: announcedModelFromProto(`loadedModels[${i}].model`, mv.model),
      version: checkInt(`loadedModels[${i}].version`, mv.version, 1, MAX_VERSION),
    })),
  };
}

function replicaConfigFromProto(req: AgentSubscribeRequest): ReplicaConfig {
  const c = req.replicaConfig;
  if (!c) throw invalidSpec('replicaConfig', 'is required');
  const memoryBytes = checkInt64(
    'replicaConfig.memoryBytes',
    c.memoryBytes,
    0,
    LIMITS.agentMemoryBytes,
  );
  checkInt64('availableMemoryBytes', req.availableMemoryBytes, 0, LIMITS.agentMemoryBytes);
  return {
    inferenceSvc: c.inferenceSvc,
    inferenceHttpPort: c.inferenceHttpPort,
    inferenceGrpcPort: c.inferenceGrpcPort,
    memoryBytes,
    capabilities: c.capabilities.map((s) => s.trim()).filter((s) => s !== ''),
    overCommitPercentage: checkInt(
      'replicaConfig.overCommitPercentage',
      c.overCommitPercentage,
      0,
      1000,
    ),
  };
}

/** An agent's report on an op (AgentEvent). @throws SchedulerError InvalidSpec naming the field. */
export function agentReportFromProto(req: ModelEventMessage): AgentReport {
  const report: AgentReport = {
    ...replicaFromProto(req),
    model: checkModelName('modelName', req.modelName),
    version: checkInt('modelVersion', req.modelVersion, 1, MAX_VERSION),
    event: eventKind(req.event),
    message: req.message.slice(0, LIMITS.stringLength),
    availableMemoryBytes: checkInt64(
      'availableMemoryBytes',
      req.availableMemoryBytes,
      0,
      LIMITS.agentMemoryBytes,
    ),
  };
  const info = req.runtimeInfo && runtimeInfoFromProto(req.runtimeInfo);
  if (info) report.runtimeInfo = info;
  return report;
}

function eventKind(e: AgentEventKind): AgentReport['event'] {
  switch (e) {
    case AgentEventKind.LOADED:
      return 'loaded';
    case AgentEventKind.LOAD_FAILED:
    case AgentEventKind.LOAD_FAIL_MEMORY:
      return 'loadFailed';
    case AgentEventKind.UNLOADED:
      return 'unloaded';
    case AgentEventKind.UNLOAD_FAILED:
      return 'unloadFailed';
    case AgentEventKind.UNKNOWN_EVENT:
    case AgentEventKind.REMOVED:
    case AgentEventKind.REMOVE_FAILED:
    case AgentEventKind.RSYNC:
      return 'other';
    case AgentEventKind.UNRECOGNIZED:
    default:
      // The binary decoder passes numbers outside the enum through as they are.
      throw invalidSpec('event', `unknown event value ${String(e)}`);
  }
}

/** An op for an agent's Subscribe stream. */
export function agentOpToProto(op: AgentOp): ModelOperationMessage {
  return {
    operation: op.operation === 'load' ? Operation.LOAD_MODEL : Operation.UNLOAD_MODEL,
    modelVersion: { model: modelToProto(op.definition), version: op.version },
    autoscalingEnabled: op.autoscalingEnabled,
  };
}
