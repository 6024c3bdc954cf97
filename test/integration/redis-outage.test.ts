/**
 * The scheduler on a Redis that stops answering: it keeps serving from memory, says so on /health
 * and in its metrics, and writes the latest state once Redis is back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { call, model, startScheduler, status, waitFor } from '../support/harness.js';
import { startRedisServer } from '../support/redis.js';

describe('Redis outage', () => {
  it('serves from memory while Redis is away and catches up when it returns', async () => {
    const redis = await startRedisServer();
    const h = await startScheduler({
      store: { kind: 'redis', url: redis.url },
      redisPrefix: 'outage',
    });
    const probe = new Redis(redis.url);
    const base = `http://127.0.0.1:${h.app.ports.http}`;
    const storeHealth = async () =>
      (
        (await (await fetch(`${base}/health`)).json()) as {
          store: { ok: boolean; writing: boolean };
        }
      ).store;
    try {
      await call(h.client.loadModel.bind(h.client), model('before'));
      assert.ok(await probe.get('outage:r:model:before'), 'written while Redis answers');

      redis.pause();
      // The first change waits for its write (bounded); later ones are answered from memory.
      await call(h.client.loadModel.bind(h.client), model('during-1'));
      await waitFor('store reported failing', async () => !(await storeHealth()).writing, 5000);
      const t0 = Date.now();
      await call(h.client.loadModel.bind(h.client), model('during-2'));
      assert.ok(Date.now() - t0 < 1000, 'not stalled while the store fails');
      assert.equal((await status(h, 'during-2')).modelName, 'during-2');
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /mlsched_store_healthy 0/);

      redis.resume();
      await waitFor('store writing again', async () => (await storeHealth()).writing, 10_000);
      await waitFor(
        'the changes made during the outage are in Redis',
        async () =>
          (await probe.get('outage:r:model:during-1')) !== null &&
          (await probe.get('outage:r:model:during-2')) !== null,
        5000,
      );
      assert.match(await (await fetch(`${base}/metrics`)).text(), /mlsched_store_healthy 1/);
    } finally {
      probe.disconnect();
      await h.stop();
      await redis.stop();
    }
  });
});
