import type { ModelView, VersionView } from '../../actors/index.js';
import type { ModelState, ReplicaState } from '../../domain/model.js';
import {
  ModelReplicaStatus_ModelReplicaState as ProtoReplicaState,
  ModelStatus_ModelState as ProtoModelState,
  type ModelStatusResponse,
  type ModelVersionStatus,
} from '../../gen/mlops/scheduler/scheduler.js';
import { kubernetesMetaToProto } from '../../wire/limits.js';
import { modelToProto } from '../../wire/model.js';

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
