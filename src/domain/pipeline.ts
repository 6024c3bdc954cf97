/**
 * Pipelines in the scheduler's vocabulary: plain JSON, normalised the way Seldon normalises them
 * (bare step references become `<step>.outputs`), independent of the wire.
 */
import { failedPrecondition } from './errors.js';
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

// ── LoadPipeline: normalisation and validation ─────────────────────────────────────────────────
// Seldon parity: scheduler/pkg/store/pipeline/utils.go (CreatePipelineVersionFromProto),
// validate.go and errors.go. The texts below are the reference's, typos included: clients match them.

const INPUTS = 'inputs';
const OUTPUTS = 'outputs';
const STEP = 'step';
const SEPARATOR = '.';
const SPECIFIERS: ReadonlySet<string> = new Set([INPUTS, OUTPUTS]);

/** Code-unit order, as Go's sort.Strings (names are ASCII once the wire has checked them). */
const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The step (or pipeline) a reference names: what comes before the first dot. */
const head = (ref: string): string => {
  const dot = ref.indexOf(SEPARATOR);
  return dot < 0 ? ref : ref.slice(0, dot);
};

/** Step inputs, triggers and output entries: `a` → `a.outputs`, `<pipeline>` → `<pipeline>.inputs`. */
function normaliseRef(ref: string, pipeline: string): string {
  if (ref.includes(SEPARATOR)) return ref;
  return ref === pipeline ? `${pipeline}.${INPUTS}` : `${ref}.${OUTPUTS}`;
}

/** External inputs and triggers: `p` → `p.outputs`, `p.step.s` → `p.step.s.outputs`. */
function normaliseExternalRef(ref: string): string {
  const parts = ref.split(SEPARATOR);
  const bare = parts.length === 1;
  const stepOnly = parts.length === 3 && parts[1] === STEP;
  return bare || stepOnly ? `${ref}.${OUTPUTS}` : ref;
}

function normaliseStep(s: PipelineStepDef, pipeline: string): PipelineStepDef {
  const step: PipelineStepDef = {
    ...s,
    inputs: s.inputs.map((r) => normaliseRef(r, pipeline)),
    triggers: s.triggers.map((r) => normaliseRef(r, pipeline)),
    tensorMap: { ...s.tensorMap },
  };
  if (s.batch) step.batch = { ...s.batch };
  return step;
}

/** The request with Seldon's reference normalisation applied and steps sorted by name. */
function normalise(raw: PipelineDefinition): PipelineDefinition {
  const def: PipelineDefinition = {
    name: raw.name,
    steps: raw.steps
      .map((s) => normaliseStep(s, raw.name))
      .sort((a, b) => compareText(a.name, b.name)),
  };
  if (raw.input) {
    def.input = {
      ...raw.input,
      externalInputs: raw.input.externalInputs.map(normaliseExternalRef),
      externalTriggers: raw.input.externalTriggers.map(normaliseExternalRef),
      tensorMap: { ...raw.input.tensorMap },
    };
  }
  if (raw.output) {
    def.output = {
      ...raw.output,
      steps: raw.output.steps.map((r) => normaliseRef(r, raw.name)),
      tensorMap: { ...raw.output.tensorMap },
    };
  }
  if (raw.kubernetesMeta) def.kubernetesMeta = { ...raw.kubernetesMeta };
  return def;
}

/** A check returns the reference's error text for the first offence it finds. */
type Check = (d: PipelineDefinition) => string | undefined;

/** The first problem `problem` finds among the refs `pick` selects, steps in name order. */
function firstStepRef(
  d: PipelineDefinition,
  pick: (s: PipelineStepDef) => readonly string[],
  problem: (s: PipelineStepDef, ref: string) => string | undefined,
): string | undefined {
  for (const s of d.steps) {
    for (const ref of pick(s)) {
      const found = problem(s, ref);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

const inputsOf = (s: PipelineStepDef): readonly string[] => s.inputs;
const triggersOf = (s: PipelineStepDef): readonly string[] => s.triggers;

/** Blank, or naming no step (`.outputs` is what an empty string normalises to). */
const isEmptyRef = (ref: string): boolean => ref.trim() === '' || ref.startsWith(SEPARATOR);

/** `<step>.(inputs|outputs)[.<tensor>]`. */
function hasValidSpecifier(ref: string): boolean {
  const parts = ref.split(SEPARATOR);
  return (parts.length === 2 || parts.length === 3) && SPECIFIERS.has(parts[1] ?? '');
}

const stepNames = (d: PipelineDefinition): ReadonlySet<string> =>
  new Set(d.steps.map((s) => s.name));

/** Rule 0 (utils.go): step names are unique. Steps are sorted, so duplicates are neighbours. */
const repeatedStep: Check = (d) => {
  const dup = d.steps.find((s, i) => i > 0 && d.steps[i - 1]?.name === s.name);
  return dup === undefined ? undefined : `pipeline ${d.name} has repeated step ${dup.name}`;
};

/** Rule 2. */
const noSteps: Check = (d) =>
  d.steps.length === 0 ? `pipeline ${d.name} has no steps defined` : undefined;

/** Rule 3. */
const stepNamedAsPipeline: Check = (d) =>
  d.steps.some((s) => s.name === d.name)
    ? `pipeline ${d.name} must not have a step name with the same name as pipeline name`
    : undefined;

/** Rule 4. */
const emptyInput: Check = (d) =>
  firstStepRef(d, inputsOf, (s, ref) =>
    isEmptyRef(ref) ? `pipeline ${d.name} step ${s.name} has an empty input` : undefined,
  );

/** Rule 4b. */
const invalidInput: Check = (d) =>
  firstStepRef(d, inputsOf, (s, ref) =>
    hasValidSpecifier(ref)
      ? undefined
      : `pipeline step input invalid pipeline ${d.name} step ${s.name} input step ${ref}.`,
  );

/** Rule 5, first half. */
const emptyTrigger: Check = (d) =>
  firstStepRef(d, triggersOf, (s, ref) =>
    isEmptyRef(ref) ? `pipeline ${d.name} step ${s.name} has an empty trigger` : undefined,
  );

/** Rule 5, second half (the reference says "input step" here too). */
const invalidTrigger: Check = (d) =>
  firstStepRef(d, triggersOf, (s, ref) =>
    hasValidSpecifier(ref)
      ? undefined
      : `pipeline step trigger invalid pipeline ${d.name} step ${s.name} input step ${ref}.`,
  );

/** Rule 6: inputs name a step of this pipeline or the pipeline itself. */
const missingInputStep: Check = (d) => {
  const steps = stepNames(d);
  return firstStepRef(d, inputsOf, (s, ref) => {
    const target = head(ref);
    return steps.has(target) || target === d.name
      ? undefined
      : `pipeline ${d.name} step ${s.name} has input ${target} for step that does not exist`;
  });
};

/** Ours (the reference crashes in the cycle check): triggers name a step or the pipeline. */
const missingTriggerStep: Check = (d) => {
  const steps = stepNames(d);
  return firstStepRef(d, triggersOf, (s, ref) => {
    const target = head(ref);
    return steps.has(target) || target === d.name
      ? undefined
      : `pipeline ${d.name} step ${s.name} has trigger ${target} for step that does not exist`;
  });
};

/** Rule 6b: output entries name a step (the pipeline's own name is not accepted here). */
const missingOutputStep: Check = (d) => {
  const steps = stepNames(d);
  const missing = d.output?.steps.map(head).find((target) => !steps.has(target));
  return missing === undefined ? undefined : `pipeline ${d.name} output step ${missing} not found`;
};

/** Rule 7. */
const invalidOutputSpecifier: Check = (d) => {
  const bad = d.output?.steps.find((ref) => !hasValidSpecifier(ref));
  return bad === undefined ? undefined : `pipeline ${d.name} output specifier ${bad} invalid`;
};

/**
 * Whether the steps' inputs and triggers form a cycle (references to the pipeline itself are
 * its inputs topic, not an edge). Every reference names an existing step by the time it runs.
 */
function hasCycle(d: PipelineDefinition): boolean {
  const sources = new Map(
    d.steps.map((s) => [
      s.name,
      [...s.inputs, ...s.triggers].map(head).filter((n) => n !== d.name),
    ]),
  );
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (step: string): boolean => {
    const seen = state.get(step);
    if (seen !== undefined) return seen === 'visiting';
    state.set(step, 'visiting');
    const cyclic = (sources.get(step) ?? []).some(visit);
    state.set(step, 'done');
    return cyclic;
  };
  return d.steps.some((s) => visit(s.name));
}

/** Rule 8 (the seed has no allowCycles, so it always applies). */
const cycle: Check = (d) => (hasCycle(d) ? `pipeline ${d.name} has a cycle` : undefined);

/** Rule 10. */
const noExternalInputs: Check = (d) =>
  d.input?.externalInputs.length === 0
    ? `pipeline ${d.name} input  is invalid. At least one pipeline input must be specified`
    : undefined;

/** The reasons of rule 10b, verbatim. */
export const EXTERNAL_INPUT_REASONS = {
  empty: 'Input name must not be empty',
  invalidPrefix:
    'A Pipeline inputs referencing another pipeline must be <pipeineName>.(inputs|outputs|step.<stepName>)',
  stepSuffix: 'A pipeline step must be <pipelineName>.step.<stepName>.(inputs|outputs)',
  tooLong:
    'The input is too long. It must be <pipelineName>.(inputs|outputs).(tensorName)? or <pipelineName>.step.<stepName>.<inputs|outputs>.<tensorName>',
} as const;

/**
 * Why an external input (normalised) is invalid, or undefined when it is valid (rule 10b).
 * Normalisation makes the `empty` reason and the 3-part `stepSuffix` case unreachable through
 * {@link preparePipeline}; they are kept for parity with the reference's validator.
 */
export function externalInputProblem(ref: string): string | undefined {
  if (ref.trim() === '') return EXTERNAL_INPUT_REASONS.empty;
  const parts = ref.split(SEPARATOR);
  const kind = parts[1] ?? '';
  if (parts.length <= 2) {
    return parts.length === 2 && SPECIFIERS.has(kind)
      ? undefined
      : EXTERNAL_INPUT_REASONS.invalidPrefix;
  }
  if (parts.length === 3) {
    if (kind === STEP) return EXTERNAL_INPUT_REASONS.stepSuffix;
    return SPECIFIERS.has(kind) ? undefined : EXTERNAL_INPUT_REASONS.invalidPrefix;
  }
  if (!SPECIFIERS.has(kind) && kind !== STEP) return EXTERNAL_INPUT_REASONS.invalidPrefix;
  if (!SPECIFIERS.has(parts[3] ?? '')) return EXTERNAL_INPUT_REASONS.stepSuffix;
  if (SPECIFIERS.has(kind)) return EXTERNAL_INPUT_REASONS.invalidPrefix;
  return parts.length > 5 ? EXTERNAL_INPUT_REASONS.tooLong : undefined;
}

/** Rule 10b. */
const invalidExternalInput: Check = (d) => {
  for (const ref of d.input?.externalInputs ?? []) {
    const reason = externalInputProblem(ref);
    if (reason !== undefined) return `pipeline ${d.name} input ${ref} is invalid. ${reason}`;
  }
  return undefined;
};

/** The reference's order (rule 1, the name, is checked at the wire; rule 9 can never fire). */
const CHECKS: readonly Check[] = [
  repeatedStep,
  noSteps,
  stepNamedAsPipeline,
  emptyInput,
  invalidInput,
  emptyTrigger,
  invalidTrigger,
  missingInputStep,
  missingTriggerStep,
  missingOutputStep,
  invalidOutputSpecifier,
  cycle,
  noExternalInputs,
  invalidExternalInput,
];

/**
 * Normalises a LoadPipeline request as Seldon does (bare step references become
 * `<step>.outputs`, the pipeline's own name becomes `<pipeline>.inputs`, external `p` and
 * `p.step.s` get `.outputs`) and validates it in the reference's order.
 * @returns the normalised definition, steps sorted by name.
 * @throws SchedulerError FailedPrecondition with the reference's text for the first rule broken;
 *   when several steps break it, the first step in name order is reported.
 */
export function preparePipeline(raw: PipelineDefinition): PipelineDefinition {
  const def = normalise(raw);
  for (const check of CHECKS) {
    const problem = check(def);
    if (problem !== undefined) throw failedPrecondition(problem, { pipeline: def.name });
  }
  return def;
}

const isRecord = (v: unknown): v is Readonly<Record<string, unknown>> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isArray = (v: unknown): v is readonly unknown[] => Array.isArray(v);
const definedKeys = (r: Readonly<Record<string, unknown>>): string[] =>
  Object.keys(r).filter((k) => r[k] !== undefined);

/** Structural equality of plain JSON values; object key order and undefined members do not count. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isArray(a) && isArray(b)) {
    return a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = definedKeys(a);
    return keys.length === definedKeys(b).length && keys.every((k) => sameJson(a[k], b[k]));
  }
  return false;
}

/**
 * Whether two prepared definitions ask for the same pipeline, ignoring `kubernetesMeta`
 * (an identical LoadPipeline is then a no-op). tensorMap key order does not matter.
 */
export function samePipelineSpec(a: PipelineDefinition, b: PipelineDefinition): boolean {
  return sameJson({ ...a, kubernetesMeta: undefined }, { ...b, kubernetesMeta: undefined });
}

/** The models a pipeline's steps run (a step's name is its model's name), sorted and unique. */
export function stepModels(def: PipelineDefinition): string[] {
  return [...new Set(def.steps.map((s) => s.name))].sort(compareText);
}
