/**
 * The client's manifest parser (src/cli/manifests.ts): every Seldon sample, then one rule of
 * each kind's conversion per test, then the error format.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  API_VERSION,
  ManifestError,
  parseManifests,
  readManifests,
  readManifestsOf,
} from '../../../src/cli/manifests.js';
import {
  PipelineInput_JoinOp,
  PipelineOutput_JoinOp,
  PipelineStep_JoinOp,
  ResourceType,
} from '../../../src/gen/mlops/scheduler/scheduler.js';
import {
  UINT32_MAX,
  FILE,
  doc,
  model,
  server,
  pipeline,
  experiment,
  refuses,
  modelRefused,
} from '../../support/manifest-docs.js';
import { SAMPLES_DIR } from '../../support/manifests.js';
import { read, sampleName, yamlFiles } from '../../support/samples.js';

// ── samples ──────────────────────────────────────────────────────────────────────────────────

/**
 * The sample files the parser refuses (the CLI's strict decode), by field. Every other file
 * parses, including the other `error-*` samples: those are valid manifests the scheduler refuses
 * or fails later (empty uri accepted, unknown requirement → ScheduleFailed, missing artifacts →
 * load failure, empty input/trigger and step named like the pipeline → FailedPrecondition).
 */
const REFUSED: Readonly<Record<string, { field: string; message: string }>> = {
  'models/error-bad-spec.yaml': {
    field: 'spec.storagUri',
    message: 'models/error-bad-spec.yaml: document 1 (Model iris): spec.storagUri: unknown field',
  },
  'pipelines/error-bad-spec.yaml': {
    field: 'spec.steps[1].input',
    message:
      'pipelines/error-bad-spec.yaml: document 1 (Pipeline tfsimple-conditional): spec.steps[1].input: unknown field',
  },
  'experiments/error-bad-spec.yaml': {
    field: 'spec.candidate',
    message:
      'experiments/error-bad-spec.yaml: document 1 (Experiment experiment-sample): spec.candidate: unknown field',
  },
};

const FOLDERS = [
  ['models', 'Model'],
  ['servers', 'Server'],
  ['pipelines', 'Pipeline'],
  ['experiments', 'Experiment'],
] as const;

describe('manifests: every Seldon sample', () => {
  it('has every file the expectations name, and each folder has samples', () => {
    for (const name of Object.keys(REFUSED)) {
      const [kind = '', file = ''] = name.split('/');
      assert.ok(yamlFiles(kind).includes(file), name);
    }
    for (const [folder] of FOLDERS) assert.ok(yamlFiles(folder).length > 0, folder);
  });

  for (const [folder, kind] of FOLDERS) {
    for (const file of yamlFiles(folder)) {
      const name = sampleName(folder, file);
      const refused = REFUSED[name];
      it(`${name} ${refused ? `is refused on ${refused.field}` : `is one ${kind}`}`, () => {
        const text = read(folder, file);
        if (refused) {
          refuses(() => parseManifests(text, name), refused.field, refused.message);
          return;
        }
        const [m, ...rest] = parseManifests(text, name);
        assert.equal(rest.length, 0);
        assert.equal(m?.kind, kind);
        assert.match(text, new RegExp(`^  name: ${m.name.replace(/\./g, '\\.')}\\s*$`, 'm'));
      });
    }
  }

  it('readManifests reads a file', () => {
    const [m] = readManifests(join(SAMPLES_DIR, 'models', 'sklearn1.yaml'));
    assert.equal(m?.kind, 'Model');
    assert.equal(m.name, 'iris');
  });

  it('readManifestsOf reads `-` from stdin to its end, naming it stdin in errors', async () => {
    const file = join(SAMPLES_DIR, 'models', 'sklearn1.yaml');
    assert.deepEqual(await readManifestsOf(file, []), readManifests(file));
    // A two-byte character split across two chunks, and a second document in a later chunk.
    const text = Buffer.from(
      `${doc('Model', 'storageUri: gs://bücket/m')}---\n${doc('Model', 'storageUri: gs://b/n', '  name: y\n')}`,
    );
    const at = text.indexOf('ü') + 1;
    const all = await readManifestsOf('-', [text.subarray(0, at), text.subarray(at)]);
    assert.deepEqual(
      all.map((m) => (m.kind === 'Model' ? m.request.model?.modelSpec?.uri : m.kind)),
      ['gs://bücket/m', 'gs://b/n'],
    );
    await assert.rejects(readManifestsOf('-', [doc('Model', 'storagUri: gs://x')]), {
      message: 'stdin: document 1 (Model x): spec.storagUri: unknown field',
    });
  });

  it('samples: memory 100Ki and 3Gi, artifactVersion, server, secretName, explainer refs', () => {
    const spec = (file: string) => {
      const [m] = parseManifests(read('models', file), file);
      assert.equal(m?.kind, 'Model');
      return m.request.model!.modelSpec!;
    };
    assert.equal(spec('tfsimple1.yaml').memoryBytes, 102400n);
    assert.equal(spec('hf-text-gen-custom-gpt2.yaml').memoryBytes, 3221225472n);
    assert.equal(spec('multi-version-2.yaml').artifactVersion, 2);
    assert.equal(spec('iris-custom-server.yaml').server, 'mlserver-134');
    assert.deepEqual(spec('sklearn-iris-minio.yaml').storageConfig, {
      config: { $case: 'storageSecretName', value: 'minio-secret' },
    });
    assert.deepEqual(spec('income-explainer.yaml').modelSpec, {
      $case: 'explainer',
      value: { type: 'anchor_tabular', modelRef: 'income' },
    });
    assert.deepEqual(spec('income-explainer-pipeline.yaml').modelSpec, {
      $case: 'explainer',
      value: { type: 'anchor_tabular', pipelineRef: 'income-prod' },
    });
    assert.deepEqual(spec('choice1.yaml').parameters, [{ name: 'query', value: 'choice == 1' }]);
    assert.equal(spec('error-no-uri.yaml').uri, '');
  });

  it('samples: tfsimple_scaling.yaml (minReplicas 1, replicas 1)', () => {
    const [m] = parseManifests(read('models', 'tfsimple_scaling.yaml'), 'tfsimple_scaling.yaml');
    assert.equal(m?.kind, 'Model');
    assert.deepEqual(m.request.model?.deploymentSpec, {
      replicas: 1,
      minReplicas: 1,
      maxReplicas: UINT32_MAX,
      logPayloads: false,
    });
  });

  it('samples: triton-gpu.yaml (podSpec, serverConfig) is a ServerNotify with defaults', () => {
    const [m] = parseManifests(read('servers', 'triton-gpu.yaml'), 'triton-gpu.yaml');
    assert.equal(m?.kind, 'Server');
    assert.deepEqual(m.notify, {
      name: 'triton-gpu',
      expectedReplicas: 1,
      minReplicas: 0,
      maxReplicas: UINT32_MAX,
      shared: false,
      kubernetesMeta: { namespace: '', generation: 0n },
    });
  });
});

// ── Model ────────────────────────────────────────────────────────────────────────────────────────

describe('manifests: Model → LoadModelRequest', () => {
  it('maps every field the proto carries', () => {
    const request = model(
      [
        'storageUri: gs://models/iris',
        'artifactVersion: 3',
        'modelType: sklearn',
        'requirements: [mlserver, python]',
        'memory: 2Mi',
        'server: mlserver-134',
        'secretName: minio-secret',
        'parameters:',
        '- name: query',
        '  value: choice == 1',
        'explainer:',
        '  type: anchor_tabular',
        '  modelRef: income',
        'logger:',
        '  percent: 10',
        'replicas: 2',
        'minReplicas: 1',
        'maxReplicas: 3',
      ].join('\n'),
      '  name: iris\n  namespace: seldon\n  generation: 7\n',
    );
    assert.deepEqual(request, {
      model: {
        meta: { name: 'iris', kubernetesMeta: { namespace: 'seldon', generation: 7n } },
        modelSpec: {
          uri: 'gs://models/iris',
          requirements: ['mlserver', 'python', 'sklearn'],
          parameters: [{ name: 'query', value: 'choice == 1' }],
          artifactVersion: 3,
          storageConfig: { config: { $case: 'storageSecretName', value: 'minio-secret' } },
          server: 'mlserver-134',
          modelSpec: { $case: 'explainer', value: { type: 'anchor_tabular', modelRef: 'income' } },
          memoryBytes: 2097152n,
        },
        deploymentSpec: { replicas: 2, minReplicas: 1, maxReplicas: 3, logPayloads: true },
      },
    });
  });

  it('defaults: namespace "", generation 0, replicas 1/0/4294967295, no memory, no logging', () => {
    assert.deepEqual(model('storageUri: gs://m'), {
      model: {
        meta: { name: 'x', kubernetesMeta: { namespace: '', generation: 0n } },
        modelSpec: { uri: 'gs://m', requirements: [], parameters: [] },
        deploymentSpec: {
          replicas: 1,
          minReplicas: 0,
          maxReplicas: UINT32_MAX,
          logPayloads: false,
        },
      },
    });
  });

  it('appends modelType to the requirements (alone when there are none)', () => {
    assert.deepEqual(
      model('storageUri: gs://m\nrequirements: [a]\nmodelType: t').model?.modelSpec?.requirements,
      ['a', 't'],
    );
    assert.deepEqual(model('storageUri: gs://m\nmodelType: t').model?.modelSpec?.requirements, [
      't',
    ]);
  });

  it('explainer and llm are the modelSpec oneof; both together are refused', () => {
    assert.deepEqual(
      model('storageUri: gs://m\nexplainer:\n  type: anchor_text\n  pipelineRef: p').model
        ?.modelSpec?.modelSpec,
      { $case: 'explainer', value: { type: 'anchor_text', pipelineRef: 'p' } },
    );
    assert.deepEqual(model('storageUri: gs://m\nexplainer: {}').model?.modelSpec?.modelSpec, {
      $case: 'explainer',
      value: { type: '' },
    });
    assert.deepEqual(
      model('storageUri: gs://m\nllm:\n  modelRef: gpt').model?.modelSpec?.modelSpec,
      { $case: 'llm', value: { modelRef: 'gpt' } },
    );
    assert.equal(
      model('storageUri: gs://m\nexplainer: null').model?.modelSpec?.modelSpec,
      undefined,
    );
    modelRefused(
      'storageUri: gs://m\nexplainer:\n  modelRef: a\nllm:\n  modelRef: b',
      'spec.llm',
      "Can't have both explainer and llm in model spec.",
    );
  });

  it('logger, with or without percent, turns on logPayloads; null does not', () => {
    const logs = (logger: string) =>
      model(`storageUri: gs://m\nlogger: ${logger}`).model?.deploymentSpec?.logPayloads;
    assert.equal(logs('{}'), true);
    assert.equal(logs('{percent: 50}'), true);
    assert.equal(logs('null'), false);
    modelRefused(
      'storageUri: gs://m\nlogger: {percent: all}',
      'spec.logger.percent',
      'must be a whole number, not "all"',
    );
  });

  it('secretName → storageConfig.storageSecretName; parameters in order', () => {
    const spec = model(
      'storageUri: s3://m\nsecretName: s\nparameters:\n- {name: a, value: "1"}\n- {name: b, value: two}',
    ).model?.modelSpec;
    assert.deepEqual(spec?.storageConfig, { config: { $case: 'storageSecretName', value: 's' } });
    assert.deepEqual(spec.parameters, [
      { name: 'a', value: '1' },
      { name: 'b', value: 'two' },
    ]);
    modelRefused(
      'storageUri: s3://m\nparameters:\n- {name: a, value: 1}',
      'spec.parameters[0].value',
      'must be a string, not 1',
    );
  });

  it('accepts and ignores what the proto cannot carry: schemaUri, preloaded, dedicated, dataflow', () => {
    const plain = model('storageUri: gs://m');
    const extra = model(
      'storageUri: gs://m\nschemaUri: gs://s\npreloaded: true\ndedicated: false\ndataflow:\n  cleanTopicsOnDelete: true',
    );
    assert.deepEqual(extra, plain);
    modelRefused(
      'storageUri: gs://m\npreloaded: "yes"',
      'spec.preloaded',
      'must be true or false, not "yes"',
    );
    modelRefused(
      'storageUri: gs://m\ndataflow:\n  cleanTopics: true',
      'spec.dataflow.cleanTopics',
      'unknown field',
    );
  });

  it('requires the storageUri key ("" is accepted)', () => {
    modelRefused('requirements: [sklearn]', 'spec.storageUri', 'required');
    assert.equal(model('storageUri: ""').model?.modelSpec?.uri, '');
  });

  it('takes metadata.namespace and metadata.generation when present', () => {
    assert.deepEqual(
      model('storageUri: gs://m', '  name: x\n  namespace: ns\n').model?.meta?.kubernetesMeta,
      { namespace: 'ns', generation: 0n },
    );
    assert.deepEqual(
      model('storageUri: gs://m', '  name: x\n  generation: 4\n  labels: {a: b}\n').model?.meta
        ?.kubernetesMeta,
      { namespace: '', generation: 4n },
    );
  });
});

// ── Server ───────────────────────────────────────────────────────────────────────────────────────

describe('manifests: Server → ServerNotify', () => {
  it('ignores what shapes the StatefulSet: serverConfig, capabilities, imageOverrides, podSpec', () => {
    const notify = server(
      [
        'serverConfig: triton',
        'capabilities: [a]',
        'extraCapabilities: [b]',
        'imageOverrides:',
        '  agent: {image: agent:1}',
        '  rclone: {image: rclone:1}',
        'podSpec:',
        '  containers:',
        '  - name: triton',
        '    resources: {limits: {nvidia.com/gpu: 1}}',
        'disableAutoUpdate: true',
      ].join('\n'),
    );
    assert.deepEqual(notify, {
      name: 'x',
      expectedReplicas: 1,
      minReplicas: 0,
      maxReplicas: UINT32_MAX,
      shared: false,
      kubernetesMeta: { namespace: '', generation: 0n },
    });
  });

  it('still checks their types and names', () => {
    const refused = (spec: string, field: string, reason: string) => {
      refuses(() => server(spec), field, `${FILE}: document 1 (Server x): ${field}: ${reason}`);
    };
    refused('serverConfig: mlserver\ncapability: [a]', 'spec.capability', 'unknown field');
    refused('capabilities: a', 'spec.capabilities', 'must be a list, not "a"');
    refused('imageOverrides:\n  init: {}', 'spec.imageOverrides.init', 'unknown field');
    refused('podSpec: [a]', 'spec.podSpec', 'must be an object, not a list');
    refused('serverConfig: 3', 'spec.serverConfig', 'must be a string, not 3');
  });
});

// ── Pipeline ─────────────────────────────────────────────────────────────────────────────────────

describe('manifests: Pipeline → LoadPipelineRequest', () => {
  it('maps steps, input and output verbatim with join types; uid "" and version 0', () => {
    const p = pipeline(
      [
        'input:',
        '  externalInputs: [other.outputs]',
        '  externalTriggers: [t.outputs]',
        '  joinWindowMs: 5',
        '  joinType: any',
        '  triggersJoinType: outer',
        '  tensorMap: {other.outputs.OUT: IN}',
        'steps:',
        '- name: a',
        '  inputs: [x.inputs]',
        '  triggers: [t]',
        '  tensorMap: {x.inputs.A: B}',
        '  joinWindowMs: 100',
        '  inputsJoinType: outer',
        '  triggersJoinType: any',
        '  batch: {size: 3, windowMs: 20, rolling: true}',
        '- name: b',
        'output:',
        '  steps: [a, b]',
        '  joinWindowMs: 7',
        '  stepsJoin: any',
        '  tensorMap: {a.outputs.O: P}',
      ].join('\n'),
    );
    assert.deepEqual(p, {
      name: 'x',
      uid: '',
      version: 0,
      kubernetesMeta: { namespace: '', generation: 0n },
      input: {
        externalInputs: ['other.outputs'],
        externalTriggers: ['t.outputs'],
        joinWindowMs: 5,
        joinType: PipelineInput_JoinOp.ANY,
        triggersJoin: PipelineInput_JoinOp.OUTER,
        tensorMap: { 'other.outputs.OUT': 'IN' },
      },
      steps: [
        {
          name: 'a',
          inputs: ['x.inputs'],
          triggers: ['t'],
          tensorMap: { 'x.inputs.A': 'B' },
          joinWindowMs: 100,
          inputsJoin: PipelineStep_JoinOp.OUTER,
          triggersJoin: PipelineStep_JoinOp.ANY,
          batch: { size: 3, windowMs: 20 },
        },
        {
          name: 'b',
          inputs: [],
          triggers: [],
          tensorMap: {},
          inputsJoin: PipelineStep_JoinOp.INNER,
          triggersJoin: PipelineStep_JoinOp.INNER,
        },
      ],
      output: {
        steps: ['a', 'b'],
        joinWindowMs: 7,
        stepsJoin: PipelineOutput_JoinOp.ANY,
        tensorMap: { 'a.outputs.O': 'P' },
      },
    });
  });

  it('an unknown join type string means inner', () => {
    const [s] = pipeline('steps:\n- name: a\n  inputsJoinType: sideways').steps;
    assert.equal(s?.inputsJoin, PipelineStep_JoinOp.INNER);
  });

  it('accepts and ignores allowCycles, maxStepRevisits and dataflow (the seed proto has none)', () => {
    const plain = pipeline('steps:\n- name: a');
    const extra = pipeline(
      'steps:\n- name: a\nallowCycles: true\nmaxStepRevisits: 5\ndataflow:\n  cleanTopicsOnDelete: true',
    );
    assert.deepEqual(extra, plain);
    refuses(
      () => pipeline('steps:\n- name: a\nallowCycles: "yes"'),
      'spec.allowCycles',
      `${FILE}: document 1 (Pipeline x): spec.allowCycles: must be true or false, not "yes"`,
    );
  });

  it('names tensor map entries with dots in brackets', () => {
    refuses(
      () => pipeline('steps:\n- name: a\n  tensorMap: {a.outputs.X: 1}'),
      'spec.steps[0].tensorMap["a.outputs.X"]',
      `${FILE}: document 1 (Pipeline x): spec.steps[0].tensorMap["a.outputs.X"]: must be a string, not 1`,
    );
  });

  it('refuses numbers outside uint32', () => {
    refuses(
      () => pipeline('steps:\n- name: a\n  joinWindowMs: -1'),
      'spec.steps[0].joinWindowMs',
      `${FILE}: document 1 (Pipeline x): spec.steps[0].joinWindowMs: must be a whole number between 0 and 4294967295, not -1`,
    );
  });
});

// ── Experiment ───────────────────────────────────────────────────────────────────────────────────

describe('manifests: Experiment → StartExperimentRequest', () => {
  it('maps default, candidates and mirror; no config', () => {
    assert.deepEqual(
      experiment(
        'default: iris\ncandidates:\n- {name: iris, weight: 50}\n- {name: iris2, weight: 50}\nmirror: {name: iris3, percent: 10}',
      ),
      {
        name: 'x',
        default: 'iris',
        candidates: [
          { name: 'iris', weight: 50 },
          { name: 'iris2', weight: 50 },
        ],
        mirror: { name: 'iris3', percent: 10 },
        kubernetesMeta: { namespace: '', generation: 0n },
        resourceType: ResourceType.MODEL,
      },
    );
  });

  it('resourceType pipeline is PIPELINE; anything else or nothing is MODEL', () => {
    const type = (spec: string) =>
      experiment(`candidates: [{name: a, weight: 1}]\n${spec}`).resourceType;
    assert.equal(type('resourceType: pipeline'), ResourceType.PIPELINE);
    assert.equal(type('resourceType: model'), ResourceType.MODEL);
    assert.equal(type('resourceType: other'), ResourceType.MODEL);
    assert.equal(type(''), ResourceType.MODEL);
  });
});

// ── documents and errors ─────────────────────────────────────────────────────────────────────

describe('manifests: documents', () => {
  const MODEL = doc('Model', 'storageUri: gs://m', '  name: m\n');
  const PIPE = doc('Pipeline', 'steps:\n- name: m', '  name: p\n');
  const EXP = doc('Experiment', 'candidates: [{name: m, weight: 1}]', '  name: e\n');
  const SERVER = doc('Server', 'serverConfig: mlserver', '  name: s\n');

  it('reads several documents in order, skipping empty ones', () => {
    const text = `---\n${MODEL}---\n# nothing here\n---\n${PIPE}---\n${EXP}\n---\n${SERVER}---\n`;
    const all = parseManifests(text, FILE);
    assert.deepEqual(
      all.map((m) => `${m.kind} ${m.name}`),
      ['Model m', 'Pipeline p', 'Experiment e', 'Server s'],
    );
  });

  it('accepts what `kubectl get -o yaml` adds: status and server-set metadata', () => {
    const [m] = parseManifests(
      doc(
        'Model',
        'storageUri: gs://m\nstatus: {replicas: 1, conditions: [{type: ModelReady}]}',
        '  name: m\n  uid: 0b1d\n  resourceVersion: "42"\n  creationTimestamp: null\n  generation: 2\n  annotations: {a: b}\n  finalizers: [seldon.io/finalizer]\n  managedFields: [{manager: kubectl}]\n',
      ).replace('\n  status:', '\nstatus:'),
      FILE,
    );
    assert.equal(m?.kind, 'Model');
    assert.deepEqual(m.request.model?.meta, {
      name: 'm',
      kubernetesMeta: { namespace: '', generation: 2n },
    });
  });

  it('JSON is YAML too', () => {
    const [m] = parseManifests(
      JSON.stringify({
        apiVersion: API_VERSION,
        kind: 'Model',
        metadata: { name: 'j' },
        spec: { storageUri: 'gs://m', memory: '1Ki' },
      }),
      'm.json',
    );
    assert.equal(m?.kind, 'Model');
    assert.equal(m.request.model?.modelSpec?.memoryBytes, 1024n);
  });

  it('an empty text has no manifests', () => {
    assert.deepEqual(parseManifests('', FILE), []);
    assert.deepEqual(parseManifests('# comment only\n---\n', FILE), []);
  });

  it('numbers documents from 1 as they appear in the file (empty ones count)', () => {
    refuses(
      () =>
        parseManifests(
          `${MODEL}---\n---\n${doc('Model', 'storageUri: gs://m\nreplicas: two', '  name: bad\n')}`,
          FILE,
        ),
      'spec.replicas',
      `${FILE}: document 3 (Model bad): spec.replicas: must be a whole number, not "two"`,
    );
  });

  it('refuses another apiVersion, or none', () => {
    refuses(
      () => parseManifests(MODEL.replace(API_VERSION, 'mlops.seldon.io/v1'), FILE),
      'apiVersion',
      `${FILE}: document 1 (Model m): apiVersion: must be mlops.seldon.io/v1alpha1, not "mlops.seldon.io/v1"`,
    );
    refuses(
      () => parseManifests(MODEL.replace(`apiVersion: ${API_VERSION}\n`, ''), FILE),
      'apiVersion',
      `${FILE}: document 1 (Model m): apiVersion: required (mlops.seldon.io/v1alpha1)`,
    );
  });

  it('refuses other kinds, or none', () => {
    refuses(
      () => parseManifests(doc('SeldonDeployment', ''), FILE),
      'kind',
      `${FILE}: document 1: kind: Unknown Seldon Kind SeldonDeployment - only Model, Server, Pipeline and Experiment allowed`,
    );
    refuses(
      () => parseManifests(`apiVersion: ${API_VERSION}\nmetadata: {name: m}\n`, FILE),
      'kind',
      `${FILE}: document 1: kind: required (one of Model, Server, Pipeline, Experiment)`,
    );
  });

  it('refuses unknown fields at the top, in metadata and deep in spec', () => {
    refuses(
      () => parseManifests(`${MODEL}extra: 1\n`, FILE),
      'extra',
      `${FILE}: document 1 (Model m): extra: unknown field`,
    );
    refuses(
      () => parseManifests(doc('Model', 'storageUri: gs://m', '  name: m\n  namespce: ns\n'), FILE),
      'metadata.namespce',
      `${FILE}: document 1 (Model m): metadata.namespce: unknown field`,
    );
    refuses(
      () =>
        parseManifests(
          doc('Model', 'storageUri: gs://m\nexplainer:\n  modelref: a', '  name: m\n'),
          FILE,
        ),
      'spec.explainer.modelref',
      `${FILE}: document 1 (Model m): spec.explainer.modelref: unknown field`,
    );
    refuses(
      () =>
        parseManifests(
          doc('Experiment', 'mirror: {name: a, percent: 1, weight: 2}', '  name: e\n'),
          FILE,
        ),
      'spec.mirror.weight',
      `${FILE}: document 1 (Experiment e): spec.mirror.weight: unknown field`,
    );
  });

  it('refuses values of the wrong type', () => {
    refuses(
      () =>
        parseManifests(
          doc('Model', 'storageUri: gs://m\nrequirements: sklearn', '  name: m\n'),
          FILE,
        ),
      'spec.requirements',
      `${FILE}: document 1 (Model m): spec.requirements: must be a list, not "sklearn"`,
    );
    refuses(
      () => parseManifests(doc('Model', 'storageUri: [gs://m]', '  name: m\n'), FILE),
      'spec.storageUri',
      `${FILE}: document 1 (Model m): spec.storageUri: must be a string, not a list`,
    );
    refuses(
      () => parseManifests(doc('Pipeline', 'steps: {name: a}', '  name: p\n'), FILE),
      'spec.steps',
      `${FILE}: document 1 (Pipeline p): spec.steps: must be a list, not an object`,
    );
    refuses(
      () =>
        parseManifests(doc('Model', 'storageUri: gs://m', '  name: m\n  generation: "3"\n'), FILE),
      'metadata.generation',
      `${FILE}: document 1 (Model m): metadata.generation: must be a whole number, not "3"`,
    );
    refuses(
      () =>
        parseManifests(
          `apiVersion: ${API_VERSION}\nkind: Model\nmetadata: {name: m}\nspec: gs://m\n`,
          FILE,
        ),
      'spec',
      `${FILE}: document 1 (Model m): spec: must be an object, not "gs://m"`,
    );
  });

  it('requires metadata.name, and says (Kind) alone without it', () => {
    refuses(
      () => parseManifests(doc('Pipeline', 'steps: [{name: a}]', '  namespace: ns\n'), FILE),
      'metadata.name',
      `${FILE}: document 1 (Pipeline): metadata.name: required`,
    );
  });
});

describe('manifests: the error message', () => {
  it('is one line: file, document, (Kind name), field, reason; the parts are properties', () => {
    assert.throws(
      () =>
        parseManifests(
          doc('Model', 'storageUri: gs://m\nmemory: 100m', '  name: iris\n'),
          'models/bad.yaml',
        ),
      (e: unknown) => {
        assert.ok(e instanceof ManifestError);
        assert.equal(e.name, 'ManifestError');
        assert.equal(
          e.message,
          "models/bad.yaml: document 1 (Model iris): spec.memory: Can't convert model memory quantity to bytes. 100m",
        );
        assert.equal(e.file, 'models/bad.yaml');
        assert.equal(e.document, 1);
        assert.equal(e.resource, 'Model iris');
        assert.equal(e.field, 'spec.memory');
        assert.equal(e.reason, "Can't convert model memory quantity to bytes. 100m");
        return true;
      },
    );
  });

  it('YAML syntax errors are one line with the YAML position', () => {
    refuses(
      () =>
        parseManifests(`${doc('Model', 'storageUri: gs://m', '  name: m\n')}---\nspec: [1\n`, FILE),
      undefined,
      `${FILE}: document 2: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 9, column 1`,
    );
    assert.throws(() => parseManifests('a: 1\na: 2\n', FILE), {
      name: 'ManifestError',
      message: /^m\.yaml: document 1: invalid YAML: Map keys must be unique at line 2, column 1$/,
    });
  });

  it('a document that is not an object says so', () => {
    refuses(
      () => parseManifests('- a\n- b\n', FILE),
      '',
      `${FILE}: document 1: must be an object (a Seldon resource), not a list`,
    );
  });

  it('long strings are shortened and newlines never split the line', () => {
    const long = 'x'.repeat(100);
    assert.throws(
      () =>
        parseManifests(
          doc('Model', `storageUri: gs://m\nreplicas: "${long}\\nmore"`, '  name: m\n'),
          FILE,
        ),
      (e: unknown) => {
        assert.ok(e instanceof ManifestError);
        assert.equal(
          e.message,
          `${FILE}: document 1 (Model m): spec.replicas: must be a whole number, not "${'x'.repeat(57)}..."`,
        );
        return true;
      },
    );
    assert.throws(
      () => parseManifests(doc('Model', 'storageUri: gs://m\n"a\\nb": 1', '  name: m\n'), FILE),
      (e: unknown) => {
        assert.ok(e instanceof ManifestError);
        assert.equal(e.message, `${FILE}: document 1 (Model m): spec["a\\nb"]: unknown field`);
        return true;
      },
    );
  });

  it('readManifests names a file it cannot read', () => {
    refuses(
      () => readManifests('/nonexistent/mlsched/models.yaml'),
      undefined,
      '/nonexistent/mlsched/models.yaml: cannot read: no such file',
    );
  });
});
