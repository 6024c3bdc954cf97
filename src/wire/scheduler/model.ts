/**
 * Proto ↔ domain mapping of Seldon's `Model` message and the Scheduler's model requests and
 * replies (LoadModel, UnloadModel, ModelStatus); wire/agent.ts maps the agents' ops and
 * re-announced models with the same `Model` mapping.
 */
import { invalidSpec } from '../../domain/errors.js';
import {
  DEFAULT_DEPLOYMENT,
  type DeploymentSpec,
  type KubernetesMeta,
  type ModelDefinition,
  type ModelSpec,
  type ModelState,
  type ReplicaState,
  type RuntimeInfo,
} from '../../domain/model.js';
import { checkInt, checkModelName, checkServerName } from '../../domain/names.js';
import {
  ModelReplicaStatus_ModelReplicaState as ProtoReplicaState,
  ModelStatus_ModelState as ProtoModelState,
  type Model,
  type ModelRuntimeInfo,
  type ModelSpec as ProtoModelSpec,
  type ModelStatusRequest,
  type ModelStatusResponse,
  type ModelVersionStatus,
  type UnloadModelRequest,
} from '../../gen/mlops/scheduler/scheduler.js';
import {
  checkInt64,
  checkList,
  checkText,
  checkUint32,
  int64,
  kubernetesMetaFromProto,
  kubernetesMetaToProto,
  LIMITS,
} from '../limits.js';
import type { ModelView, VersionView } from '../../actors/index.js';

/**
 * The model a ModelStatus request names, or undefined for every model.
 * @throws SchedulerError InvalidSpec naming `model.name`.
 */
export const modelStatusFromProto = (req: ModelStatusRequest): string | undefined =>
  req.model && checkModelName('model.name', req.model.name);

/**
 * An UnloadModel request: the model's name, and the Kubernetes generation that asked.
 * @throws SchedulerError InvalidSpec naming the bad field.
 */
export function unloadModelFromProto(req: UnloadModelRequest): {
  name: string;
  kubernetesMeta: KubernetesMeta | undefined;
} {
  return {
    name: checkModelName('model.name', req.model?.name),
    kubernetesMeta:
      req.kubernetesMeta && kubernetesMetaFromProto('kubernetesMeta', req.kubernetesMeta),
  };
}

/**
 * Decodes and validates a `Model` from a client (LoadModel).
 * @throws SchedulerError InvalidSpec naming the first bad field, with `prefix` (e.g. `model`).
 */
export function modelFromProto(prefix: string, model: Model | undefined): ModelDefinition {
  if (!model) throw invalidSpec(prefix, 'is required');
  const name = checkModelName(`${prefix}.meta.name`, model.meta?.name);
  if (!model.modelSpec) throw invalidSpec(`${prefix}.modelSpec`, 'is required');
  const spec = specFromProto(`${prefix}.modelSpec`, model.modelSpec);
  const def: ModelDefinition = { meta: { name }, spec };
  const meta = model.meta;
  if (meta?.kind !== undefined) def.meta.kind = checkText(`${prefix}.meta.kind`, meta.kind);
  if (meta?.version !== undefined) {
    def.meta.version = checkText(`${prefix}.meta.version`, meta.version);
  }
  if (meta?.kubernetesMeta) {
    def.meta.kubernetesMeta = kubernetesMetaFromProto(
      `${prefix}.meta.kubernetesMeta`,
      meta.kubernetesMeta,
    );
  }
  def.deployment = deploymentFromProto(`${prefix}.deploymentSpec`, model.deploymentSpec);
  if (model.streamSpec) {
    def.stream = {
      inputTopic: checkText(`${prefix}.streamSpec.inputTopic`, model.streamSpec.inputTopic),
      outputTopic: checkText(`${prefix}.streamSpec.outputTopic`, model.streamSpec.outputTopic),
    };
  }
  return def;
}

function deploymentFromProto(field: string, d: Model['deploymentSpec']): DeploymentSpec {
  if (!d) return { ...DEFAULT_DEPLOYMENT };
  const replicas = checkInt(`${field}.replicas`, d.replicas, 0, LIMITS.replicas);
  const minReplicas = checkInt(`${field}.minReplicas`, d.minReplicas, 0, LIMITS.replicas);
  // A bound, not an allocation: Seldon's operator sends 4294967295 when the manifest sets none.
  const maxReplicas = checkUint32(`${field}.maxReplicas`, d.maxReplicas);
  if (maxReplicas > 0 && minReplicas > maxReplicas) {
    throw invalidSpec(`${field}.minReplicas`, `${minReplicas} is above maxReplicas ${maxReplicas}`);
  }
  return { replicas, minReplicas, maxReplicas, logPayloads: d.logPayloads };
}

function specFromProto(field: string, s: ProtoModelSpec): ModelSpec {
  const uri = checkText(`${field}.uri`, s.uri);
  if (uri.trim() === '')
    throw invalidSpec(`${field}.uri`, 'must name the storage URI of the model');
  const spec: ModelSpec = {
    uri,
    requirements: checkList(`${field}.requirements`, s.requirements).map((r, i) => {
      if (r.trim() === '') throw invalidSpec(`${field}.requirements[${i}]`, 'must not be empty');
      return checkText(`${field}.requirements[${i}]`, r);
    }),
    parameters: checkList(`${field}.parameters`, s.parameters).map((p, i) => ({
      name: checkText(`${field}.parameters[${i}].name`, p.name),
      value: checkText(`${field}.parameters[${i}].value`, p.value),
    })),
  };
  if (s.artifactVersion !== undefined) spec.artifactVersion = s.artifactVersion;
  if (s.memoryBytes !== undefined) {
    spec.memoryBytes = checkInt64(`${field}.memoryBytes`, s.memoryBytes, 0, LIMITS.memoryBytes);
  }
  if (s.server !== undefined && s.server !== '') {
    spec.server = checkServerName(`${field}.server`, s.server);
  }
  const sc = s.storageConfig?.config;
  if (sc) {
    spec.storageConfig = {
      kind: sc.$case === 'storageSecretName' ? 'secretName' : 'rcloneConfig',
      value: checkText(`${field}.storageConfig`, sc.value),
    };
  }
  const info = s.modelRuntimeInfo && runtimeInfoFromProto(s.modelRuntimeInfo);
  if (info) spec.runtimeInfo = info;
  const ms = s.modelSpec;
  if (ms?.$case === 'explainer') {
    spec.explainer = { type: checkText(`${field}.explainer.type`, ms.value.type) };
    if (ms.value.modelRef !== undefined) spec.explainer.modelRef = ms.value.modelRef;
    if (ms.value.pipelineRef !== undefined) spec.explainer.pipelineRef = ms.value.pipelineRef;
  } else if (ms?.$case === 'llm') {
    spec.llm = {};
    if (ms.value.modelRef !== undefined) spec.llm.modelRef = ms.value.modelRef;
    if (ms.value.pipelineRef !== undefined) spec.llm.pipelineRef = ms.value.pipelineRef;
  }
  return spec;
}

/** Runtime info (parallel workers, instance counts) as the domain keeps it. */
export function runtimeInfoFromProto(r: ModelRuntimeInfo): RuntimeInfo | undefined {
  const v = r.modelRuntimeInfo;
  if (v?.$case === 'mlserver')
    return { kind: 'mlserver', parallelWorkers: v.value.parallelWorkers };
  if (v?.$case === 'triton') {
    return { kind: 'triton', cpuInstanceCounts: v.value.cpu.map((c) => c.instanceCount) };
  }
  return undefined;
}

export function runtimeInfoToProto(r: RuntimeInfo): ModelRuntimeInfo {
  return r.kind === 'mlserver'
    ? { modelRuntimeInfo: { $case: 'mlserver', value: { parallelWorkers: r.parallelWorkers } } }
    : {
        modelRuntimeInfo: {
          $case: 'triton',
          value: { cpu: r.cpuInstanceCounts.map((instanceCount) => ({ instanceCount })) },
        },
      };
}

/** The stored definition as Seldon's `Model` message (ModelStatus.modelDefn, LOAD_MODEL ops). */
export function modelToProto(d: ModelDefinition): Model {
  const s = d.spec;
  const spec: ProtoModelSpec = {
    uri: s.uri,
    requirements: [...s.requirements],
    parameters: s.parameters.map((p) => ({ ...p })),
  };
  if (s.artifactVersion !== undefined) spec.artifactVersion = s.artifactVersion;
  if (s.memoryBytes !== undefined) spec.memoryBytes = int64(s.memoryBytes);
  if (s.server !== undefined) spec.server = s.server;
  if (s.storageConfig) {
    spec.storageConfig = {
      config:
        s.storageConfig.kind === 'secretName'
          ? { $case: 'storageSecretName', value: s.storageConfig.value }
          : { $case: 'storageRcloneConfig', value: s.storageConfig.value },
    };
  }
  if (s.runtimeInfo) spec.modelRuntimeInfo = runtimeInfoToProto(s.runtimeInfo);
  if (s.explainer) spec.modelSpec = { $case: 'explainer', value: { ...s.explainer } };
  else if (s.llm) spec.modelSpec = { $case: 'llm', value: { ...s.llm } };
  const { kubernetesMeta, ...meta } = d.meta;
  const model: Model = { meta, modelSpec: spec };
  if (kubernetesMeta)
    model.meta = { ...meta, kubernetesMeta: kubernetesMetaToProto(kubernetesMeta) };
  if (d.deployment) model.deploymentSpec = { ...d.deployment };
  if (d.stream) model.streamSpec = { ...d.stream };
  return model;
}

/**
 * Decodes a model an agent re-announces. Agents echo what the scheduler sent them, so this is
 * lenient about what a client would be refused for, but still requires a valid name.
 */
export function announcedModelFromProto(field: string, model: Model | undefined): ModelDefinition {
  const name = checkModelName(`${field}.meta.name`, model?.meta?.name);
  try {
    return modelFromProto(field, model);
  } catch {
    return {
      meta: { name },
      spec: { uri: model?.modelSpec?.uri ?? '', requirements: [], parameters: [] },
      deployment: { ...DEFAULT_DEPLOYMENT },
    };
  }
}

/** The one place model states become proto enum values. */
export function modelStateToProto(s: ModelState): ProtoModelState {
  switch (s) {
    case 'unknown':
      return ProtoModelState.ModelStateUnknown;
    case 'progressing':
      return ProtoModelState.ModelProgressing;
    case 'available':
      return ProtoModelState.ModelAvailable;
    case 'failed':
      return ProtoModelState.ModelFailed;
    case 'terminating':
      return ProtoModelState.ModelTerminating;
    case 'terminated':
      return ProtoModelState.ModelTerminated;
    case 'terminateFailed':
      return ProtoModelState.ModelTerminateFailed;
    case 'scheduleFailed':
      return ProtoModelState.ScheduleFailed;
  }
}

/** The one place replica states become proto enum values. */
export function replicaStateToProto(s: ReplicaState): ProtoReplicaState {
  switch (s) {
    case 'unknown':
      return ProtoReplicaState.ModelReplicaStateUnknown;
    case 'loadRequested':
      return ProtoReplicaState.LoadRequested;
    case 'loading':
      return ProtoReplicaState.Loading;
    case 'loaded':
      return ProtoReplicaState.Loaded;
    case 'loadFailed':
      return ProtoReplicaState.LoadFailed;
    case 'unloadRequested':
      return ProtoReplicaState.UnloadRequested;
    case 'unloading':
      return ProtoReplicaState.Unloading;
    case 'unloaded':
      return ProtoReplicaState.Unloaded;
    case 'unloadFailed':
      return ProtoReplicaState.UnloadFailed;
    case 'available':
      return ProtoReplicaState.Available;
    case 'loadedUnavailable':
      return ProtoReplicaState.LoadedUnavailable;
    case 'unloadEnvoyRequested':
      return ProtoReplicaState.UnloadEnvoyRequested;
    case 'draining':
      return ProtoReplicaState.Draining;
  }
}

const timestamp = (at: number): { lastChangeTimestamp?: Date } =>
  at > 0 ? { lastChangeTimestamp: new Date(at) } : {};

function versionToProto(v: VersionView): ModelVersionStatus {
  const out: ModelVersionStatus = {
    version: v.version,
    serverName: v.server,
    modelReplicaState: Object.fromEntries(
      v.replicas.map((r) => [
        r.idx,
        { state: replicaStateToProto(r.state), reason: r.reason, ...timestamp(r.at) },
      ]),
    ),
    state: {
      state: modelStateToProto(v.state),
      reason: v.reason,
      availableReplicas: v.availableReplicas,
      unavailableReplicas: v.unavailableReplicas,
      ...timestamp(v.at),
    },
    modelDefn: modelToProto(v.definition),
  };
  const k8s = v.definition.meta.kubernetesMeta;
  if (k8s) out.kubernetesMeta = kubernetesMetaToProto(k8s);
  return out;
}

export function modelStatusToProto(m: ModelView): ModelStatusResponse {
  return { modelName: m.name, versions: m.versions.map(versionToProto), deleted: m.deleted };
}
