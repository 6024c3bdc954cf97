/**
 * Every Seldon sample Pipeline and Experiment sent to a running scheduler over gRPC, with a simulated
 * dataflow engine connected: the valid pipelines reach PipelineReady, the valid experiments start, and
 * the ones the reference refuses are refused with its code and text.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { SchedulerErrorCode } from '../../src/domain/errors.js';
import { PipelineVersionState_PipelineStatus as PS } from '../../src/gen/mlops/scheduler/scheduler.js';
import { createLogger } from '../../src/observability/logger.js';
import { startSimulatedDataflow, type SimulatedDataflow } from '../../src/sim/dataflow.js';
import {
  call,
  collect,
  rejectsWith,
  startScheduler,
  waitFor,
  type Harness,
} from '../support/harness.js';
import { experimentManifest, ManifestError, pipelineManifest } from '../support/manifests.js';
import {
  EXPERIMENT_FAILURES,
  PIPELINE_FAILURES,
  read,
  sampleName,
  yamlFiles,
  type Outcome,
} from '../support/samples.js';

const GRPC_CODE: Partial<Record<SchedulerErrorCode, grpcStatus>> = {
  InvalidSpec: grpcStatus.INVALID_ARGUMENT,
  FailedPrecondition: grpcStatus.FAILED_PRECONDITION,
};

let h: Harness;
let engine: SimulatedDataflow;

before(async () => {
  h = await startScheduler();
  engine = startSimulatedDataflow({
    schedulerHost: '127.0.0.1',
    dataflowPort: h.app.ports.dataflow,
    name: 'df-samples',
    ackDelayMs: 0,
    logger: createLogger('silent'),
  });
});
after(async () => {
  await engine.stop();
  await h.stop();
});

/** Sends a sample and checks the outcome the reference gives it. */
async function expectRefused(send: () => Promise<unknown>, decode: () => unknown, o: Outcome) {
  if ('decode' in o) {
    assert.throws(decode, (e: unknown) => e instanceof ManifestError && e.message === o.decode);
    return;
  }
  const code = GRPC_CODE[o.code];
  assert.ok(code !== undefined, o.code);
  await rejectsWith(send(), code, o.message);
}

describe('sample pipelines through a running scheduler', () => {
  for (const file of yamlFiles('pipelines')) {
    const outcome = PIPELINE_FAILURES[file];
    it(`${file} ${outcome ? 'is refused' : 'loads and becomes PipelineReady'}`, async () => {
      const text = read('pipelines', file);
      const decode = () => pipelineManifest(text, sampleName('pipelines', file));
      const load = () => call(h.client.loadPipeline.bind(h.client), { pipeline: decode() });
      if (outcome) {
        await expectRefused(load, decode, outcome);
        return;
      }
      await load();
      const name = decode().name;
      await waitFor(`${name} PipelineReady`, async () => {
        const [res] = await collect(
          h.client.pipelineStatus({ subscriberName: 't', name, allVersions: false }),
        );
        return res?.versions[0]?.state?.status === PS.PipelineReady;
      });
    });
  }
});

describe('sample experiments through a running scheduler', () => {
  for (const file of yamlFiles('experiments')) {
    const outcome = EXPERIMENT_FAILURES[file];
    it(`${file} ${outcome ? 'is refused' : 'starts'}`, async () => {
      const text = read('experiments', file);
      const decode = () => experimentManifest(text, sampleName('experiments', file));
      const start = () => call(h.client.startExperiment.bind(h.client), { experiment: decode() });
      if (outcome) {
        await expectRefused(start, decode, outcome);
        return;
      }
      await start();
      const name = decode().name;
      const [res] = await collect(h.client.experimentStatus({ subscriberName: 't', name }));
      assert.equal(res?.experimentName, name);
      // Samples share baselines (iris is the default of several): stop each before the next.
      await call(h.client.stopExperiment.bind(h.client), { name });
    });
  }
});
