/**
 * The "must show", as a new user would do it: `mlsched serve`, `mlsched agent` with two
 * replicas and `mlsched dataflow` as processes; a client generated from the seed proto loads two
 * models, a pipeline chaining them and an experiment over them. The pipeline becomes PipelineReady
 * with modelsReady, the experiment active; unloading a model turns modelsReady and candidatesReady
 * false within a second, as seen on the Subscribe streams.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { seedClient } from '../support/seed-client.js';
import { waitFor } from '../support/harness.js';
import { killAll, mlsched, serve } from '../support/processes.js';

after(() => {
  killAll();
});

interface PipelineStatus {
  pipelineName: string;
  versions: { state: { status: string; reason: string; modelsReady: boolean } }[];
}
interface ExperimentStatus {
  experimentName: string;
  active: boolean;
  candidatesReady: boolean;
  statusDescription: string;
}
type Stream = NodeJS.EventEmitter & { cancel(): void };

describe('mlsched serve + agent + dataflow: a pipeline and an experiment', () => {
  it('become ready, and follow a model that is unloaded within a second', async (t) => {
    const { server, ports } = await serve();
    mlsched(
      'agent',
      '--agent-port',
      String(ports.agent),
      '--server',
      'mlserver',
      '--replicas',
      '2',
      '--load-ms',
      '50',
      '--log-level',
      'warn',
    );
    mlsched('dataflow', '--dataflow-port', String(ports.dataflow), '--log-level', 'warn');

    const client = seedClient(`127.0.0.1:${ports.scheduler}`) as unknown as Record<
      string,
      (req: unknown, cb?: (err: Error | null, res: unknown) => void) => Stream
    >;
    const rpc = (method: string, req: unknown) =>
      new Promise<unknown>((resolve, reject) => {
        const fn = client[method];
        if (!fn) throw new Error(`no method ${method}`);
        fn.call(client, req, (err, res) => {
          if (err) reject(err);
          else resolve(res);
        });
      });
    const first = <T>(method: string, req: unknown) =>
      new Promise<T>((resolve, reject) => {
        const s = client[method]?.call(client, req);
        s?.on('data', resolve);
        s?.on('error', reject);
      });
    /** Keeps the latest message per resource seen on a Subscribe stream, with when it came. */
    const watch = <T>(method: string, key: (m: T) => string) => {
      const latest = new Map<string, { msg: T; at: number }>();
      const s = client[method]?.call(client, { subscriberName: 'walkthrough' });
      s?.on('data', (m: T) => latest.set(key(m), { msg: m, at: Date.now() }));
      s?.on('error', () => undefined);
      return { latest, cancel: () => s?.cancel() };
    };
    const pipelines = watch<PipelineStatus>('SubscribePipelineStatus', (m) => m.pipelineName);
    const experiments = watch<ExperimentStatus>(
      'SubscribeExperimentStatus',
      (m) => m.experimentName,
    );

    for (const name of ['tfsimple1', 'tfsimple2']) {
      await rpc('LoadModel', {
        model: {
          meta: { name },
          modelSpec: { uri: `gs://seldon-models/triton/simple`, requirements: ['sklearn'] },
          deploymentSpec: { replicas: 1 },
        },
      });
    }
    await rpc('LoadPipeline', {
      pipeline: {
        name: 'tfsimples',
        steps: [
          { name: 'tfsimple1' },
          {
            name: 'tfsimple2',
            inputs: ['tfsimple1'],
            tensorMap: { 'tfsimple1.outputs.OUTPUT0': 'INPUT0' },
          },
        ],
        output: { steps: ['tfsimple2'] },
      },
    });
    await rpc('StartExperiment', {
      experiment: {
        name: 'tf-ab',
        default: 'tfsimple1',
        candidates: [
          { name: 'tfsimple1', weight: 50 },
          { name: 'tfsimple2', weight: 50 },
        ],
      },
    });

    const ready = await waitFor(
      'pipeline Ready with models ready, experiment active',
      async () => {
        const p = await first<PipelineStatus>('PipelineStatus', {
          subscriberName: 't',
          name: 'tfsimples',
        });
        const e = await first<ExperimentStatus>('ExperimentStatus', {
          subscriberName: 't',
          name: 'tf-ab',
        });
        const s = p.versions[0]?.state;
        return s?.status === 'PipelineReady' && s.modelsReady && e.active && { p, e };
      },
      10_000,
    );
    assert.equal(ready.e.candidatesReady, true);
    assert.equal(ready.e.statusDescription, 'experiment active');
    assert.equal(ready.p.versions[0]?.state.reason, '1/1 ready ');

    const unloadAt = Date.now();
    await rpc('UnloadModel', { model: { name: 'tfsimple2' } });
    const pushed = await waitFor(
      'modelsReady and candidatesReady false on the streams',
      () => {
        const p = pipelines.latest.get('tfsimples');
        const e = experiments.latest.get('tf-ab');
        return (
          p?.msg.versions[0]?.state.modelsReady === false &&
          e?.msg.candidatesReady === false && { p: p.at - unloadAt, e: e.at - unloadAt }
        );
      },
      1000,
    );
    t.diagnostic(
      `after UnloadModel: modelsReady false pushed in ${pushed.p} ms, candidatesReady false in ${pushed.e} ms`,
    );
    assert.ok(pushed.p < 1000 && pushed.e < 1000);
    assert.equal(experiments.latest.get('tf-ab')?.msg.active, false);

    pipelines.cancel();
    experiments.cancel();
    const exited = once(server, 'exit');
    server.kill('SIGTERM');
    const [code] = (await exited) as [number];
    assert.equal(code, 0);
    killAll('SIGTERM');
  });
});
