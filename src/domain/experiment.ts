/** Experiments in the scheduler's vocabulary: plain JSON, independent of the wire. */
import type { KubernetesMeta } from './model.js';

/** What an experiment's names refer to (Seldon's ResourceType; unknown wire values mean model). */
export type ResourceType = 'model' | 'pipeline';

export interface ExperimentCandidate {
  name: string;
  weight: number;
}

export interface ExperimentMirror {
  name: string;
  percent: number;
}

export interface ExperimentDefinition {
  name: string;
  /** The baseline: requests to this model or pipeline are split across the candidates. */
  default?: string;
  candidates: ExperimentCandidate[];
  mirror?: ExperimentMirror;
  config?: { stickySessions: boolean };
  kubernetesMeta?: KubernetesMeta;
  resourceType: ResourceType;
}
