/**
 * The `mlsched` client commands as a user runs them (`node bin/mlsched.js ...` processes) against a
 * running scheduler with a simulated server and dataflow engine: the README tour with Seldon's own
 * sample manifests (load, watch, list, unload), JSON on stdout one object per line, progress on
 * stderr, and each failure's one-line message and exit code.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSimulatedAgent, type SimulatedAgent } from '../../src/sim/agent.js';
import { startSimulatedDataflow, type SimulatedDataflow } from '../../src/sim/dataflow.js';
import { startScheduler, type Harness } from '../support/harness.js';
import { SAMPLES_DIR } from '../support/manifests.js';
import { modelState, runMlsched, type Run } from '../support/processes.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

let h: Harness;
let agent: SimulatedAgent;
let engine: SimulatedDataflow;
let host: string;

/** Runs `mlsched ARGS --scheduler-host <the test scheduler>` (unless the args name one). */
function mlsched(...args: string[]): Promise<Run> {
  const withHost = args.includes('--scheduler-host') ? args : [...args, '--scheduler-host', host];
  return runMlsched(withHost, { cwd: SAMPLES_DIR });
}

before(async () => {
  h = await startScheduler();
  host = h.address;
  agent = await startSimulatedAgent({
    schedulerHost: '127.0.0.1',
    agentPort: h.app.ports.agent,
    server: 'mlserver',
    replicaIdxs: [0, 1],
    memoryBytes: 2 ** 30,
    capabilities: ['mlserver', 'sklearn', 'xgboost'],
    overCommitPercentage: 10,
    loadMs: 1500,
    logger: silent,
  });
  engine = startSimulatedDataflow({
    schedulerHost: '127.0.0.1',
    dataflowPort: h.app.ports.dataflow,
    name: 'dataflow-0',
    logger: silent,
  });
});

after(async () => {
  await h.stop();
  await Promise.all([agent.stop(), engine.stop()]);
});

describe('mlsched client: the README tour', () => {
  it('loads iris from its manifest and watches it become Available', async () => {
    const load = await mlsched('model', 'load', '-f', 'models/sklearn-iris-gs.yaml');
    assert.equal(load.code, 0, load.stderr);
    assert.deepEqual(load.lines, [{ kind: 'Model', name: 'iris', action: 'load', ok: true }]);
    const watch = await mlsched('model', 'status', 'iris', '-w', 'ModelAvailable');
    assert.equal(watch.code, 0, watch.stderr);
    assert.equal(modelState(watch.lines.at(-1)), 'ModelAvailable');
    assert.match(
      watch.stderr,
      /^waiting for model iris to be ModelAvailable: ModelProgressing after [\d.]+ s\n(.*\n)*model iris is ModelAvailable after [\d.]+ s\n$/,
    );
    const status = await mlsched('model', 'status', 'iris');
    assert.equal(status.lines.length, 1);
    const iris = status.lines[0] ?? {};
    assert.equal(iris['modelName'], 'iris');
    const version = (iris['versions'] as Record<string, unknown>[])[0];
    assert.deepEqual((version?.['modelDefn'] as { modelSpec: unknown }).modelSpec, {
      uri: 'gs://seldon-models/scv2/samples/mlserver_1.3.5/iris-sklearn',
      requirements: ['sklearn'],
      // 64-bit fields are strings in proto3's JSON mapping.
      memoryBytes: '102400',
      // Empty repeated fields are stated; unset optional fields (artifactVersion) are not.
      parameters: [],
    });
  });

  it('loads a pipeline and an experiment over the models, and lists everything', async () => {
    assert.equal((await mlsched('model', 'load', '-f', 'models/sklearn2.yaml')).code, 0);
    const pipeline = await mlsched('pipeline', 'load', '-f', 'pipelines/iris.yaml');
    assert.equal(pipeline.code, 0, pipeline.stderr);
    const ready = await mlsched('pipeline', 'status', 'iris-pipeline', '-w', 'Ready');
    assert.equal(ready.code, 0, ready.stderr);
    const experiment = await mlsched(
      'experiment',
      'start',
      '-f',
      'experiments/ab-default-model.yaml',
    );
    assert.equal(experiment.code, 0, experiment.stderr);
    const active = await mlsched('experiment', 'status', 'experiment-sample', '-w', 'active');
    assert.equal(active.code, 0, active.stderr);
    assert.equal(active.lines.at(-1)?.['active'], true);

    const models = await mlsched('model', 'list');
    assert.deepEqual(
      models.lines.map((m) => m['modelName']),
      ['iris', 'iris2'],
    );
    const servers = await mlsched('server', 'list');
    assert.equal(servers.lines[0]?.['serverName'], 'mlserver');
    assert.equal((await mlsched('pipeline', 'list')).lines.length, 1);
    assert.equal((await mlsched('experiment', 'list')).lines.length, 1);
  });

  it('stops and unloads them, and watches iris terminate', async () => {
    for (const args of [
      ['experiment', 'stop', 'experiment-sample'],
      ['pipeline', 'unload', 'iris-pipeline'],
      ['model', 'unload', 'iris', 'iris2'],
    ]) {
      const run = await mlsched(...args);
      assert.equal(run.code, 0, run.stderr);
    }
    const gone = await mlsched('model', 'status', 'iris', '-w', 'terminated', '--timeout', '10s');
    assert.equal(gone.code, 0, gone.stderr);
    assert.equal(modelState(gone.lines.at(-1)), 'ModelTerminated');
  });

  it('states false and zero fields instead of dropping them', async () => {
    const [experiment] = (await mlsched('experiment', 'status', 'experiment-sample')).lines;
    assert.equal(experiment?.['active'], false);
    const [iris] = (await mlsched('model', 'status', 'iris')).lines;
    const version = (iris?.['versions'] as { state: Record<string, unknown> }[])[0];
    assert.equal(version?.state['availableReplicas'], 0);
    assert.equal(iris?.['deleted'], true);
  });
});

describe('mlsched client: failures are one line with a documented exit code', () => {
  it('exit 1: the scheduler refuses (unknown model), with its code and text', async () => {
    const run = await mlsched('model', 'status', 'nope');
    assert.equal(run.code, 1);
    assert.equal(run.stderr, 'mlsched: FAILED_PRECONDITION: Failed to find model nope\n');
  });

  it('exit 2: a bad manifest names file, document and field; nothing is sent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlsched-cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: mlops.seldon.io/v1alpha1',
        'kind: Model',
        'metadata:',
        '  name: fine',
        'spec:',
        '  storageUri: gs://x',
        '---',
        'apiVersion: mlops.seldon.io/v1alpha1',
        'kind: Model',
        'metadata:',
        '  name: typo',
        'spec:',
        '  storagUri: gs://x',
      ].join('\n'),
    );
    const run = await mlsched('model', 'load', '-f', file);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^mlsched: .*bad\.yaml: document 2 \(Model typo\): spec\.storagUri: /);
    assert.equal(run.stderr.trim().split('\n').length, 1);
    assert.equal((await mlsched('model', 'status', 'fine')).code, 1, 'nothing was loaded');
  });

  it('exit 2: usage errors (unknown state to wait for, bad duration, missing -f)', async () => {
    const state = await mlsched('model', 'status', 'x', '-w', 'Bogus');
    assert.equal(state.code, 2);
    assert.match(state.stderr, /-w: 'Bogus' is not a model state; one of .*ModelAvailable/);
    assert.doesNotMatch(state.stderr, /UNRECOGNIZED/);
    assert.equal((await mlsched('model', 'status', 'x', '-w', 'Available', '-t', 'soon')).code, 2);
    assert.equal((await mlsched('model', 'load')).code, 2);
    // An invalid flag value is one line and a pointer to --help, not the whole help.
    const flag = await runMlsched(['serve', '--http-port', 'abc']);
    assert.equal(flag.code, 2);
    assert.deepEqual(flag.stderr.trim().split('\n'), [
      "error: option '--http-port <port>' argument 'abc' is invalid. --http-port: 'abc' is not a port number (0-65535) or off",
      "(add --help for the command's options)",
    ]);
  });

  it('exit 3: -w gives up after --timeout, saying what it saw', async () => {
    assert.equal((await mlsched('model', 'load', '-f', 'models/sklearn-iris-gs.yaml')).code, 0);
    const run = await mlsched('model', 'status', 'iris', '-w', 'ModelFailed', '--timeout', '1s');
    assert.equal(run.code, 3);
    assert.match(
      run.stderr,
      /mlsched: timed out after 1 s waiting for model iris to be ModelFailed \(it is Model\w+\)/,
    );
  });

  it('exit 4 at once: the connection to --scheduler-host is refused', async () => {
    const t0 = performance.now();
    const run = await mlsched('model', 'list', '--scheduler-host', '127.0.0.1:1');
    const ms = performance.now() - t0;
    assert.equal(run.code, 4);
    assert.equal(
      run.stderr,
      'mlsched: cannot reach the scheduler at 127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1); is `mlsched serve` running there? (if it serves TLS, give --tls-ca)\n',
    );
    // The process's own start-up included: nothing is waited for.
    assert.ok(ms < 2000, `took ${Math.round(ms)} ms`);
  });
});

describe('mlsched client: -f - reads the manifest from stdin', () => {
  const model = (name: string) =>
    `apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: ${name}\nspec:\n  storageUri: gs://models/${name}\n  requirements: [sklearn]\n`;

  it('loads and unloads the models of stdin, and declares its servers', async () => {
    const input = `${model('piped-a')}---\n${model('piped-b')}`;
    const load = await runMlsched(['model', 'load', '-f', '-', '--scheduler-host', host], {
      input,
    });
    assert.equal(load.code, 0, load.stderr);
    assert.deepEqual(
      load.lines.map((l) => l['name']),
      ['piped-a', 'piped-b'],
    );
    const watch = await mlsched('model', 'status', 'piped-b', '-w', 'Available');
    assert.equal(watch.code, 0, watch.stderr);
    const unload = await runMlsched(['model', 'unload', '-f', '-', '--scheduler-host', host], {
      input,
    });
    assert.equal(unload.code, 0, unload.stderr);
    assert.deepEqual(
      unload.lines.map((l) => [l['name'], l['action']]),
      [
        ['piped-a', 'unload'],
        ['piped-b', 'unload'],
      ],
    );
    const servers = await runMlsched(['server', 'load', '-f', '-', '--scheduler-host', host], {
      input: readFileSync(join(SAMPLES_DIR, 'servers', 'mlserver1.yaml'), 'utf8'),
    });
    assert.equal(servers.code, 0, servers.stderr);
    assert.equal(servers.lines[0]?.['action'], 'load');
  });

  it('exit 2: errors name the source stdin', async () => {
    const typo = await runMlsched(['model', 'load', '-f', '-', '--scheduler-host', host], {
      input: model('x').replace('storageUri', 'storagUri'),
    });
    assert.equal(typo.code, 2);
    assert.equal(
      typo.stderr,
      'mlsched: stdin: document 1 (Model x): spec.storagUri: unknown field\n',
    );
    const kind = await runMlsched(['pipeline', 'load', '-f', '-', '--scheduler-host', host], {
      input: model('x'),
    });
    assert.equal(kind.code, 2);
    assert.match(kind.stderr, /^mlsched: stdin: document 1 \(Model x\): not a Pipeline; /);
    const empty = await runMlsched(['model', 'load', '-f', '-', '--scheduler-host', host], {
      input: '',
    });
    assert.equal(empty.code, 2);
    assert.equal(empty.stderr, 'mlsched: stdin: no Model document\n');
  });
});
