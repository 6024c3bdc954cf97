/**
 * Seldon manifests (YAML, kinds Pipeline and Experiment, apiVersion mlops.seldon.io/v1alpha1) as
 * the scheduler requests the operator or the `seldon` CLI would send (docs §5.3, §5.4).
 *
 * Decoding is strict, like the CLI's decode into the CRD Go types: a field the CRD does not have
 * fails with Go's text, `json: unknown field "<name>"`. As in Go's JSON decoding, `null` leaves the
 * zero value (a YAML list item `-` with nothing after it is the string ""). The CRD is the one of
 * the seed's era: Pipeline spec has input, steps and output (no allowCycles, maxStepRevisits or
 * dataflow, which the seed's `Pipeline` message cannot carry). Each object's keys are checked
 * before its members are decoded, so with several unknown fields the outermost is named.
 */
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import {
  PipelineInput_JoinOp,
  PipelineOutput_JoinOp,
  PipelineStep_JoinOp,
  ResourceType,
  type Batch,
  type Experiment,
  type ExperimentCandidate,
  type ExperimentMirror,
  type KubernetesMeta,
  type Pipeline,
  type PipelineInput,
  type PipelineOutput,
  type PipelineStep,
} from '../../src/gen/mlops/scheduler/scheduler.js';

/** Where the Seldon sample manifests are: `$SELDON_SAMPLES`, else `shared/seldon-samples` beside the repo. */
export const SAMPLES_DIR =
  process.env['SELDON_SAMPLES'] ??
  fileURLToPath(new URL('../../../shared/seldon-samples/', import.meta.url));

export const API_VERSION = 'mlops.seldon.io/v1alpha1';

export type Manifest =
  { kind: 'Pipeline'; pipeline: Pipeline } | { kind: 'Experiment'; experiment: Experiment };

type Json = Readonly<Record<string, unknown>>;

const fail = (path: string, problem: string): Error => new Error(`${path}: ${problem}`);

/** An object with only the given keys; the first other key, in document order, is an error. */
function object(path: string, v: unknown, known: readonly string[]): Json {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw fail(path, 'must be an object');
  const obj = v as Json;
  const unknown = Object.keys(obj).find((k) => !known.includes(k));
  if (unknown !== undefined) throw new Error(`json: unknown field ${JSON.stringify(unknown)}`);
  return obj;
}

function str(path: string, v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'string') throw fail(path, 'must be a string');
  return v;
}

function optionalStr(path: string, v: unknown): string | undefined {
  return v === null || v === undefined ? undefined : str(path, v);
}

function int(path: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw fail(path, `must be a whole number between 0 and ${max}`);
  }
  return v;
}

const UINT32_MAX = 0xffff_ffff;
const uint32 = (path: string, v: unknown): number =>
  v === null || v === undefined ? 0 : int(path, v, UINT32_MAX);
const optionalUint32 = (path: string, v: unknown): number | undefined =>
  v === null || v === undefined ? undefined : int(path, v, UINT32_MAX);

function array(path: string, v: unknown): readonly unknown[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw fail(path, 'must be a list');
  return v as readonly unknown[];
}

const strings = (path: string, v: unknown): string[] =>
  array(path, v).map((s, i) => str(`${path}[${i}]`, s));

function stringMap(path: string, v: unknown): Record<string, string> {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw fail(path, 'must be a map');
  return Object.fromEntries(Object.entries(v).map(([k, s]) => [k, str(`${path}.${k}`, s)]));
}

/** The CRD's JoinType: inner, outer, any; absent or anything else is INNER (AsSchedulerPipeline). */
function join<E>(path: string, v: unknown, ops: { INNER: E; OUTER: E; ANY: E }): E {
  const s = optionalStr(path, v);
  return s === 'outer' ? ops.OUTER : s === 'any' ? ops.ANY : ops.INNER;
}

const OBJECT_META = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
];

interface Meta {
  name: string;
  kubernetesMeta: KubernetesMeta;
}

function meta(v: unknown): Meta {
  const m = object('metadata', v, OBJECT_META);
  const generation = m['generation'];
  return {
    name: str('metadata.name', m['name']),
    kubernetesMeta: {
      namespace: str('metadata.namespace', m['namespace']),
      generation:
        generation === null || generation === undefined
          ? 0
          : int('metadata.generation', generation, Number.MAX_SAFE_INTEGER),
    },
  };
}

function batch(path: string, v: unknown): Batch {
  const b = object(path, v, ['size', 'windowMs', 'rolling']);
  const out: Batch = {};
  const size = optionalUint32(`${path}.size`, b['size']);
  const windowMs = optionalUint32(`${path}.windowMs`, b['windowMs']);
  if (size !== undefined) out.size = size;
  if (windowMs !== undefined) out.windowMs = windowMs;
  return out;
}

const STEP_FIELDS = [
  'name',
  'inputs',
  'joinWindowMs',
  'tensorMap',
  'triggers',
  'inputsJoinType',
  'triggersJoinType',
  'batch',
];

function step(path: string, v: unknown): PipelineStep {
  const s = object(path, v, STEP_FIELDS);
  const out: PipelineStep = {
    name: str(`${path}.name`, s['name']),
    inputs: strings(`${path}.inputs`, s['inputs']),
    tensorMap: stringMap(`${path}.tensorMap`, s['tensorMap']),
    inputsJoin: join(`${path}.inputsJoinType`, s['inputsJoinType'], PipelineStep_JoinOp),
    triggers: strings(`${path}.triggers`, s['triggers']),
    triggersJoin: join(`${path}.triggersJoinType`, s['triggersJoinType'], PipelineStep_JoinOp),
  };
  const joinWindowMs = optionalUint32(`${path}.joinWindowMs`, s['joinWindowMs']);
  if (joinWindowMs !== undefined) out.joinWindowMs = joinWindowMs;
  if (s['batch'] !== null && s['batch'] !== undefined)
    out.batch = batch(`${path}.batch`, s['batch']);
  return out;
}

const INPUT_FIELDS = [
  'externalInputs',
  'externalTriggers',
  'joinWindowMs',
  'joinType',
  'triggersJoinType',
  'tensorMap',
];

function input(path: string, v: unknown): PipelineInput {
  const i = object(path, v, INPUT_FIELDS);
  const out: PipelineInput = {
    externalInputs: strings(`${path}.externalInputs`, i['externalInputs']),
    externalTriggers: strings(`${path}.externalTriggers`, i['externalTriggers']),
    joinType: join(`${path}.joinType`, i['joinType'], PipelineInput_JoinOp),
    triggersJoin: join(`${path}.triggersJoinType`, i['triggersJoinType'], PipelineInput_JoinOp),
    tensorMap: stringMap(`${path}.tensorMap`, i['tensorMap']),
  };
  const joinWindowMs = optionalUint32(`${path}.joinWindowMs`, i['joinWindowMs']);
  if (joinWindowMs !== undefined) out.joinWindowMs = joinWindowMs;
  return out;
}

function output(path: string, v: unknown): PipelineOutput {
  const o = object(path, v, ['steps', 'joinWindowMs', 'stepsJoin', 'tensorMap']);
  return {
    steps: strings(`${path}.steps`, o['steps']),
    joinWindowMs: uint32(`${path}.joinWindowMs`, o['joinWindowMs']),
    stepsJoin: join(`${path}.stepsJoin`, o['stepsJoin'], PipelineOutput_JoinOp),
    tensorMap: stringMap(`${path}.tensorMap`, o['tensorMap']),
  };
}

const present = (v: unknown): boolean => v !== null && v !== undefined;

/** A Pipeline CR's spec as the `Pipeline` message (AsSchedulerPipeline: uid "", version 0). */
function pipeline(m: Meta, v: unknown): Pipeline {
  const spec = object('spec', v, ['input', 'steps', 'output']);
  const out: Pipeline = {
    name: m.name,
    uid: '',
    version: 0,
    steps: array('spec.steps', spec['steps']).map((s, i) => step(`spec.steps[${i}]`, s)),
    kubernetesMeta: m.kubernetesMeta,
  };
  if (present(spec['input'])) out.input = input('spec.input', spec['input']);
  if (present(spec['output'])) out.output = output('spec.output', spec['output']);
  return out;
}

function candidate(path: string, v: unknown): ExperimentCandidate {
  const c = object(path, v, ['name', 'weight']);
  return { name: str(`${path}.name`, c['name']), weight: uint32(`${path}.weight`, c['weight']) };
}

function mirror(path: string, v: unknown): ExperimentMirror {
  const c = object(path, v, ['name', 'percent']);
  return { name: str(`${path}.name`, c['name']), percent: uint32(`${path}.percent`, c['percent']) };
}

/** An Experiment CR's spec as the `Experiment` message (AsSchedulerExperimentRequest; no config). */
function experiment(m: Meta, v: unknown): Experiment {
  const spec = object('spec', v, ['default', 'candidates', 'mirror', 'resourceType']);
  const out: Experiment = {
    name: m.name,
    candidates: array('spec.candidates', spec['candidates']).map((c, i) =>
      candidate(`spec.candidates[${i}]`, c),
    ),
    kubernetesMeta: m.kubernetesMeta,
    resourceType:
      optionalStr('spec.resourceType', spec['resourceType']) === 'pipeline'
        ? ResourceType.PIPELINE
        : ResourceType.MODEL,
  };
  const dflt = optionalStr('spec.default', spec['default']);
  if (dflt !== undefined) out.default = dflt;
  if (present(spec['mirror'])) out.mirror = mirror('spec.mirror', spec['mirror']);
  return out;
}

/**
 * One decoded YAML document as a scheduler request.
 * @throws Error for another kind or apiVersion, an unknown field, or a value of the wrong type.
 */
export function manifestFromJson(doc: unknown): Manifest {
  const top = object('', doc, ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  const kind = str('kind', top['kind']);
  const apiVersion = str('apiVersion', top['apiVersion']);
  if (kind !== 'Pipeline' && kind !== 'Experiment') {
    throw new Error(`Unknown Seldon Kind ${kind} - only Pipeline and Experiment handled here`);
  }
  if (apiVersion !== API_VERSION) throw fail('apiVersion', `must be ${API_VERSION}`);
  const m = meta(top['metadata']);
  return kind === 'Pipeline'
    ? { kind, pipeline: pipeline(m, top['spec']) }
    : { kind, experiment: experiment(m, top['spec']) };
}

/**
 * Every document of a (multi-document) YAML text, in order.
 * @throws Error for a YAML syntax error or any document {@link manifestFromJson} refuses.
 */
export function manifestsFromYaml(text: string): Manifest[] {
  return parseAllDocuments(text).map((doc) => {
    const [error] = doc.errors;
    if (error) throw error;
    return manifestFromJson(doc.toJS());
  });
}

/** The single Pipeline of a manifest text. @throws Error when it is anything else. */
export function pipelineManifest(text: string): Pipeline {
  const [m, ...rest] = manifestsFromYaml(text);
  if (m?.kind !== 'Pipeline' || rest.length > 0) throw new Error('expected one Pipeline document');
  return m.pipeline;
}

/** The single Experiment of a manifest text. @throws Error when it is anything else. */
export function experimentManifest(text: string): Experiment {
  const [m, ...rest] = manifestsFromYaml(text);
  if (m?.kind !== 'Experiment' || rest.length > 0) {
    throw new Error('expected one Experiment document');
  }
  return m.experiment;
}
