/**
 * The model vocabulary: a plain-JSON mirror of Seldon's `Model` definition (so it can be persisted and
 * compared), the model and replica state unions, and the pure rules that derive one from the other.
 */

export interface KubernetesMeta {
  namespace: string;
  generation: number;
}

export interface ModelMeta {
  name: string;
  kind?: string;
  version?: string;
  kubernetesMeta?: KubernetesMeta;
}

export interface DeploymentSpec {
  replicas: number;
  minReplicas: number;
  maxReplicas: number;
  logPayloads: boolean;
}

/** The highest model version: versions are uint32 on the wire. */
export const MAX_VERSION = 0xffff_ffff;

/** What a model without a deployment spec asks for: one replica (Seldon's CRD default). */
export const DEFAULT_DEPLOYMENT: Readonly<DeploymentSpec> = {
  replicas: 1,
  minReplicas: 0,
  maxReplicas: 0,
  logPayloads: false,
};

export type RuntimeInfo =
  { kind: 'mlserver'; parallelWorkers: number } | { kind: 'triton'; cpuInstanceCounts: number[] };

export interface ModelSpec {
  uri: string;
  artifactVersion?: number;
  storageConfig?: { kind: 'secretName' | 'rcloneConfig'; value: string };
  requirements: string[];
  memoryBytes?: number;
  server?: string;
  parameters: { name: string; value: string }[];
  runtimeInfo?: RuntimeInfo;
  explainer?: { type: string; modelRef?: string; pipelineRef?: string };
  llm?: { modelRef?: string; pipelineRef?: string };
}

/** A whole model definition as a client sent it in LoadModel (one version's definition). */
export interface ModelDefinition {
  meta: ModelMeta;
  spec: ModelSpec;
  deployment?: DeploymentSpec;
  stream?: { inputTopic: string; outputTopic: string };
}

/** `ModelStatus.ModelState` of the seed, as camelCase state names. */
export const MODEL_STATES = [
  'unknown',
  'progressing',
  'available',
  'failed',
  'terminating',
  'terminated',
  'terminateFailed',
  'scheduleFailed',
] as const;
export type ModelState = (typeof MODEL_STATES)[number];

/** `ModelReplicaStatus.ModelReplicaState` of the seed, as camelCase state names. */
export const REPLICA_STATES = [
  'unknown',
  'loadRequested',
  'loading',
  'loaded',
  'loadFailed',
  'unloadRequested',
  'unloading',
  'unloaded',
  'unloadFailed',
  'available',
  'loadedUnavailable',
  'unloadEnvoyRequested',
  'draining',
] as const;
export type ReplicaState = (typeof REPLICA_STATES)[number];

/** Memory one replica of the model needs: memoryBytes times the runtime's instance count. */
export function requiredMemory(spec: ModelSpec): number {
  const base = spec.memoryBytes ?? 0;
  const info = spec.runtimeInfo;
  if (!info) return base;
  const instances =
    info.kind === 'mlserver' ? info.parallelWorkers : (info.cpuInstanceCounts[0] ?? 1);
  return base * instances;
}

/** Counts of a version's replicas by the buckets the model state is derived from. */
export interface ReplicaSummary {
  available: number;
  loading: number;
  failed: number;
  unloading: number;
  unloadFailed: number;
  draining: number;
  /** The reason and time of the newest LoadFailed/LoadedUnavailable replica. */
  failedReason: string;
  /** The reason of the newest UnloadFailed replica. */
  unloadFailedReason: string;
}

export interface ReplicaFact {
  state: ReplicaState;
  reason: string;
  at: number;
}

/** Buckets replica states as the model-state derivation needs them (Seldon parity: memory_status.go). */
export function summarizeReplicas(replicas: Iterable<ReplicaFact>): ReplicaSummary {
  const s: ReplicaSummary = {
    available: 0,
    loading: 0,
    failed: 0,
    unloading: 0,
    unloadFailed: 0,
    draining: 0,
    failedReason: '',
    unloadFailedReason: '',
  };
  let failedAt = -Infinity;
  let unloadFailedAt = -Infinity;
  for (const r of replicas) {
    switch (r.state) {
      case 'available':
        s.available++;
        break;
      case 'loadRequested':
      case 'loading':
      case 'loaded':
        s.loading++;
        break;
      case 'loadFailed':
      case 'loadedUnavailable':
        s.failed++;
        if (r.at >= failedAt) {
          failedAt = r.at;
          s.failedReason = r.reason;
        }
        break;
      case 'unloadEnvoyRequested':
      case 'unloadRequested':
      case 'unloading':
        s.unloading++;
        break;
      case 'unloadFailed':
        s.unloadFailed++;
        if (r.at >= unloadFailedAt) {
          unloadFailedAt = r.at;
          s.unloadFailedReason = r.reason;
        }
        break;
      case 'draining':
        s.draining++;
        break;
      case 'unloaded':
      case 'unknown':
        break;
    }
  }
  return s;
}

/**
 * Equality of two definitions as Seldon decides whether a LoadModel makes a new version: the runtime
 * info an agent filled in never counts. Returns which parts differ.
 */
export function diffDefinitions(
  a: ModelDefinition,
  b: ModelDefinition,
): { meta: boolean; spec: boolean; deployment: boolean; stream: boolean } {
  return {
    meta: !sameJson(a.meta, b.meta),
    spec: !sameSpec(a, b),
    deployment: !sameJson(a.deployment, b.deployment),
    stream: !sameJson(a.stream, b.stream),
  };
}

/** Whether two definitions have the same spec, the runtime info an agent filled in aside. */
export function sameSpec(a: ModelDefinition, b: ModelDefinition): boolean {
  return sameJson({ ...a.spec, runtimeInfo: undefined }, { ...b.spec, runtimeInfo: undefined });
}

/**
 * Whether two JSON values are equal as JSON texts would be: key order and properties that are
 * undefined do not count (undefined elsewhere is null).
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if ((a ?? null) === (b ?? null)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x: unknown, i) => sameJson(x, b[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x).filter((k) => x[k] !== undefined);
  return (
    keys.length === Object.keys(y).filter((k) => y[k] !== undefined).length &&
    keys.every((k) => y[k] !== undefined && sameJson(x[k], y[k]))
  );
}
