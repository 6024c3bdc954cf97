/**
 * Issue 9, part 4: three `mlsched serve --ha` on one Redis and a simulated agent following the
 * leader, under a storm of LoadModel calls while the leader is SIGKILLed three times. Checked: no
 * poll ever sees two leaders, every model whose LoadModel was acknowledged is known to the last
 * leader, and every one of them ends Available.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Schedulers } from '../../src/cli/client.js';
import {
  ModelStatus_ModelState,
  type LoadModelResponse,
  type ModelStatusResponse,
} from '../../src/gen/mlops/scheduler/scheduler.js';
import { startSimulatedAgent, type SimulatedAgent } from '../../src/sim/agent.js';
import { model } from '../support/harness.js';
import { alive, healthOf, killAll, serveHa, type Ports } from '../support/processes.js';
import { deletePrefix, testRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

const LEASE_MS = 600;
const KILLS = 3;

interface Instance {
  server: ChildProcess;
  ports: Ports;
}

let redis: TestRedis;
const prefix = uniquePrefix('ha-storm');
const instances: Instance[] = [];
let agent: SimulatedAgent | undefined;

/** A scheduler; `ports` to restart a killed one where it was (agents and clients know it there). */
async function start(ports?: Ports): Promise<Instance> {
  const i = await serveHa({
    store: redis.url,
    prefix,
    leaseMs: LEASE_MS,
    ports,
    args: ['--reconnect-grace-seconds', '2'],
  });
  instances.push(i);
  return i;
}

async function leaders(): Promise<Instance[]> {
  const live = instances.filter((i) => alive(i.server));
  const codes = await Promise.all(
    live.map((i) =>
      healthOf(i.ports.http).then(
        (h) => h.code,
        () => 0,
      ),
    ),
  );
  return live.filter((_, k) => codes[k] === 200);
}

before(async () => {
  redis = await testRedis();
  for (let k = 0; k < 3; k++) await start();
  agent = await startSimulatedAgent({
    schedulerHost: instances.map((i) => `127.0.0.1:${i.ports.agent}`).join(','),
    agentPort: 1,
    server: 'mlserver',
    replicaIdxs: [0, 1],
    memoryBytes: 2 ** 30,
    capabilities: ['sklearn'],
    overCommitPercentage: 10,
    loadMs: 20,
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
  });
});

after(async () => {
  await agent?.stop();
  killAll();
  await deletePrefix(redis.url, prefix);
  await redis.release();
});

describe('kill the leader during a load storm', () => {
  it('never two leaders; no acknowledged model lost; every one ends Available', async (t) => {
    // The three addresses: the client follows whichever leads.
    const schedulers = new Schedulers(instances.map((i) => `127.0.0.1:${i.ports.scheduler}`));
    const run = { storming: true };
    const acknowledged: string[] = [];
    let refused = 0;

    const monitor = (async () => {
      while (run.storming) {
        const now = await leaders();
        assert.ok(now.length <= 1, `${now.length} leaders at once`);
        await sleep(20);
      }
    })();

    const storm = (async () => {
      for (let n = 0; run.storming; n++) {
        const name = `storm-${n}`;
        try {
          await schedulers.run(
            (c) =>
              new Promise<LoadModelResponse>((resolve, reject) => {
                c.loadModel(model(name, { replicas: 1 }), (err, res) => {
                  if (err) reject(err);
                  else resolve(res);
                });
              }),
            { idempotent: false },
          );
          acknowledged.push(name);
        } catch {
          refused++; // not acknowledged: it may or may not exist, and nothing is promised
        }
      }
    })();

    for (let k = 0; k < KILLS; k++) {
      await sleep(1500);
      const [leader] = await leaders();
      assert.ok(leader, `a leader before kill ${k + 1}`);
      leader.server.kill('SIGKILL');
      await once(leader.server, 'exit');
      await start(leader.ports);
    }
    await sleep(1500);
    run.storming = false;
    await Promise.all([storm, monitor]);
    assert.ok(acknowledged.length > 20, `only ${acknowledged.length} loads acknowledged`);

    // Every acknowledged model is on the last leader, and ends Available.
    const status = () =>
      schedulers.run(
        (c) =>
          new Promise<ModelStatusResponse[]>((resolve, reject) => {
            const out: ModelStatusResponse[] = [];
            c.modelStatus({ subscriberName: 't', allVersions: false })
              .on('data', (m: ModelStatusResponse) => out.push(m))
              .on('error', reject)
              .on('end', () => {
                resolve(out);
              });
          }),
        { idempotent: true },
      );
    const deadline = Date.now() + 20_000;
    let missing: string[] = [];
    let unavailable: string[] = [];
    for (;;) {
      const byName = new Map((await status()).map((m) => [m.modelName, m]));
      missing = acknowledged.filter((n) => !byName.has(n));
      unavailable = acknowledged.filter(
        (n) =>
          byName.get(n)?.versions.at(-1)?.state?.state !== ModelStatus_ModelState.ModelAvailable,
      );
      assert.deepEqual(missing, [], 'acknowledged models lost');
      if (unavailable.length === 0 || Date.now() > deadline) break;
      await sleep(200);
    }
    schedulers.close();
    t.diagnostic(`${acknowledged.length} loads acknowledged, ${refused} refused, ${KILLS} kills`);
    assert.deepEqual(
      unavailable,
      [],
      `not Available (${acknowledged.length} acknowledged, ${refused} refused)`,
    );
  });
});
