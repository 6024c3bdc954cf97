import type { SnapshotFrom } from 'xstate';
import type { ExperimentDefinition } from '../../domain/experiment.js';
import type { PipelineDefinition, PipelineState } from '../../domain/pipeline.js';
import type { ModelDefinition, ModelState, ReplicaState, RuntimeInfo } from '../../domain/model.js';
import type { ReplicaConfig } from '../../domain/server.js';
import type { modelVersionMachine } from '../model/model.machine.js';
import type { replicaMachine } from '../replica/replica.machine.js';

/** A model version an agent reports as loaded when it subscribes. */
export interface LoadedModel {
  definition: ModelDefinition;
  version: number;
}

/** An agent subscribing for one server replica, with what it already has loaded. */
export interface ReplicaJoin {
  server: string;
  idx: number;
  shared: boolean;
  config: ReplicaConfig;
  availableMemoryBytes: number;
  loaded: readonly LoadedModel[];
}

/** An agent's report on an op (AgentEvent), already decoded by the adapter. */
export interface AgentReport {
  server: string;
  idx: number;
  model: string;
  version: number;
  event: 'loaded' | 'loadFailed' | 'unloaded' | 'unloadFailed' | 'other';
  message: string;
  availableMemoryBytes: number;
  runtimeInfo?: RuntimeInfo;
}

export interface ReplicaView {
  idx: number;
  state: ReplicaState;
  reason: string;
  at: number;
}

export interface VersionView {
  version: number;
  server: string;
  definition: ModelDefinition;
  state: ModelState;
  reason: string;
  availableReplicas: number;
  unavailableReplicas: number;
  at: number;
  replicas: ReplicaView[];
}

export interface ModelView {
  name: string;
  deleted: boolean;
  /** Ascending; only the latest unless all versions were asked for. */
  versions: VersionView[];
}

export interface ServerReplicaStatusView {
  idx: number;
  totalMemoryBytes: number;
  availableMemoryBytes: number;
  reservedMemoryBytes: number;
  numLoadedModels: number;
  overCommitPercentage: number;
  draining: boolean;
}

export interface ServerStatusView {
  name: string;
  /** The server actor's state. */
  state: 'declared' | 'serving' | 'removed';
  expectedReplicas: number;
  minReplicas: number;
  maxReplicas: number;
  shared: boolean;
  kubernetesMeta?: { namespace: string; generation: number };
  replicas: ServerReplicaStatusView[];
}

/** The ModelState of a model version (its leaf state), from its cell or a snapshot. */
export function modelStateOf(
  s: Pick<SnapshotFrom<typeof modelVersionMachine>, 'value'>,
): ModelState {
  const v = s.value;
  return typeof v === 'string' ? v : (Object.values(v)[0] ?? 'unknown');
}

/** The ModelReplicaState of a replica, from its cell or a snapshot. */
export function replicaStateOf(
  s: Pick<SnapshotFrom<typeof replicaMachine>, 'value'>,
): ReplicaState {
  return s.value;
}

/** One version of a pipeline, as status calls report it. */
export interface PipelineVersionView {
  version: number;
  uid: string;
  definition: PipelineDefinition;
  state: PipelineState;
  reason: string;
  /** Epoch ms of the last change of `state`, `reason` or `modelsReady`. */
  lastChangeAt: number;
  /** Every step's model is Available. */
  modelsReady: boolean;
}

export interface PipelineView {
  name: string;
  deleted: boolean;
  /** Ascending; only the latest unless all versions were asked for. */
  versions: PipelineVersionView[];
}

export interface ExperimentView {
  definition: ExperimentDefinition;
  /** The experiment actor's state (its leaf). */
  state: 'inactive' | 'active' | 'stopped';
  /** Traffic is being split (every referenced resource can take it). */
  active: boolean;
  candidatesReady: boolean;
  mirrorReady: boolean;
  statusDescription: string;
  deleted: boolean;
}
