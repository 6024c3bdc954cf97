/**
 * Issue 9, part 4: three `mlsched serve --ha` on one Redis and a simulated agent following the
 * leader, under a storm of LoadModel calls while the leader is SIGKILLed three times. Checked: no
 * poll ever sees two leaders, every model whose LoadModel was acknowledged is known to the last
 * leader, and every one of them ends Available.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Schedulers } from '../../src/cli/client.js';
import type { SimulatedAgent } from '../../src/sim/agent.js';
import { killAll, serveHa, type Ports } from '../support/processes.js';
import { deletePrefix, testRedis, uniquePrefix, type TestRedis } from '../support/redis.js';
import {
  checkAcknowledged,
  followingAgent,
  leadersOf,
  startStorm,
  type Instance,
} from '../support/storm.js';

const LEASE_MS = 600;
const KILLS = 3;

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

before(async () => {
  redis = await testRedis();
  for (let k = 0; k < 3; k++) await start();
  agent = await followingAgent(instances);
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
    const storm = startStorm(schedulers, instances);
    for (let k = 0; k < KILLS; k++) {
      await sleep(1500);
      const [leader] = await leadersOf(instances);
      assert.ok(leader, `a leader before kill ${k + 1}`);
      leader.server.kill('SIGKILL');
      await once(leader.server, 'exit');
      await start(leader.ports);
    }
    await sleep(1500);
    const { acknowledged, refused } = await storm.stop();
    assert.ok(acknowledged.length > 20, `only ${acknowledged.length} loads acknowledged`);

    // Every acknowledged model is on the last leader, and ends Available.
    const unavailable = await checkAcknowledged(schedulers, acknowledged);
    schedulers.close();
    t.diagnostic(`${acknowledged.length} loads acknowledged, ${refused} refused, ${KILLS} kills`);
    assert.deepEqual(
      unavailable,
      [],
      `not Available (${acknowledged.length} acknowledged, ${refused} refused)`,
    );
  });
});
