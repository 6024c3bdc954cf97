import { experimentMachine } from './experiment/experiment.machine.js';
import { modelVersionMachine } from './model/model.machine.js';
import { pipelineVersionMachine } from './pipeline/pipeline.machine.js';
import { replicaMachine } from './replica/replica.machine.js';
import { serverReplicaMachine } from './server/server-replica.machine.js';
import { serverMachine } from './server/server.machine.js';

export { changedKeys, createSchedulerSystem, recordFault } from './system.js';
export type {
  DrainOutcome,
  PersistedResource,
  SchedulerSystem,
  SchedulerSystemDeps,
  Timers,
} from './system.js';
export type {
  AgentGateway,
  AgentOp,
  Changes,
  DataflowGateway,
  DataflowOp,
  DataflowReport,
  ScalingRequest,
} from './gateways.js';
export type {
  ModelExplanation,
  Plan,
  PlannedModel,
  ReplicaCapacity,
  ReplicaHeadroom,
} from './supervisor/models/explain.js';
export type {
  AgentReport,
  ExperimentView,
  LoadedModel,
  PipelineVersionView,
  PipelineView,
  ModelView,
  ReplicaJoin,
  ReplicaView,
  ServerReplicaStatusView,
  ServerStatusView,
  VersionView,
} from './supervisor/views.js';
export {
  experimentMachine,
  modelVersionMachine,
  pipelineVersionMachine,
  replicaMachine,
  serverMachine,
  serverReplicaMachine,
};

/** Every machine, by id, for the statechart generator. */
export const machines = {
  modelVersion: modelVersionMachine,
  modelReplica: replicaMachine,
  server: serverMachine,
  serverReplica: serverReplicaMachine,
  pipelineVersion: pipelineVersionMachine,
  experiment: experimentMachine,
} as const;
