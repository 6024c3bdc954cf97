/**
 * Restart with the file store, in process: models, versions, servers, pipelines and experiments come
 * back at once; agents that reconnect with their models get no reload; the scheduler serves while
 * they are away.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ModelStatus_ModelState as MS,
  PipelineStep_JoinOp,
  type ModelStatusResponse,
} from '../../src/gen/mlops/scheduler/scheduler.js';
import { autoAgent, connectFakeAgent } from '../support/fake-agent.js';
import { call, collect, model, startScheduler, waitFor } from '../support/harness.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('restart from the file store', () => {
  it('keeps everything and reloads nothing the agents still hold', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlsched-restart-'));
    dirs.push(dir);
    const store = { kind: 'file' as const, dir };
    let h = await startScheduler({ store });
    const agents = await Promise.all(
      [0, 1].map((idx) =>
        connectFakeAgent({ address: h.agentAddress, server: 'mls', replicaIdx: idx }),
      ),
    );
    for (const a of agents) autoAgent(a);
    for (const n of ['r1', 'r2', 'r3']) await call(h.client.loadModel.bind(h.client), model(n));
    await call(h.client.loadModel.bind(h.client), model('r1', { uri: 'gs://models/r1-v2' }));
    await call(h.client.loadPipeline.bind(h.client), {
      pipeline: {
        name: 'rp',
        uid: '',
        version: 0,
        steps: [
          {
            name: 'r1',
            inputs: [],
            tensorMap: {},
            inputsJoin: PipelineStep_JoinOp.INNER,
            triggers: [],
            triggersJoin: PipelineStep_JoinOp.INNER,
          },
        ],
      },
    });
    await call(h.client.startExperiment.bind(h.client), {
      experiment: { name: 're', candidates: [{ name: 'r2', weight: 1 }], resourceType: 0 },
    });
    const all = async (): Promise<ModelStatusResponse[]> =>
      collect(h.client.modelStatus({ subscriberName: 't', allVersions: true }));
    await waitFor('all Available', async () =>
      (await all()).every((m) => m.versions.at(-1)?.state?.state === MS.ModelAvailable),
    );
    const before = await all();
    const held = agents.map((a) =>
      before.flatMap((m) =>
        m.versions.flatMap((v) =>
          v.state?.state === MS.ModelAvailable &&
          `${a.replicaIdx}` in v.modelReplicaState &&
          v.modelDefn
            ? [{ model: v.modelDefn, version: v.version }]
            : [],
        ),
      ),
    );
    for (const a of agents) await a.disconnect();
    await h.stop();

    h = await startScheduler({ store });
    // Serving at once, from the store: the same models, versions and specs.
    const restored = await all();
    assert.deepEqual(
      restored.map((m) => [
        m.modelName,
        m.versions.map((v) => [v.version, v.modelDefn?.modelSpec?.uri]),
      ]),
      before.map((m) => [
        m.modelName,
        m.versions.map((v) => [v.version, v.modelDefn?.modelSpec?.uri]),
      ]),
    );
    const [p] = await collect(
      h.client.pipelineStatus({ subscriberName: 't', name: 'rp', allVersions: false }),
    );
    assert.equal(p?.versions[0]?.pipeline?.version, 1);
    const [e] = await collect(h.client.experimentStatus({ subscriberName: 't', name: 're' }));
    assert.equal(e?.candidatesReady, true);

    // The agents come back holding what they held: Available again, with no op sent to them.
    const back = await Promise.all(
      [0, 1].map((idx) =>
        connectFakeAgent({
          address: h.agentAddress,
          server: 'mls',
          replicaIdx: idx,
          loadedModels: held[idx] ?? [],
        }),
      ),
    );
    await waitFor('all Available again', async () =>
      (await all()).every((m) => m.versions.at(-1)?.state?.state === MS.ModelAvailable),
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(
      back.flatMap((a) => a.ops),
      [],
    );
    for (const a of back) await a.disconnect();
    await h.stop();
  });
});
