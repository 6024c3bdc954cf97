/**
 * Proto ↔ domain mapping of Seldon's `Pipeline` message (LoadPipeline, PipelineStatus), and the
 * small limit checks the experiment mapping shares. Only the shape is checked here; Seldon's
 * pipeline rules (normalisation, references, cycles) are domain/pipeline.ts `preparePipeline`.
 */
import { invalidSpec } from '../../domain/errors.js';
import { checkModelName, checkPipelineName } from '../../domain/names.js';
import type {
  BatchSpec,
  JoinType,
  PipelineDefinition,
  PipelineInputDef,
  PipelineOutputDef,
  PipelineState,
  PipelineStepDef,
} from '../../domain/pipeline.js';
import {
  PipelineInput_JoinOp,
  PipelineOutput_JoinOp,
  PipelineStep_JoinOp,
  PipelineVersionState_PipelineStatus as ProtoPipelineStatus,
  type Batch,
  type Pipeline,
  type PipelineInput,
  type PipelineOutput,
  type PipelineStatusResponse,
  type PipelineStep,
  type PipelineVersionState,
  type PipelineWithState,
} from '../../gen/mlops/scheduler/scheduler.js';
import {
  checkList,
  checkText,
  checkUint32,
  kubernetesMetaFromProto,
  kubernetesMetaToProto,
} from '../limits.js';
import type { PipelineVersionView, PipelineView } from '../../actors/index.js';

// ── Pipeline ───────────────────────────────────────────────────────────────────────────────────

const strings = (field: string, v: readonly string[]): string[] =>
  checkList(field, v).map((s, i) => checkText(`${field}[${i}]`, s));

function tensorMapFromProto(
  field: string,
  m: Readonly<Record<string, string>>,
): Record<string, string> {
  const entries = checkList(field, Object.entries(m));
  return Object.fromEntries(
    entries.map(([k, v]) => [checkText(`${field} key`, k), checkText(`${field}[${k}]`, v)]),
  );
}

/** The three JoinOp enums of the proto share their values; each mapping names its own. */
interface JoinOps<E> {
  INNER: E;
  OUTER: E;
  ANY: E;
}

/** INNER/OUTER/ANY; any other wire value (an unknown enum number) means inner, as proto 0 does. */
function joinFromProto<E>(v: E, ops: JoinOps<E>): JoinType {
  if (v === ops.OUTER) return 'outer';
  if (v === ops.ANY) return 'any';
  return 'inner';
}

function joinToProto<E>(j: JoinType, ops: JoinOps<E>): E {
  switch (j) {
    case 'inner':
      return ops.INNER;
    case 'outer':
      return ops.OUTER;
    case 'any':
      return ops.ANY;
  }
}

function batchFromProto(field: string, b: Batch): BatchSpec {
  const batch: BatchSpec = {};
  if (b.size !== undefined) batch.size = checkUint32(`${field}.size`, b.size);
  if (b.windowMs !== undefined) batch.windowMs = checkUint32(`${field}.windowMs`, b.windowMs);
  return batch;
}

function stepFromProto(field: string, s: PipelineStep): PipelineStepDef {
  const step: PipelineStepDef = {
    name: checkModelName(`${field}.name`, s.name),
    inputs: strings(`${field}.inputs`, s.inputs),
    triggers: strings(`${field}.triggers`, s.triggers),
    tensorMap: tensorMapFromProto(`${field}.tensorMap`, s.tensorMap),
    inputsJoin: joinFromProto(s.inputsJoin, PipelineStep_JoinOp),
    triggersJoin: joinFromProto(s.triggersJoin, PipelineStep_JoinOp),
  };
  if (s.joinWindowMs !== undefined) {
    step.joinWindowMs = checkUint32(`${field}.joinWindowMs`, s.joinWindowMs);
  }
  if (s.batch) step.batch = batchFromProto(`${field}.batch`, s.batch);
  return step;
}

function inputFromProto(field: string, i: PipelineInput): PipelineInputDef {
  const input: PipelineInputDef = {
    externalInputs: strings(`${field}.externalInputs`, i.externalInputs),
    externalTriggers: strings(`${field}.externalTriggers`, i.externalTriggers),
    joinType: joinFromProto(i.joinType, PipelineInput_JoinOp),
    triggersJoin: joinFromProto(i.triggersJoin, PipelineInput_JoinOp),
    tensorMap: tensorMapFromProto(`${field}.tensorMap`, i.tensorMap),
  };
  if (i.joinWindowMs !== undefined) {
    input.joinWindowMs = checkUint32(`${field}.joinWindowMs`, i.joinWindowMs);
  }
  return input;
}

function outputFromProto(field: string, o: PipelineOutput): PipelineOutputDef {
  return {
    steps: strings(`${field}.steps`, o.steps),
    joinWindowMs: checkUint32(`${field}.joinWindowMs`, o.joinWindowMs),
    stepsJoin: joinFromProto(o.stepsJoin, PipelineOutput_JoinOp),
    tensorMap: tensorMapFromProto(`${field}.tensorMap`, o.tensorMap),
  };
}

/**
 * Decodes a LoadPipeline request's pipeline, as sent: steps in request order, references not
 * normalised (domain `preparePipeline` does that). The request's `uid` and `version` are dropped:
 * the scheduler assigns both.
 * @throws SchedulerError InvalidSpec naming the first bad field under `prefix`: a missing message,
 *   an invalid pipeline or step name, an over-long string or list, a number outside uint32.
 */
export function pipelineFromProto(prefix: string, p: Pipeline | undefined): PipelineDefinition {
  if (!p) throw invalidSpec(prefix, 'is required');
  const def: PipelineDefinition = {
    name: checkPipelineName(`${prefix}.name`, p.name),
    steps: checkList(`${prefix}.steps`, p.steps).map((s, i) =>
      stepFromProto(`${prefix}.steps[${i}]`, s),
    ),
  };
  if (p.input) def.input = inputFromProto(`${prefix}.input`, p.input);
  if (p.output) def.output = outputFromProto(`${prefix}.output`, p.output);
  if (p.kubernetesMeta) {
    def.kubernetesMeta = kubernetesMetaFromProto(`${prefix}.kubernetesMeta`, p.kubernetesMeta);
  }
  return def;
}

function stepToProto(s: PipelineStepDef): PipelineStep {
  const step: PipelineStep = {
    name: s.name,
    inputs: [...s.inputs],
    tensorMap: { ...s.tensorMap },
    inputsJoin: joinToProto(s.inputsJoin, PipelineStep_JoinOp),
    triggers: [...s.triggers],
    triggersJoin: joinToProto(s.triggersJoin, PipelineStep_JoinOp),
  };
  if (s.joinWindowMs !== undefined) step.joinWindowMs = s.joinWindowMs;
  if (s.batch) step.batch = { ...s.batch };
  return step;
}

function inputToProto(i: PipelineInputDef): PipelineInput {
  const input: PipelineInput = {
    externalInputs: [...i.externalInputs],
    externalTriggers: [...i.externalTriggers],
    joinType: joinToProto(i.joinType, PipelineInput_JoinOp),
    triggersJoin: joinToProto(i.triggersJoin, PipelineInput_JoinOp),
    tensorMap: { ...i.tensorMap },
  };
  if (i.joinWindowMs !== undefined) input.joinWindowMs = i.joinWindowMs;
  return input;
}

function outputToProto(o: PipelineOutputDef): PipelineOutput {
  return {
    steps: [...o.steps],
    joinWindowMs: o.joinWindowMs,
    stepsJoin: joinToProto(o.stepsJoin, PipelineOutput_JoinOp),
    tensorMap: { ...o.tensorMap },
  };
}

/**
 * A stored pipeline version as Seldon's `Pipeline` message (status responses, gateway messages):
 * steps in the order given (stored definitions keep them sorted by name).
 */
export function pipelineToProto(def: PipelineDefinition, version: number, uid: string): Pipeline {
  const p: Pipeline = { name: def.name, uid, version, steps: def.steps.map(stepToProto) };
  if (def.input) p.input = inputToProto(def.input);
  if (def.output) p.output = outputToProto(def.output);
  if (def.kubernetesMeta) p.kubernetesMeta = kubernetesMetaToProto(def.kubernetesMeta);
  return p;
}

/** The one place pipeline states become proto enum values. */
export function pipelineStateToProto(s: PipelineState): ProtoPipelineStatus {
  switch (s) {
    case 'create':
      return ProtoPipelineStatus.PipelineCreate;
    case 'creating':
      return ProtoPipelineStatus.PipelineCreating;
    case 'ready':
      return ProtoPipelineStatus.PipelineReady;
    case 'failed':
      return ProtoPipelineStatus.PipelineFailed;
    case 'terminate':
      return ProtoPipelineStatus.PipelineTerminate;
    case 'terminating':
      return ProtoPipelineStatus.PipelineTerminating;
    case 'terminated':
      return ProtoPipelineStatus.PipelineTerminated;
  }
}

function stateToProto(v: PipelineVersionView): PipelineVersionState {
  const state: PipelineVersionState = {
    pipelineVersion: v.version,
    status: pipelineStateToProto(v.state),
    reason: v.reason,
    modelsReady: v.modelsReady,
  };
  if (v.lastChangeAt > 0) state.lastChangeTimestamp = new Date(v.lastChangeAt);
  return state;
}

const versionToProto = (v: PipelineVersionView): PipelineWithState => ({
  pipeline: pipelineToProto(v.definition, v.version, v.uid),
  state: stateToProto(v),
});

/** One PipelineStatus message: the view's versions in the view's order (ascending). */
export function pipelineStatusToProto(view: PipelineView): PipelineStatusResponse {
  return { pipelineName: view.name, versions: view.versions.map(versionToProto) };
}
