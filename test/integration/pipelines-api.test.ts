/**
 * Pipelines and experiments over gRPC (the reference's scenarios, numbered in the test names): error codes and texts,
 * one-shot status calls, and Subscribe streams that send the current state and then every change.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status as grpcStatus } from '@grpc/grpc-js';
import {
  PipelineStep_JoinOp,
  PipelineVersionState_PipelineStatus as PS,
  type ExperimentStatusResponse,
  type Pipeline,
  type PipelineStatusResponse,
} from '../../src/gen/mlops/scheduler/scheduler.js';
import {
  call,
  collect,
  rejectsWith,
  startScheduler,
  waitFor,
  type Harness,
} from '../support/harness.js';

let h: Harness;
const pipeline = (name: string, steps: Record<string, string[]>): Pipeline => ({
  name,
  uid: '',
  version: 0,
  steps: Object.entries(steps).map(([s, inputs]) => ({
    name: s,
    inputs,
    tensorMap: {},
    inputsJoin: PipelineStep_JoinOp.INNER,
    triggers: [],
    triggersJoin: PipelineStep_JoinOp.INNER,
  })),
});
const loadPipeline = (p: Pipeline) => call(h.client.loadPipeline.bind(h.client), { pipeline: p });
const startExperiment = (name: string, candidates: string[]) =>
  call(h.client.startExperiment.bind(h.client), {
    experiment: {
      name,
      candidates: candidates.map((c) => ({ name: c, weight: 1 })),
      resourceType: 0,
    },
  });

before(async () => {
  h = await startScheduler();
});
after(async () => {
  await h.stop();
});

describe('pipelines over gRPC', () => {
  it('#21 PipelineStatus with no name lists none, then every pipeline', async () => {
    assert.deepEqual(
      await collect(h.client.pipelineStatus({ subscriberName: 't', allVersions: false })),
      [],
    );
    await loadPipeline(pipeline('list-a', { m1: [] }));
    await loadPipeline(pipeline('list-b', { m1: [] }));
    const all = await collect(h.client.pipelineStatus({ subscriberName: 't', allVersions: false }));
    assert.deepEqual(
      all.map((p) => p.pipelineName),
      ['list-a', 'list-b'],
    );
  });

  it('#1 #11 a loaded pipeline reports version 1, its uid, Create, normalised references', async () => {
    await loadPipeline(pipeline('norm', { a: [], b: ['a'], c: ['norm'] }));
    const [res] = await collect(
      h.client.pipelineStatus({ subscriberName: 't', name: 'norm', allVersions: false }),
    );
    const v = res?.versions[0];
    assert.equal(v?.pipeline?.version, 1);
    assert.equal(v.pipeline.uid.length, 20);
    assert.deepEqual(
      v.pipeline.steps.map((s) => [s.name, s.inputs]),
      [
        ['a', []],
        ['b', ['a.outputs']],
        ['c', ['norm.inputs']],
      ],
    );
    assert.equal(v.state?.status, PS.PipelineCreate);
    assert.equal(v.state.reason, 'no dataflow engines available to handle pipeline');
    assert.equal(v.state.modelsReady, false);
    assert.ok(v.state.lastChangeTimestamp instanceof Date);
  });

  it('#2-#10 invalid pipelines: bad names are INVALID_ARGUMENT, the rest FAILED_PRECONDITION', async () => {
    await rejectsWith(
      loadPipeline(pipeline('My.Pipe', { a: [] })),
      grpcStatus.INVALID_ARGUMENT,
      /^pipeline\.name: pipeline My\.Pipe does not have a valid name/,
    );
    await rejectsWith(
      loadPipeline(pipeline('p', {})),
      grpcStatus.FAILED_PRECONDITION,
      'pipeline p has no steps defined',
    );
    await rejectsWith(
      loadPipeline(pipeline('p', { a: [], b: ['f.outputs'] })),
      grpcStatus.FAILED_PRECONDITION,
      'pipeline p step b has input f for step that does not exist',
    );
    await rejectsWith(
      call(h.client.loadPipeline.bind(h.client), {}),
      grpcStatus.INVALID_ARGUMENT,
      /^pipeline: /,
    );
    const [p] = await collect(h.client.pipelineStatus({ subscriberName: 't', allVersions: false }));
    assert.notEqual(p?.pipelineName, 'p');
  });

  it('#17 #41 unknown pipelines and experiments are FAILED_PRECONDITION; empty names INVALID_ARGUMENT', async () => {
    await rejectsWith(
      call(h.client.unloadPipeline.bind(h.client), { name: 'nope' }),
      grpcStatus.FAILED_PRECONDITION,
      'pipeline nope not found',
    );
    await rejectsWith(
      collect(h.client.pipelineStatus({ subscriberName: 't', name: 'nope', allVersions: false })),
      grpcStatus.FAILED_PRECONDITION,
      'pipeline nope not found',
    );
    await rejectsWith(
      collect(h.client.experimentStatus({ subscriberName: 't', name: 'nope' })),
      grpcStatus.FAILED_PRECONDITION,
      'Experiment not found nope',
    );
    await rejectsWith(
      call(h.client.stopExperiment.bind(h.client), { name: 'ghost' }),
      grpcStatus.FAILED_PRECONDITION,
      'Experiment not found ghost',
    );
    await rejectsWith(
      call(h.client.unloadPipeline.bind(h.client), { name: '' }),
      grpcStatus.INVALID_ARGUMENT,
      'name: must not be empty',
    );
  });

  it('#43 SubscribePipelineStatus sends every pipeline, then each change, to every subscriber', async () => {
    await loadPipeline(pipeline('sub-a', { m1: [] }));
    const subs = [1, 2].map(() => {
      const seen: PipelineStatusResponse[] = [];
      const s = h.client.subscribePipelineStatus({ subscriberName: 'ctl' });
      s.on('data', (m: PipelineStatusResponse) => seen.push(m));
      s.on('error', () => undefined);
      return { s, seen };
    });
    for (const { seen } of subs) {
      await waitFor('initial sub-a', () => seen.some((m) => m.pipelineName === 'sub-a'));
    }
    await loadPipeline(pipeline('sub-b', { m1: [] }));
    await call(h.client.unloadPipeline.bind(h.client), { name: 'sub-a' });
    for (const { s, seen } of subs) {
      await waitFor('sub-b pushed', () => seen.some((m) => m.pipelineName === 'sub-b'));
      await waitFor('sub-a terminated pushed', () =>
        seen.some(
          (m) =>
            m.pipelineName === 'sub-a' && m.versions[0]?.state?.status === PS.PipelineTerminated,
        ),
      );
      s.cancel();
    }
  });
});

describe('experiments over gRPC', () => {
  it('#30 #34 validation, status and SubscribeExperimentStatus', async () => {
    await rejectsWith(
      startExperiment('empty', []),
      grpcStatus.FAILED_PRECONDITION,
      'experiment empty has no candidates or mirror',
    );
    await rejectsWith(startExperiment('', ['a']), grpcStatus.INVALID_ARGUMENT, /^experiment\.name/);
    const seen: ExperimentStatusResponse[] = [];
    const s = h.client.subscribeExperimentStatus({ subscriberName: 'ctl' });
    s.on('data', (m: ExperimentStatusResponse) => seen.push(m));
    s.on('error', () => undefined);
    await startExperiment('exp-a', ['iris', 'iris2']);
    await waitFor('exp-a pushed', () => seen.some((m) => m.experimentName === 'exp-a'));
    const [e] = await collect(h.client.experimentStatus({ subscriberName: 't', name: 'exp-a' }));
    assert.equal(e?.active, false);
    assert.equal(e.candidatesReady, false);
    assert.equal(e.mirrorReady, true);
    assert.equal(
      e.statusDescription,
      'no live replica for model iris for model route exp-a.experiment',
    );
    await call(h.client.stopExperiment.bind(h.client), { name: 'exp-a' });
    const all = await collect(h.client.experimentStatus({ subscriberName: 't' }));
    assert.ok(all.some((x) => x.experimentName === 'exp-a' && !x.active));
    s.cancel();
  });
});

describe('pipelines and experiments on the HTTP port', () => {
  it('/metrics counts them by state and /api/state lists them', async () => {
    await loadPipeline(pipeline('http-p', { m1: [] }));
    await startExperiment('http-e', ['m1']);
    const base = `http://127.0.0.1:${h.app.ports.http}`;
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(
      metrics,
      /mlsched_pipelines\{state="create",deleted="false",models_ready="false"\} [1-9]/,
    );
    assert.match(metrics, /mlsched_experiments\{active="false",deleted="false"\} [1-9]/);
    assert.match(metrics, /mlsched_dataflow_engines 0/);
    const state = (await (await fetch(`${base}/api/state`)).json()) as {
      pipelines: { name: string }[];
      experiments: { definition: { name: string } }[];
    };
    assert.ok(state.pipelines.some((p) => p.name === 'http-p'));
    assert.ok(state.experiments.some((e) => e.definition.name === 'http-e'));
  });
});
