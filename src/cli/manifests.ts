/**
 * Seldon manifests (YAML or JSON, apiVersion mlops.seldon.io/v1alpha1, kinds Model, Server, Pipeline
 * and Experiment) as the scheduler requests Seldon's operator and `seldon` CLI send for them: the
 * input of `mlsched model|pipeline|experiment|server|plan`.
 *
 * Decoding is strict, like the CLI's decode into the CRD Go types: a field the CRD does not have
 * is an error, and so is a value of the wrong type. Fields the CRD has but the seed's proto cannot
 * carry are checked and then ignored: Model `schemaUri`, `preloaded`, `dedicated`, `dataflow`;
 * Server `serverConfig`, `capabilities`, `extraCapabilities`, `imageOverrides`, `podSpec`,
 * `disableAutoUpdate`; Pipeline `allowCycles`, `maxStepRevisits`, `dataflow`; any `status`. Nested
 * Kubernetes types (`podSpec`, the containers of `imageOverrides`, `status`, `ownerReferences`,
 * `managedFields`) must be objects or lists but their contents are not checked. As in Go's JSON
 * decoding, `null` is the same as an absent field (a YAML list item `-` with nothing after it is
 * the string ""). The YAML is read as YAML 1.2 (`yes` is a string, not a boolean). Each object's keys
 * are checked before its members are decoded, so with several unknown fields the outermost is named.
 *
 * Every failure is a {@link ManifestError} whose message is one line naming the file, the document
 * and the field, with Seldon's own text where it has one.
 */
import { readFileSync } from 'node:fs';
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
  type ExplainerSpec,
  type KubernetesMeta,
  type LlmSpec,
  type LoadModelRequest,
  type LoadPipelineRequest,
  type ModelSpec,
  type ParameterSpec,
  type Pipeline,
  type PipelineInput,
  type PipelineOutput,
  type PipelineStep,
  type ServerNotify,
  type StartExperimentRequest,
} from '../gen/mlops/scheduler/scheduler.js';
import {
  absent,
  bool,
  FieldError,
  int,
  INT32_MAX,
  INT32_MIN,
  isObject,
  list,
  type Obj,
  object,
  opaqueList,
  opaqueObject,
  optionalInt,
  optionalStr,
  optionalUint32,
  str,
  stringMap,
  strings,
  uint32,
  UINT32_MAX,
  wrongType,
} from './decode.js';
import { memoryBytes, parseQuantity } from './quantity.js';

/** The only apiVersion the parser accepts. */
export const API_VERSION = 'mlops.seldon.io/v1alpha1';

/** The kinds the parser accepts, in the order error messages list them. */
export const MANIFEST_KINDS = ['Model', 'Server', 'Pipeline', 'Experiment'] as const;
export type ManifestKind = (typeof MANIFEST_KINDS)[number];

/**
 * One document of a manifest file as the scheduler request it stands for: LoadModel, a
 * ServerNotify entry (what the operator sends for a Server), LoadPipeline or StartExperiment.
 * `name` is `metadata.name`.
 */
export type Manifest =
  | { kind: 'Model'; name: string; request: LoadModelRequest }
  | { kind: 'Server'; name: string; notify: ServerNotify }
  | { kind: 'Pipeline'; name: string; request: LoadPipelineRequest }
  | { kind: 'Experiment'; name: string; request: StartExperimentRequest };

/** Where in a manifest file a {@link ManifestError} is. */
export interface ManifestLocation {
  file: string;
  /** 1-based position of the document in the file (empty documents count). */
  document?: number | undefined;
  /** `Kind name` (or just `Kind`) of the document, when known. */
  resource?: string | undefined;
  /** Path of the field, e.g. `spec.steps[1].inputs`. */
  field?: string | undefined;
}

/**
 * A manifest the parser refuses: unreadable file, invalid YAML, a document that is not a Seldon
 * resource, an unknown field, a value of the wrong type, or a value Seldon's conversion refuses.
 * The message is one line: `<file>: document <n> (<Kind> <name>): <field>: <reason>`.
 */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  readonly file: string;
  readonly document: number | undefined;
  readonly resource: string | undefined;
  readonly field: string | undefined;
  /** The reason alone, without the location. */
  readonly reason: string;

  constructor(where: ManifestLocation, reason: string, options?: ErrorOptions) {
    const doc =
      where.document === undefined
        ? ''
        : ` document ${where.document}${where.resource === undefined ? '' : ` (${where.resource})`}:`;
    const field = where.field === undefined || where.field === '' ? '' : ` ${where.field}:`;
    super(`${where.file}:${doc}${field} ${reason}`.replace(/\s*[\r\n]+\s*/g, ' '), options);
    this.file = where.file;
    this.document = where.document;
    this.resource = where.resource;
    this.field = where.field;
    this.reason = reason;
  }
}

// ── metadata ─────────────────────────────────────────────────────────────────────────────────

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
const OBJECT_META_STRINGS = [
  'generateName',
  'selfLink',
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'deletionTimestamp',
];

interface Meta {
  name: string;
  kubernetesMeta: KubernetesMeta;
}

/** metadata → name and KubernetesMeta {namespace ("" if absent), generation (0 if absent)}. */
function meta(v: unknown): Meta {
  const m = object('metadata', v, OBJECT_META);
  const name = str('metadata.name', m['name']);
  if (name === '') throw new FieldError('metadata.name', 'required');
  for (const k of OBJECT_META_STRINGS) str(`metadata.${k}`, m[k]);
  optionalInt(
    'metadata.deletionGracePeriodSeconds',
    m['deletionGracePeriodSeconds'],
    Number.MIN_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER,
  );
  stringMap('metadata.labels', m['labels']);
  stringMap('metadata.annotations', m['annotations']);
  strings('metadata.finalizers', m['finalizers']);
  opaqueList('metadata.ownerReferences', m['ownerReferences']);
  opaqueList('metadata.managedFields', m['managedFields']);
  const generation = m['generation'];
  return {
    name,
    kubernetesMeta: {
      namespace: str('metadata.namespace', m['namespace']),
      generation: BigInt(
        absent(generation) ? 0 : int('metadata.generation', generation, 0, Number.MAX_SAFE_INTEGER),
      ),
    },
  };
}

// ── scaling (Model and Server) ───────────────────────────────────────────────────────────────

const SCALING_FIELDS = ['replicas', 'minReplicas', 'maxReplicas'];

interface Scaling {
  replicas: number;
  minReplicas: number;
  maxReplicas: number;
}

/**
 * spec.replicas/minReplicas/maxReplicas (int32) after Seldon's validation: defaults 1, 0 and
 * 4294967295; replicas ≥ 0 as given; replicas unset and minReplicas > 0 → replicas = minReplicas.
 */
// Seldon parity: operator/apis/mlops/v1alpha1/utils.go GetValidatedScalingSpec
function scaling(spec: Obj): Scaling {
  const replicas = optionalInt('spec.replicas', spec['replicas'], INT32_MIN, INT32_MAX);
  const min = optionalInt('spec.minReplicas', spec['minReplicas'], INT32_MIN, INT32_MAX);
  const max = optionalInt('spec.maxReplicas', spec['maxReplicas'], INT32_MIN, INT32_MAX);
  const out: Scaling = { replicas: 1, minReplicas: 0, maxReplicas: UINT32_MAX };
  const invalid = (field: string, text: string) =>
    new FieldError(field, `scaling spec is invalid: ${text}`);
  if (replicas !== undefined && replicas >= 0) {
    out.replicas = replicas;
  } else if (min !== undefined && min > 0) {
    if (replicas !== undefined && replicas < min) {
      throw invalid(
        'spec.replicas',
        `number of replicas ${replicas} cannot be less than minimum replica ${min}`,
      );
    }
    out.replicas = min;
  }
  if (min !== undefined && min > 0) {
    out.minReplicas = min;
    if (out.replicas < min) {
      throw invalid(
        'spec.replicas',
        `number of replicas ${out.replicas} must be >= min replicas ${min}`,
      );
    }
  }
  if (max !== undefined && max > 0) {
    out.maxReplicas = max;
    if (out.minReplicas > max) {
      throw invalid(
        'spec.minReplicas',
        `min number of replicas ${out.minReplicas} must be <= max number of replicas ${max}`,
      );
    }
    if (out.replicas > max) {
      throw invalid(
        'spec.replicas',
        `number of replicas ${out.replicas} must be <= max replicas ${max}`,
      );
    }
  }
  return out;
}

// ── Model ────────────────────────────────────────────────────────────────────────────────────

const MODEL_SPEC = [
  'modelType',
  'storageUri',
  'artifactVersion',
  'schemaUri',
  'secretName',
  'requirements',
  'memory',
  ...SCALING_FIELDS,
  'server',
  'preloaded',
  'dedicated',
  'logger',
  'explainer',
  'parameters',
  'llm',
  'dataflow',
];

function explainer(path: string, v: unknown): ExplainerSpec {
  const e = object(path, v, ['type', 'modelRef', 'pipelineRef']);
  const out: ExplainerSpec = { type: str(`${path}.type`, e['type']) };
  const modelRef = optionalStr(`${path}.modelRef`, e['modelRef']);
  const pipelineRef = optionalStr(`${path}.pipelineRef`, e['pipelineRef']);
  if (modelRef !== undefined) out.modelRef = modelRef;
  if (pipelineRef !== undefined) out.pipelineRef = pipelineRef;
  return out;
}

function llm(path: string, v: unknown): LlmSpec {
  const e = object(path, v, ['modelRef', 'pipelineRef']);
  const out: LlmSpec = {};
  const modelRef = optionalStr(`${path}.modelRef`, e['modelRef']);
  const pipelineRef = optionalStr(`${path}.pipelineRef`, e['pipelineRef']);
  if (modelRef !== undefined) out.modelRef = modelRef;
  if (pipelineRef !== undefined) out.pipelineRef = pipelineRef;
  return out;
}

function parameter(path: string, v: unknown): ParameterSpec {
  const p = object(path, v, ['name', 'value']);
  return { name: str(`${path}.name`, p['name']), value: str(`${path}.value`, p['value']) };
}

/** A Model CR as LoadModelRequest (AsSchedulerModel). */
// Seldon parity: operator/apis/mlops/v1alpha1/model_types.go AsSchedulerModel
function model(m: Meta, v: unknown): LoadModelRequest {
  const spec = object('spec', v, MODEL_SPEC);
  if (!('storageUri' in spec)) throw new FieldError('spec.storageUri', 'required');
  const uri = str('spec.storageUri', spec['storageUri']);
  const modelType = optionalStr('spec.modelType', spec['modelType']);
  const artifactVersion = optionalUint32('spec.artifactVersion', spec['artifactVersion']);
  optionalStr('spec.schemaUri', spec['schemaUri']);
  const secretName = optionalStr('spec.secretName', spec['secretName']);
  const requirements = strings('spec.requirements', spec['requirements']);
  const memory = absent(spec['memory']) ? undefined : parseQuantity('spec.memory', spec['memory']);
  const server = optionalStr('spec.server', spec['server']);
  bool('spec.preloaded', spec['preloaded']);
  bool('spec.dedicated', spec['dedicated']);
  const logger = object('spec.logger', spec['logger'], ['percent']);
  optionalInt('spec.logger.percent', logger['percent'], 0, Number.MAX_SAFE_INTEGER);
  const explainerSpec = absent(spec['explainer'])
    ? undefined
    : explainer('spec.explainer', spec['explainer']);
  const parameters = list('spec.parameters', spec['parameters']).map((p, i) =>
    parameter(`spec.parameters[${i}]`, p),
  );
  const llmSpec = absent(spec['llm']) ? undefined : llm('spec.llm', spec['llm']);
  const dataflow = object('spec.dataflow', spec['dataflow'], ['cleanTopicsOnDelete']);
  bool('spec.dataflow.cleanTopicsOnDelete', dataflow['cleanTopicsOnDelete']);

  if (explainerSpec && llmSpec) {
    throw new FieldError('spec.llm', "Can't have both explainer and llm in model spec.");
  }
  const modelSpec: ModelSpec = {
    uri,
    requirements: modelType === undefined ? requirements : [...requirements, modelType],
    parameters,
  };
  if (artifactVersion !== undefined) modelSpec.artifactVersion = artifactVersion;
  if (secretName !== undefined) {
    modelSpec.storageConfig = { config: { $case: 'storageSecretName', value: secretName } };
  }
  if (server !== undefined) modelSpec.server = server;
  if (explainerSpec) modelSpec.modelSpec = { $case: 'explainer', value: explainerSpec };
  if (llmSpec) modelSpec.modelSpec = { $case: 'llm', value: llmSpec };
  const scale = scaling(spec);
  if (memory !== undefined) {
    modelSpec.memoryBytes = BigInt(memoryBytes('spec.memory', memory, spec['memory']));
  }
  return {
    model: {
      meta: { name: m.name, kubernetesMeta: m.kubernetesMeta },
      modelSpec,
      deploymentSpec: { ...scale, logPayloads: !absent(spec['logger']) },
    },
  };
}

// ── Server ───────────────────────────────────────────────────────────────────────────────────

const SERVER_SPEC = [
  'serverConfig',
  'extraCapabilities',
  'capabilities',
  'imageOverrides',
  'podSpec',
  ...SCALING_FIELDS,
  'disableAutoUpdate',
];

/** A Server CR as the ServerNotify the operator sends for it (shared is never set). */
// Seldon parity: operator/scheduler/server.go ServerNotify
function server(m: Meta, v: unknown): ServerNotify {
  const spec = object('spec', v, SERVER_SPEC);
  str('spec.serverConfig', spec['serverConfig']);
  strings('spec.extraCapabilities', spec['extraCapabilities']);
  strings('spec.capabilities', spec['capabilities']);
  const overrides = object('spec.imageOverrides', spec['imageOverrides'], ['agent', 'rclone']);
  opaqueObject('spec.imageOverrides.agent', overrides['agent']);
  opaqueObject('spec.imageOverrides.rclone', overrides['rclone']);
  opaqueObject('spec.podSpec', spec['podSpec']);
  bool('spec.disableAutoUpdate', spec['disableAutoUpdate']);
  const scale = scaling(spec);
  return {
    name: m.name,
    expectedReplicas: scale.replicas,
    minReplicas: scale.minReplicas,
    maxReplicas: scale.maxReplicas,
    shared: false,
    kubernetesMeta: m.kubernetesMeta,
  };
}

// ── Pipeline ─────────────────────────────────────────────────────────────────────────────────

/** The CRD's JoinType: inner, outer, any; absent or anything else is INNER (AsSchedulerPipeline). */
function join<E>(path: string, v: unknown, ops: { INNER: E; OUTER: E; ANY: E }): E {
  const s = optionalStr(path, v);
  return s === 'outer' ? ops.OUTER : s === 'any' ? ops.ANY : ops.INNER;
}

function batch(path: string, v: unknown): Batch {
  const b = object(path, v, ['size', 'windowMs', 'rolling']);
  const out: Batch = {};
  const size = optionalUint32(`${path}.size`, b['size']);
  const windowMs = optionalUint32(`${path}.windowMs`, b['windowMs']);
  bool(`${path}.rolling`, b['rolling']);
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
  if (!absent(s['batch'])) out.batch = batch(`${path}.batch`, s['batch']);
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

const PIPELINE_SPEC = ['input', 'steps', 'output', 'dataflow', 'allowCycles', 'maxStepRevisits'];

/** A Pipeline CR as LoadPipelineRequest (AsSchedulerPipeline: uid "", version 0). */
// Seldon parity: operator/apis/mlops/v1alpha1/pipeline_types.go AsSchedulerPipeline
function pipeline(m: Meta, v: unknown): LoadPipelineRequest {
  const spec = object('spec', v, PIPELINE_SPEC);
  const out: Pipeline = {
    name: m.name,
    uid: '',
    version: 0,
    steps: list('spec.steps', spec['steps']).map((s, i) => step(`spec.steps[${i}]`, s)),
    kubernetesMeta: m.kubernetesMeta,
  };
  if (!absent(spec['input'])) out.input = input('spec.input', spec['input']);
  if (!absent(spec['output'])) out.output = output('spec.output', spec['output']);
  const dataflow = object('spec.dataflow', spec['dataflow'], ['cleanTopicsOnDelete']);
  bool('spec.dataflow.cleanTopicsOnDelete', dataflow['cleanTopicsOnDelete']);
  bool('spec.allowCycles', spec['allowCycles']);
  optionalUint32('spec.maxStepRevisits', spec['maxStepRevisits']);
  return { pipeline: out };
}

// ── Experiment ───────────────────────────────────────────────────────────────────────────────

function candidate(path: string, v: unknown): ExperimentCandidate {
  const c = object(path, v, ['name', 'weight']);
  return { name: str(`${path}.name`, c['name']), weight: uint32(`${path}.weight`, c['weight']) };
}

function mirror(path: string, v: unknown): ExperimentMirror {
  const c = object(path, v, ['name', 'percent']);
  return { name: str(`${path}.name`, c['name']), percent: uint32(`${path}.percent`, c['percent']) };
}

/** An Experiment CR as StartExperimentRequest (AsSchedulerExperimentRequest; no config). */
// Seldon parity: operator/apis/mlops/v1alpha1/experiment_types.go AsSchedulerExperimentRequest
function experiment(m: Meta, v: unknown): StartExperimentRequest {
  const spec = object('spec', v, ['default', 'candidates', 'mirror', 'resourceType']);
  const out: Experiment = {
    name: m.name,
    candidates: list('spec.candidates', spec['candidates']).map((c, i) =>
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
  if (!absent(spec['mirror'])) out.mirror = mirror('spec.mirror', spec['mirror']);
  return { experiment: out };
}

// ── documents and files ──────────────────────────────────────────────────────────────────────

const isKind = (v: unknown): v is ManifestKind =>
  typeof v === 'string' && (MANIFEST_KINDS as readonly string[]).includes(v);

/** `Kind name` (or `Kind`) of a document, as far as it can be told before decoding it. */
function resourceOf(doc: unknown): string | undefined {
  if (!isObject(doc) || !isKind(doc['kind'])) return undefined;
  const md = doc['metadata'];
  const name = isObject(md) ? md['name'] : undefined;
  return typeof name === 'string' && name !== '' ? `${doc['kind']} ${name}` : doc['kind'];
}

/** One decoded YAML document as a scheduler request. @throws FieldError */
function manifest(doc: unknown): Manifest {
  if (!isObject(doc)) throw wrongType('', 'an object (a Seldon resource)', doc);
  const top = object('', doc, ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  const kind = top['kind'];
  if (absent(kind)) {
    throw new FieldError('kind', `required (one of ${MANIFEST_KINDS.join(', ')})`);
  }
  if (!isKind(kind)) {
    throw new FieldError(
      'kind',
      `Unknown Seldon Kind ${str('kind', kind)} - only Model, Server, Pipeline and Experiment allowed`,
    );
  }
  if (absent(top['apiVersion'])) throw new FieldError('apiVersion', `required (${API_VERSION})`);
  if (top['apiVersion'] !== API_VERSION)
    throw wrongType('apiVersion', API_VERSION, top['apiVersion']);
  opaqueObject('status', top['status']);
  const m = meta(top['metadata']);
  const spec = top['spec'];
  switch (kind) {
    case 'Model':
      return { kind, name: m.name, request: model(m, spec) };
    case 'Server':
      return { kind, name: m.name, notify: server(m, spec) };
    case 'Pipeline':
      return { kind, name: m.name, request: pipeline(m, spec) };
    case 'Experiment':
      return { kind, name: m.name, request: experiment(m, spec) };
  }
}

/** The first line of a YAML error, without the source excerpt `prettyErrors` appends. */
const firstLine = (message: string): string =>
  (message.split('\n', 1)[0] ?? message).replace(/:\s*$/, '');

/**
 * Every non-empty document of a manifest text (YAML, so JSON too; `---` between documents), in
 * order. `file` only names the text in errors.
 * @throws ManifestError for invalid YAML or the first document that is not a valid Model, Server,
 *   Pipeline or Experiment of apiVersion mlops.seldon.io/v1alpha1.
 */
export function parseManifests(text: string, file: string): Manifest[] {
  const out: Manifest[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    const where = { file, document: i + 1 };
    const [error] = doc.errors;
    if (error) throw new ManifestError(where, `invalid YAML: ${firstLine(error.message)}`);
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      throw new ManifestError(where, `invalid YAML: ${firstLine(message)}`, { cause: e });
    }
    if (absent(value)) return;
    const resource = resourceOf(value);
    try {
      out.push(manifest(value));
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      throw new ManifestError({ ...where, resource, field: e.field }, e.reason);
    }
  });
  return out;
}

const READ_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
};

/** The `-f` value that stands for stdin, as in kubectl. */
const STDIN = '-';

/** The manifest source `-f FILE` names in errors: `stdin` for `-`. */
export const sourceName = (file: string): string => (file === STDIN ? 'stdin' : file);

/**
 * The manifests of `-f FILE`: the file's, or `input`'s (stdin) to its end for `-`.
 * @throws ManifestError when it cannot be read or {@link parseManifests} refuses it.
 */
export async function readManifestsOf(
  file: string,
  input: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array> = process.stdin,
): Promise<Manifest[]> {
  if (file !== STDIN) return readManifests(file);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of input) chunks.push(Buffer.from(chunk));
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new ManifestError({ file: sourceName(file) }, `cannot read: ${reason}`, { cause: e });
  }
  // Decoded whole, so that a character split across two chunks is read right.
  return parseManifests(Buffer.concat(chunks).toString('utf8'), sourceName(file));
}

/**
 * The manifests of a file (see {@link parseManifests}).
 * @throws ManifestError when the file cannot be read or {@link parseManifests} refuses it.
 */
export function readManifests(file: string): Manifest[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason =
      (code === undefined ? undefined : READ_ERRORS[code]) ??
      (e instanceof Error ? e.message : String(e));
    throw new ManifestError({ file }, `cannot read: ${reason}`, { cause: e });
  }
  return parseManifests(text, file);
}
