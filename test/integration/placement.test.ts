/**
 * mlsched's Placement service (ExplainModel, Plan) over gRPC beside the seed's Scheduler, and the
 * commands that use it as a user runs them (`mlsched model explain`, `mlsched plan`), against a
 * scheduler with two simulated servers: `mlserver` (two replicas of 1 GiB, sklearn) and `triton`
 * (one replica of 2 GiB, onnx).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credentials, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ModelStatus_ModelState as MS } from '../../src/gen/mlops/scheduler/scheduler.js';
import {
  PlacementClient,
  PlannedModel_Outcome,
  ReplicaExplanation_Verdict,
  ServerExplanation_Verdict,
  type ModelExplanation,
  type PlanRequest,
  type PlanResponse,
} from '../../src/gen/mlsched/placement/v1/placement.js';
import { startSimulatedAgent, type SimulatedAgent } from '../../src/sim/agent.js';
import { call, model, startScheduler, status, waitFor, type Harness } from '../support/harness.js';
import { listedServices } from '../support/health.js';
import { runMlsched, type Run } from '../support/processes.js';

const MiB = 1024 * 1024;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

let h: Harness;
let placement: PlacementClient;
const agents: SimulatedAgent[] = [];
const dir = mkdtempSync(join(tmpdir(), 'mlsched-placement-'));

const explain = (name: string) =>
  call<{ name: string }, ModelExplanation>(placement.explainModel.bind(placement), { name });
const plan = (req: PlanRequest) =>
  call<PlanRequest, PlanResponse>(placement.plan.bind(placement), req);
const mlsched = (...args: string[]): Promise<Run> =>
  runMlsched([...args, '--scheduler-host', h.address], { cwd: dir });

before(async () => {
  h = await startScheduler();
  placement = new PlacementClient(h.address, credentials.createInsecure());
  const agent = (server: string, idxs: number[], memoryBytes: number, capabilities: string[]) =>
    startSimulatedAgent({
      schedulerHost: '127.0.0.1',
      agentPort: h.app.ports.agent,
      server,
      replicaIdxs: idxs,
      memoryBytes,
      capabilities,
      overCommitPercentage: 10,
      loadMs: 10,
      logger: silent,
    });
  agents.push(
    await agent('mlserver', [0, 1], 1024 * MiB, ['mlserver', 'sklearn']),
    await agent('triton', [0], 2048 * MiB, ['triton', 'onnx']),
  );
  await waitFor('both servers', () => h.app.system.listServers().length === 2);
  await call(h.client.loadModel.bind(h.client), model('iris', { memoryBytes: 100 * MiB }));
  // Two replicas of 1,200 MiB: more than a replica holds (1,024 MiB + 10%).
  await call(
    h.client.loadModel.bind(h.client),
    model('big', { memoryBytes: 1200 * MiB, replicas: 2 }),
  );
  await waitFor('iris Available', async () => {
    const s = await status(h, 'iris');
    return s.versions.at(-1)?.state?.state === MS.ModelAvailable;
  });
  writeFileSync(
    join(dir, 'plan.yaml'),
    [
      'apiVersion: mlops.seldon.io/v1alpha1',
      'kind: Model',
      'metadata: { name: income }',
      'spec: { storageUri: "gs://m/income", requirements: [sklearn], memory: 200Mi }',
      '---',
      'apiVersion: mlops.seldon.io/v1alpha1',
      'kind: Model',
      'metadata: { name: resnet }',
      'spec: { storageUri: "gs://m/resnet", requirements: [pytorch], memory: 300Mi }',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'pipeline.yaml'),
    [
      'apiVersion: mlops.seldon.io/v1alpha1',
      'kind: Pipeline',
      'metadata: { name: p }',
      'spec: { steps: [{ name: iris }], output: { steps: [iris] } }',
      '',
    ].join('\n'),
  );
});

after(async () => {
  placement.close();
  await Promise.all(agents.map((a) => a.stop()));
  await h.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the Placement service', () => {
  it('explains a ScheduleFailed model: every server, every replica, and what would place it', async () => {
    const e = await explain('big');
    assert.equal(e.state, MS.ScheduleFailed);
    assert.equal(e.wantedReplicas, 2);
    const p = e.placement;
    assert.ok(p);
    assert.equal(p.placed, false);
    assert.equal(p.failureReason, e.reason);
    const [mlserver, triton] = p.servers;
    assert.equal(mlserver?.name, 'mlserver');
    assert.equal(mlserver.verdict, ServerExplanation_Verdict.TOO_FEW_REPLICAS);
    assert.deepEqual(
      mlserver.replicas.map((r) => [r.idx, r.verdict, r.rejectedBy, r.neededBytes]),
      [
        [0, ReplicaExplanation_Verdict.REJECTED, 'memory', BigInt(1200 * MiB)],
        [1, ReplicaExplanation_Verdict.REJECTED, 'memory', BigInt(1200 * MiB)],
      ],
    );
    assert.equal(mlserver.replicas[0]?.memoryBytes, BigInt(1024 * MiB));
    assert.equal(mlserver.replicas[0].overCommitPercentage, 10);
    assert.equal(triton?.verdict, ServerExplanation_Verdict.REJECTED);
    assert.deepEqual(triton.missingCapabilities, ['sklearn']);
    assert.ok(p.suggestions.includes('server `triton` lacks `sklearn`'), p.suggestions.join('\n'));
    assert.ok(
      p.suggestions.some((s) => s.includes('holds at most 1126.4 MiB in all')),
      p.suggestions.join('\n'),
    );
  });

  it('explains a placed model on the replica it holds', async () => {
    const e = await explain('iris');
    assert.equal(e.state, MS.ModelAvailable);
    assert.equal(e.server, 'mlserver');
    assert.equal(e.placement?.placed, true);
    assert.deepEqual(e.placement.replicaIdxs, e.replicas);
    assert.match(e.placement.tieBreak, /already hosts this version/);
  });

  it('an unknown model is NOT_FOUND, a bad name INVALID_ARGUMENT naming the field', async () => {
    await assert.rejects(explain('nope'), (err: ServiceError) => {
      assert.equal(err.code, grpcStatus.NOT_FOUND);
      assert.match(err.details, /model nope not found/);
      return true;
    });
    await assert.rejects(explain('Not.Valid'), (err: ServiceError) => {
      assert.equal(err.code, grpcStatus.INVALID_ARGUMENT);
      assert.match(err.details, /^name: /);
      return true;
    });
  });

  it('plans models in order without changing anything; a bad model names its field', async () => {
    const before = h.app.system.listModels(false);
    const res = await plan({
      servers: [],
      models: [
        model('income', { memoryBytes: 200 * MiB }).model,
        model('resnet', { memoryBytes: 300 * MiB, requirements: ['pytorch'] }).model,
      ].flatMap((m) => (m ? [m] : [])),
    });
    assert.deepEqual(
      res.models.map((m) => [m.model, m.outcome]),
      [
        ['income', PlannedModel_Outcome.PLACED],
        ['resnet', PlannedModel_Outcome.FAILED],
      ],
    );
    const reserved = res.capacity.filter((c) => c.reservedBytes === BigInt(200 * MiB));
    assert.equal(reserved.length, 1, 'income reserves its memory on one replica');
    assert.deepEqual(h.app.system.listModels(false), before, 'nothing changed');
    await assert.rejects(
      plan({ servers: [], models: [{ ...model('ok').model, meta: { name: 'Bad.Name' } }] }),
      (err: ServiceError) => {
        assert.equal(err.code, grpcStatus.INVALID_ARGUMENT);
        assert.match(err.details, /^models\[0\]\.meta\.name: /);
        return true;
      },
    );
  });

  it('is listed by server reflection beside the Scheduler', async () => {
    const services = await listedServices(h.address);
    assert.ok(services.includes('mlsched.placement.v1.Placement'), services.join(','));
  });
});

describe('mlsched model explain and mlsched plan', () => {
  it('model explain prints the decision for people', async () => {
    const run = await mlsched('model', 'explain', 'big');
    assert.equal(run.code, 0, run.stderr);
    const text = run.stdout;
    assert.match(text, /^model big version 1: ScheduleFailed \(Failed to schedule model/);
    assert.match(text, /\n {2}1\. mlserver {2}too few replicas: 0 of 2 wanted replicas suitable\n/);
    assert.match(text, /\n {7}replica 0 {2}rejected \(memory\): /);
    assert.match(text, /\n {2}- triton {2}rejected \(requirements\): it lacks `sklearn`\n/);
    assert.match(text, /\nto place it:\n {2}- replica mlserver\/\d holds at most 1126\.4 MiB/);
  });

  it('model explain -o json prints the reply as proto3 JSON', async () => {
    const run = await mlsched('model', 'explain', 'iris', '-o', 'json');
    assert.equal(run.code, 0, run.stderr);
    const [e] = run.lines;
    assert.equal(e?.['state'], 'ModelAvailable');
    assert.equal((e['placement'] as { server: string }).server, 'mlserver');
  });

  it('plan prints where each model would go, and the capacity left', async () => {
    const run = await mlsched('plan', '-f', 'plan.yaml');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^plan of 2 model\(s\), in order:\n {2}income {2}placed on mlserver/);
    assert.match(
      run.stdout,
      /\n {2}resnet {2}FAILS: Failed to schedule model as no matching servers/,
    );
    assert.match(run.stdout, /\n {6}- server `mlserver` lacks `pytorch`\n/);
    assert.match(run.stdout, /\ncapacity left per server replica:\n {2}mlserver\/0 /);
    const json = await mlsched('plan', '-f', 'plan.yaml', '-o', 'json');
    assert.deepEqual(
      (json.lines[0]?.['models'] as { model: string; outcome: string }[]).map((m) => [
        m.model,
        m.outcome,
      ]),
      [
        ['income', 'PLACED'],
        ['resnet', 'FAILED'],
      ],
    );
  });

  it('errors are one line with the exit code: unknown model, a Pipeline in a plan, a bad -o', async () => {
    const unknown = await mlsched('model', 'explain', 'nope');
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /NOT_FOUND.*model nope not found/);
    const pipeline = await mlsched('plan', '-f', 'pipeline.yaml');
    assert.equal(pipeline.code, 2);
    assert.match(pipeline.stderr, /document 1 \(Pipeline p\): a plan places Models/);
    const output = await mlsched('plan', '-f', 'plan.yaml', '-o', 'yaml');
    assert.equal(output.code, 2);
    assert.match(output.stderr, /-o: 'yaml' must be text or json/);
  });
});
