import type { ReplicaSummary } from '../../domain/model.js';

/**
 * A fresh view of this version's replicas, sent whenever one of them changed. The version's state is
 * derived from it (Seldon parity: scheduler/pkg/store/memory_status.go updateModelStatus).
 */
export interface ReplicasChanged {
  type: 'replicas.changed';
  at: number;
  summary: ReplicaSummary;
  /** The model is deleted or a newer version exists: the version only winds down. */
  retiring: boolean;
  /** Desired replicas, or undefined when the definition has no deployment spec. */
  replicas: number | undefined;
  minReplicas: number;
  /** Another version of the model is ModelAvailable (rolling-update rule). */
  otherVersionAvailable: boolean;
}

export type ModelVersionEvent =
  | ReplicasChanged
  | {
      type: 'placement.failed';
      at: number;
      reason: string;
      availableReplicas: number;
      unavailableReplicas: number;
    };

export interface ModelVersionInput {
  model: string;
  version: number;
}

export interface ModelVersionContext extends ModelVersionInput {
  reason: string;
  availableReplicas: number;
  unavailableReplicas: number;
  /** When the state last changed (ms since epoch, from the event); 0 before the first change. */
  at: number;
}
