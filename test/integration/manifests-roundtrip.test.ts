/**
 * Every Seldon sample manifest the CLI accepts, sent to a running scheduler as the `mlsched`
 * client sends it, and read back: models come back with the definition that was loaded, servers
 * with their declared replicas, pipelines with their steps, experiments by name. The ones the
 * scheduler refuses are listed below with its reason, so a change in either side shows.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { readManifests, type Manifest } from '../../src/cli/manifests.js';
import { Model } from '../../src/gen/mlops/scheduler/scheduler.js';
import { call, collect, startScheduler, type Harness } from '../support/harness.js';
import { SAMPLES_DIR } from '../support/manifests.js';

/** Sample documents the scheduler refuses, by `folder/file`, with the start of its answer. */
const REFUSED: Readonly<Record<string, RegExp>> = {
  // Deliberately stricter than Seldon (README, API compatibility): an empty storage URI is refused.
  'models/error-no-uri.yaml': /^model\.modelSpec\.uri: must name the storage URI/,
  // Seldon's own name rule, which these samples break with `_`.
  'models/id1_node.yaml': /Model id1_node does not have a valid name/,
  'models/id2_node.yaml': /Model id2_node does not have a valid name/,
  'models/join_node.yaml': /Model join_node does not have a valid name/,
  'pipelines/error-empty-input.yaml': /^pipeline iris-pipeline step second has an empty input$/,
  'pipelines/error-empty-trigger.yaml': /^pipeline iris-pipeline step third has an empty trigger$/,
  'pipelines/error-step-name.yaml': /must not have a step name with the same name as pipeline name/,
  'pipelines/triggers_join_inputs.yaml': /triggers_join_inputs does not have a valid name/,
  'pipelines/triggers_join_internal.yaml': /triggers_join_internal does not have a valid name/,
  // Sent after add1020.yaml, whose baseline is the same pipeline: Seldon's one-baseline rule.
  'experiments/addmul10.yaml': /^Resource pipeline-add10 already in experiment \S+ as a baseline/,
};

let h: Harness;
before(async () => {
  h = await startScheduler();
});
after(async () => {
  await h.stop();
});

/** Sends one manifest as the CLI does and reads it back; returns the scheduler's refusal, if any. */
async function roundTrip(m: Manifest): Promise<string | undefined> {
  const c = h.client;
  try {
    switch (m.kind) {
      case 'Model': {
        await call(c.loadModel.bind(c), m.request);
        const [s] = await collect(
          c.modelStatus({ subscriberName: 't', model: { name: m.name }, allVersions: false }),
        );
        const json = (x: Model | undefined) => x && Model.toJSON(x);
        assert.deepEqual(json(s?.versions.at(-1)?.modelDefn), json(m.request.model), m.name);
        return undefined;
      }
      case 'Server': {
        await call(c.serverNotify.bind(c), { servers: [m.notify], isFirstSync: false });
        const [s] = await collect(c.serverStatus({ subscriberName: 't', name: m.name }));
        assert.equal(s?.expectedReplicas, m.notify.expectedReplicas, `server ${m.name}`);
        return undefined;
      }
      case 'Pipeline': {
        await call(c.loadPipeline.bind(c), m.request);
        const [s] = await collect(
          c.pipelineStatus({ subscriberName: 't', name: m.name, allVersions: false }),
        );
        assert.deepEqual(
          s?.versions.at(-1)?.pipeline?.steps.map((x) => x.name),
          m.request.pipeline?.steps.map((x) => x.name).sort(),
          `pipeline ${m.name}`,
        );
        return undefined;
      }
      case 'Experiment': {
        await call(c.startExperiment.bind(c), m.request);
        const [s] = await collect(c.experimentStatus({ subscriberName: 't', name: m.name }));
        assert.equal(s?.experimentName, m.name);
        return undefined;
      }
    }
  } catch (e) {
    const err = e as Partial<ServiceError>;
    if (err.code === grpcStatus.INVALID_ARGUMENT || err.code === grpcStatus.FAILED_PRECONDITION) {
      return err.details ?? String(e);
    }
    throw e;
  }
}

describe('Seldon samples round-trip through a running scheduler', () => {
  for (const folder of ['servers', 'models', 'pipelines', 'experiments']) {
    it(`${folder}: every accepted manifest comes back as sent`, async () => {
      const refused: Record<string, string> = {};
      let sent = 0;
      for (const file of readdirSync(join(SAMPLES_DIR, folder)).sort()) {
        if (!file.endsWith('.yaml')) continue;
        let manifests: Manifest[];
        try {
          manifests = readManifests(join(SAMPLES_DIR, folder, file));
        } catch {
          continue; // refused by the parser: test/unit/cli/manifests.test.ts says which and why
        }
        for (const m of manifests) {
          sent++;
          const why = await roundTrip(m);
          if (why !== undefined) refused[`${folder}/${file}`] = why;
        }
      }
      assert.ok(sent > 0);
      const expected = Object.entries(REFUSED).filter(([k]) => k.startsWith(`${folder}/`));
      assert.deepEqual(
        Object.keys(refused),
        expected.map(([k]) => k),
        JSON.stringify(refused, null, 1),
      );
      for (const [k, re] of expected) assert.match(refused[k] ?? '', re, k);
    });
  }
});
