/**
 * Pipelines in the scheduler's vocabulary: plain JSON, normalised the way Seldon normalises them
 * (bare step references become `<step>.outputs`), independent of the wire.
 */
import type { KubernetesMeta } from './model.js';

/** How a step waits for its sources (Seldon's JoinOp; the wire maps INNER=0 / Chainer Inner=1). */
export type JoinType = 'inner' | 'outer' | 'any';

export interface BatchSpec {
  size?: number;
  windowMs?: number;
}

export interface PipelineStepDef {
  /** Also the name of the model the step runs. */
  name: string;
  /** Normalised references: `<step|pipeline>.(inputs|outputs)[.<tensor>]`. */
  inputs: string[];
  triggers: string[];
  tensorMap: Record<string, string>;
  joinWindowMs?: number;
  inputsJoin: JoinType;
  triggersJoin: JoinType;
  batch?: BatchSpec;
}

export interface PipelineInputDef {
  externalInputs: string[];
  externalTriggers: string[];
  joinWindowMs?: number;
  joinType: JoinType;
  triggersJoin: JoinType;
  tensorMap: Record<string, string>;
}

export interface PipelineOutputDef {
  steps: string[];
  joinWindowMs: number;
  stepsJoin: JoinType;
  tensorMap: Record<string, string>;
}

/** A pipeline as loaded: normalised, steps sorted by name. */
export interface PipelineDefinition {
  name: string;
  steps: PipelineStepDef[];
  input?: PipelineInputDef;
  output?: PipelineOutputDef;
  kubernetesMeta?: KubernetesMeta;
}

/** The statechart's states: `PipelineVersionState.PipelineStatus` without the unset value 0. */
export const PIPELINE_STATES = [
  'create',
  'creating',
  'ready',
  'failed',
  'terminate',
  'terminating',
  'terminated',
] as const;
export type PipelineState = (typeof PIPELINE_STATES)[number];
