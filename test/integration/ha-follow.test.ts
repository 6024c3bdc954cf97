/**
 * Following the leader (issue 9, part 3): three `mlsched serve --ha` processes on one Redis, a
 * simulated agent and a simulated dataflow engine (`mlsched dataflow`) given all three addresses,
 * and the client commands given all three. The leader is SIGKILLed; the agent and the engine move
 * to the new leader (a model and a pipeline loaded there after the kill become Available / Ready,
 * and what the agent held is Available without a reload), the client commands work before and
 * after, and `-w` survives a kill in the middle. Times from SIGKILL are reported as diagnostics.
 */
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { credentials, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { PlacementClient } from '../../src/gen/mlsched/placement/v1/placement.js';
import {
  LoadPipelineRequest,
  ModelStatus_ModelState as MS,
  PipelineVersionState_PipelineStatus as PS,
  SchedulerClient,
} from '../../src/gen/mlops/scheduler/scheduler.js';
import { startSimulatedAgent, type SimulatedAgent } from '../../src/sim/agent.js';
import { call, collect, model, waitFor } from '../support/harness.js';
import {
  alive,
  healthOf,
  killAll,
  mlsched,
  modelState,
  runMlsched,
  serveHa,
  type Ports,
  type Run,
} from '../support/processes.js';
import { deletePrefix, testRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

const BIN = fileURLToPath(new URL('../../bin/mlsched.js', import.meta.url));
const LEASE_MS = 600;
/** A little over the simulators' stable-stream time (src/sim/reconnect.ts). */
const STABLE_MS = 1100;

interface Instance {
  server: ChildProcess;
  ports: Ports;
  /** Its scheduler address. */
  address: string;
}

/** A line logged by the agent or the engine, with when it was seen. */
interface Logged {
  at: number;
  msg: string;
  scheduler?: string;
  retryInMs?: number;
}

let redis: TestRedis;
const prefix = uniquePrefix('ha-follow');
/** The three instances: a killed one is restarted on the same ports, in the same slot. */
const instances: Instance[] = [];
let agent: SimulatedAgent;
const agentLog: Logged[] = [];
const engineLog: Logged[] = [];
let dir: string;

async function start(ports?: Omit<Ports, 'event'>): Promise<Instance> {
  const { server, ports: bound } = await serveHa({
    store: redis.url,
    prefix,
    leaseMs: LEASE_MS,
    ports,
  });
  return { server, ports: bound, address: `127.0.0.1:${bound.scheduler}` };
}

/** `--scheduler-host` of all three, for the client commands. */
const allSchedulers = () => instances.map((i) => i.address).join(',');
const agentAddress = (i: Instance) => `127.0.0.1:${i.ports.agent}`;
const dataflowAddress = (i: Instance) => `127.0.0.1:${i.ports.dataflow}`;

async function leads(i: Instance): Promise<boolean> {
  try {
    return (await healthOf(i.ports.http)).code === 200;
  } catch {
    return false;
  }
}

/** The one instance that leads (never two), within `timeoutMs`. */
async function oneLeader(timeoutMs = 5000): Promise<Instance> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const live = instances.filter((i) => alive(i.server));
    const flags = await Promise.all(live.map(leads));
    const now = live.filter((_, k) => flags[k]);
    assert.ok(now.length <= 1, `${now.length} leaders at once`);
    const [leader] = now;
    if (leader) return leader;
    if (Date.now() > deadline) throw new Error(`no leader within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/**
 * Waits until the agent's and the engine's streams have been up over a second (then they count as
 * stable and their back-off starts afresh), as between two real failures.
 */
async function steady(): Promise<void> {
  const connects = [...agentLog, ...engineLog].filter((l) =>
    l.msg.endsWith('connected to scheduler'),
  );
  const last = Math.max(0, ...connects.map((l) => l.at));
  await sleep(Math.max(0, last + STABLE_MS - performance.now()));
}

/** SIGKILLs the leader; resolves with it once it has exited, and the time of the kill. */
async function killLeader(): Promise<{ killed: Instance; slot: number; t0: number }> {
  await steady();
  const killed = await oneLeader();
  const slot = instances.indexOf(killed);
  const t0 = performance.now();
  killed.server.kill('SIGKILL');
  await once(killed.server, 'exit');
  return { killed, slot, t0 };
}

/** Runs `mlsched ARGS` (with `--scheduler-host` of all three unless the args name one). */
function cli(...args: string[]): Promise<Run> {
  const withHost = args.includes('--scheduler-host')
    ? args
    : [...args, '--scheduler-host', allSchedulers()];
  return runMlsched(withHost);
}

function withClient<T>(i: Instance, f: (c: SchedulerClient) => Promise<T>): Promise<T> {
  const c = new SchedulerClient(i.address, credentials.createInsecure());
  return f(c).finally(() => {
    c.close();
  });
}

async function modelStateOn(c: SchedulerClient, name: string): Promise<MS | undefined> {
  const [res] = await collect(
    c.modelStatus({ subscriberName: 't', model: { name }, allVersions: false }),
  );
  return res?.versions.at(-1)?.state?.state;
}

async function pipelineStateOn(c: SchedulerClient, name: string): Promise<PS | undefined> {
  const [res] = await collect(c.pipelineStatus({ subscriberName: 't', name, allVersions: false }));
  return res?.versions.at(-1)?.state?.status;
}

const MODELS = ['m-0', 'm-1', 'm-2', 'm-3'];

before(async () => {
  redis = await testRedis();
  for (let k = 0; k < 3; k++) instances.push(await start());
  dir = mkdtempSync(join(tmpdir(), 'mlsched-ha-follow-'));
  writeFileSync(
    join(dir, 'models.yaml'),
    MODELS.map(
      (name) =>
        `apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: ${name}\nspec:\n  storageUri: gs://models/${name}\n  requirements: [sklearn]\n  memory: 100Ki\n`,
    ).join('---\n'),
  );
  writeFileSync(
    join(dir, 'pipeline.yaml'),
    'apiVersion: mlops.seldon.io/v1alpha1\nkind: Pipeline\nmetadata:\n  name: chain\nspec:\n  steps:\n    - name: m-0\n  output:\n    steps: [m-0]\n',
  );
  const record =
    (into: Logged[]) =>
    (obj: object, msg = '') => {
      into.push({ at: performance.now(), msg, ...(obj as Partial<Logged>) });
    };
  agent = await startSimulatedAgent({
    schedulerHost: instances.map(agentAddress).join(','),
    agentPort: 1, // every entry names its port
    server: 'sim',
    replicaIdxs: [0, 1],
    memoryBytes: 2 ** 30,
    capabilities: ['sklearn'],
    overCommitPercentage: 10,
    loadMs: 0,
    logger: { info: record(agentLog), warn: record(agentLog), error: record(agentLog) },
  });
  // The engine runs as `mlsched dataflow`; its log lines (JSON on stderr) are read as they come.
  const engine = mlsched(
    'dataflow',
    '--scheduler-host',
    instances.map(dataflowAddress).join(','),
    '--name',
    'df-0',
  );
  let partial = '';
  engine.stderr?.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const l = JSON.parse(line) as { msg?: string; scheduler?: string };
        engineLog.push({
          at: performance.now(),
          msg: l.msg ?? '',
          ...(l.scheduler ? { scheduler: l.scheduler } : {}),
        });
      } catch {
        // not a log line
      }
    }
  });
});

after(async () => {
  await agent.stop();
  killAll();
  await deletePrefix(redis.url, prefix);
  await redis.release();
});

describe('agents, dataflow engines and the client follow the leader', () => {
  it('the client commands find the leader whatever the order of the list, skipping dead ones', async () => {
    const leader = await oneLeader();
    const standbys = instances.filter((i) => i !== leader);
    const load = await cli('model', 'load', '-f', join(dir, 'models.yaml'));
    assert.equal(load.code, 0, load.stderr);
    assert.deepEqual(
      load.lines.map((l) => l['name']),
      MODELS,
    );
    const lists = [
      allSchedulers(),
      [...standbys, leader].map((i) => i.address).join(','),
      // Only standbys: they name the leader, which is asked straight away.
      standbys.map((i) => i.address).join(','),
      // Nothing listens on port 1.
      ['127.0.0.1:1', ...standbys.map((i) => i.address)].join(','),
    ];
    for (const list of lists) {
      const run = await cli('model', 'list', '--scheduler-host', list);
      assert.equal(run.code, 0, `${list}: ${run.stderr}`);
      assert.deepEqual(run.lines.map((l) => l['modelName']).sort(), MODELS, list);
    }
    for (const name of MODELS) {
      const watch = await cli('model', 'status', name, '-w', 'ModelAvailable');
      assert.equal(watch.code, 0, watch.stderr);
    }
    // mlsched's Placement service follows the leader too: a standby refuses naming it, and the
    // client given only standbys goes there.
    const explained = await cli(
      ...['model', 'explain', MODELS[0] ?? '', '-o', 'json'],
      ...['--scheduler-host', standbys.map((i) => i.address).join(',')],
    );
    assert.equal(explained.code, 0, explained.stderr);
    assert.equal(explained.lines[0]?.['state'], 'ModelAvailable');
    const direct = new PlacementClient(standbys[0]?.address ?? '', credentials.createInsecure());
    try {
      await assert.rejects(
        call(direct.explainModel.bind(direct), { name: MODELS[0] ?? '' }),
        (e: ServiceError) => {
          assert.equal(e.code, grpcStatus.UNAVAILABLE);
          assert.match(e.details, new RegExp(`the leader is at ${leader.address}`));
          return true;
        },
      );
    } finally {
      direct.close();
    }
    const pipeline = await cli('pipeline', 'load', '-f', join(dir, 'pipeline.yaml'));
    assert.equal(pipeline.code, 0, pipeline.stderr);
    const ready = await cli('pipeline', 'status', 'chain', '-w', 'PipelineReady');
    assert.equal(ready.code, 0, ready.stderr);
    await waitFor('the agent connected', () =>
      agentLog.some((l) => l.msg.endsWith('connected to scheduler')),
    );
  });

  it('exit 4 when nothing answers at any address', async () => {
    const run = await cli('model', 'list', '--scheduler-host', '127.0.0.1:1,127.0.0.1:2');
    assert.equal(run.code, 4);
    assert.match(
      run.stderr,
      /^mlsched: cannot reach a scheduler at 127\.0\.0\.1:1, 127\.0\.0\.1:2 /,
    );
  });

  it('after each SIGKILL of the leader, the agent and the engine re-attach to the new one', async (t) => {
    const loadedBefore = MODELS.map((name) => ({ name, version: 1 }));
    const held = () =>
      [...agent.loaded(0), ...agent.loaded(1)].sort((a, b) => a.name.localeCompare(b.name));
    const agentMs: number[] = [];
    const engineMs: number[] = [];
    for (let round = 0; round < 3; round++) {
      const { killed, slot, t0 } = await killLeader();
      const leader = await oneLeader();
      const takeoverMs = performance.now() - t0;
      assert.notEqual(leader, killed);
      const probe = `probe-${round}`;
      const pipeline = `pipe-${round}`;
      await withClient(leader, async (c) => {
        // Placed only once the agent is back (restored replicas take no new model before),
        // and Ready only once the engine is back.
        await call(c.loadModel.bind(c), model(probe));
        await call(
          c.loadPipeline.bind(c),
          LoadPipelineRequest.fromPartial({
            pipeline: { name: pipeline, steps: [{ name: 'm-1' }], output: { steps: ['m-1'] } },
          }),
        );
        const [agentAt, engineAt] = await Promise.all([
          waitFor(
            `${probe} Available on the new leader`,
            async () => (await modelStateOn(c, probe)) === MS.ModelAvailable && performance.now(),
            10_000,
          ),
          waitFor(
            `${pipeline} Ready on the new leader`,
            async () =>
              (await pipelineStateOn(c, pipeline)) === PS.PipelineReady && performance.now(),
            10_000,
          ),
        ]);
        agentMs.push(agentAt - t0);
        engineMs.push(engineAt - t0);
        t.diagnostic(
          `round ${round}: new leader ${Math.round(takeoverMs)} ms, agent re-attached ${Math.round(agentAt - t0)} ms, engine ${Math.round(engineAt - t0)} ms after SIGKILL`,
        );
        // What the agent held is Available on the new leader, re-announced: never loaded again.
        for (const name of MODELS) assert.equal(await modelStateOn(c, name), MS.ModelAvailable);
        assert.equal(await pipelineStateOn(c, 'chain'), PS.PipelineReady);
      });
      const back = agentLog.find(
        (l) =>
          l.at > t0 && l.msg === 'reconnected to scheduler' && l.scheduler === agentAddress(leader),
      );
      assert.ok(back, 'the agent logs its reconnect to the new leader');
      // The standbys answered throughout the take-over: the agent looked again every 200 ms at
      // most, its back-off not doubling meanwhile.
      const waits = agentLog
        .filter((l) => l.at > t0 && l.at < back.at && l.retryInMs !== undefined)
        .map((l) => l.retryInMs ?? 0);
      assert.ok(Math.max(...waits) <= 200, `the agent waited ${waits.join(', ')} ms`);
      await waitFor('the engine logs its reconnect to the new leader', () =>
        engineLog.some(
          (l) =>
            l.at > t0 &&
            l.msg === 'reconnected to scheduler' &&
            l.scheduler === dataflowAddress(leader),
        ),
      );
      const loads = agentLog.filter((l) => l.at > t0 && l.msg === 'reported');
      assert.equal(loads.length, 1, `only ${probe} is loaded after the kill`);
      assert.deepEqual(
        held(),
        [
          ...loadedBefore,
          ...Array.from({ length: round + 1 }, (_, k) => ({ name: `probe-${k}`, version: 1 })),
        ].sort((a, b) => a.name.localeCompare(b.name)),
      );
      const list = await cli('model', 'list');
      assert.equal(list.code, 0, list.stderr);
      assert.equal(list.lines.length, MODELS.length + round + 1);
      // The killed instance comes back on its ports, as a standby.
      instances[slot] = await start(killed.ports);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    t.diagnostic(
      `agent re-attached after SIGKILL: median ${Math.round(median(agentMs))} ms, max ${Math.round(Math.max(...agentMs))} ms; engine: median ${Math.round(median(engineMs))} ms, max ${Math.round(Math.max(...engineMs))} ms`,
    );
    assert.ok(Math.max(...agentMs) < 5000, `agent re-attach took up to ${Math.max(...agentMs)} ms`);
  });

  it('model status -w with all three addresses survives a SIGKILL of the leader', async () => {
    const before = await oneLeader();
    const watch = execFile(process.execPath, [
      BIN,
      'model',
      'status',
      'late',
      '-w',
      'ModelAvailable',
      '-t',
      '30s',
      '--scheduler-host',
      allSchedulers(),
    ]);
    let stdout = '';
    let stderr = '';
    watch.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    watch.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(watch, 'exit') as Promise<[number | null]>;
    await waitFor(
      'the watch polling the leader',
      () => stderr.includes('late to be ModelAvailable: not found'),
      10_000,
    );
    const { killed } = await killLeader();
    assert.equal(killed, before);
    const leader = await oneLeader();
    await withClient(leader, (c) => call(c.loadModel.bind(c), model('late')));
    const [code] = await exited;
    assert.equal(code, 0, stderr);
    assert.match(
      stderr,
      new RegExp(`following the scheduler at ${leader.address.replace(/\./g, '\\.')} `),
    );
    assert.match(stderr, /model late is ModelAvailable after/);
    const last = stdout.trim().split('\n').at(-1);
    assert.equal(
      modelState(last ? (JSON.parse(last) as Record<string, unknown>) : undefined),
      'ModelAvailable',
    );
  });
});
