/**
 * The "must show", as a new user would do it: `mlsched serve`, two `mlsched agent` processes,
 * a LoadModel from a client generated from the seed proto; the model is Available within a second of
 * the simulated load time; killing the agent that holds it moves it to the other replica.
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

interface Status {
  modelName: string;
  versions: {
    version: number;
    serverName: string;
    state: { state: string };
    modelReplicaState: Record<string, { state: string }>;
  }[];
}

describe('mlsched serve + mlsched agent', () => {
  it('loads a model, moves it when its agent dies, and shuts down cleanly', async (t) => {
    const { server, ports } = await serve();
    assert.equal(ports.event, 'listening');
    for (const p of [ports.scheduler, ports.agent, ports.dataflow, ports.http]) assert.ok(p > 0);

    const loadMs = 300;
    const agentArgs = [
      '--agent-port',
      String(ports.agent),
      '--server',
      'mlserver',
      '--load-ms',
      String(loadMs),
      '--log-level',
      'warn',
    ];
    const a0 = mlsched('agent', ...agentArgs, '--replica-idx', '0');
    const a1 = mlsched('agent', ...agentArgs, '--replica-idx', '1');
    const byIdx = [a0, a1];

    const client = seedClient(`127.0.0.1:${ports.scheduler}`);
    const rpc = (method: string, req: unknown) =>
      new Promise<unknown>((resolve, reject) => {
        const fn = client[method];
        if (!fn) throw new Error(`no method ${method}`);
        fn.call(client, req, (err: Error | null, res: unknown) => {
          if (err) reject(err);
          else resolve(res);
        });
      });
    const modelStatus = () =>
      new Promise<Status>((resolve, reject) => {
        const s = (
          client as unknown as { ModelStatus(r: unknown): NodeJS.EventEmitter }
        ).ModelStatus({ subscriberName: 'cli-test', model: { name: 'iris' } });
        s.on('data', resolve);
        s.on('error', reject);
      });
    const serverStatus = () =>
      new Promise<{ availableReplicas: number }>((resolve, reject) => {
        const s = (
          client as unknown as { ServerStatus(r: unknown): NodeJS.EventEmitter }
        ).ServerStatus({ subscriberName: 'cli-test', name: 'mlserver' });
        s.on('data', resolve);
        s.on('error', reject);
      });
    await waitFor(
      'both agents joined',
      async () => (await serverStatus()).availableReplicas === 2,
      10_000,
    );

    const t0 = Date.now();
    await rpc('LoadModel', {
      model: {
        meta: { name: 'iris' },
        modelSpec: {
          uri: 'gs://seldon-models/scv2/samples/mlserver_1.3.5/iris-sklearn',
          requirements: ['sklearn'],
          memoryBytes: 1000,
        },
        deploymentSpec: { replicas: 1 },
      },
    });
    const available = await waitFor(
      'iris Available',
      async () => {
        const s = await modelStatus();
        return s.versions[0]?.state.state === 'ModelAvailable' && s;
      },
      5000,
    );
    const elapsed = Date.now() - t0;
    t.diagnostic(`ModelAvailable ${elapsed} ms after LoadModel (simulated load ${loadMs} ms)`);
    assert.ok(elapsed < loadMs + 1000, `Available after ${elapsed} ms (load takes ${loadMs} ms)`);
    const [holderIdx] = Object.keys(available.versions[0]?.modelReplicaState ?? {});
    const holder = byIdx[Number(holderIdx)];
    assert.ok(holder, `holder replica ${holderIdx}`);

    const killedAt = Date.now();
    holder.kill('SIGKILL');
    const moved = await waitFor(
      'iris Available on the other replica',
      async () => {
        const s = await modelStatus();
        const v = s.versions[0];
        return (
          v?.state.state === 'ModelAvailable' && !((holderIdx ?? '') in v.modelReplicaState) && v
        );
      },
      5000,
    );
    t.diagnostic(`Available on the other replica ${Date.now() - killedAt} ms after SIGKILL`);
    assert.equal(moved.version, 1, 'same server, same version');
    assert.deepEqual(Object.keys(moved.modelReplicaState), [String(1 - Number(holderIdx))]);

    client.close();
    const exited = once(server, 'exit');
    const stopAt = Date.now();
    server.kill('SIGTERM');
    const [code] = (await exited) as [number];
    assert.equal(code, 0);
    assert.ok(Date.now() - stopAt < 5000);
    for (const a of byIdx) if (a.exitCode === null) a.kill('SIGTERM');
  });
});
