/**
 * The leader lease and fencing on Redis (issue 9, part 1): one holder at a time, renewed only by
 * its holder, taken over once it expires or is released, each take-over with a larger fencing
 * token; a store fenced with an old token changes nothing once a newer leader exists.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { RedisLease } from '../../src/store/redis/lease.js';
import { openRedisStore, type RedisStore } from '../../src/store/redis/redis-store.js';
import { RedisStoreError } from '../../src/store/redis/errors.js';
import { deletePrefix, testRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

let redis: TestRedis;
const prefixes: string[] = [];
const closers: (() => Promise<void>)[] = [];

before(async () => {
  redis = await testRedis();
});
after(async () => {
  for (const close of closers) await close();
  for (const p of prefixes) await deletePrefix(redis.url, p);
  await redis.release();
});

function prefix(name: string): string {
  const p = uniquePrefix(name);
  prefixes.push(p);
  return p;
}

async function lease(p: string, address: string, ttlMs = 1000): Promise<RedisLease> {
  const l = await RedisLease.open({ url: redis.url, prefix: p, address, ttlMs });
  closers.push(() => l.close());
  return l;
}

async function store(p: string): Promise<RedisStore> {
  const s = await openRedisStore({ url: redis.url, prefix: p });
  closers.push(() => s.close());
  return s;
}

const record = (key: string, value: unknown) => ({ key, schema: 1, value });

describe('RedisLease', () => {
  it('has one holder at a time; release hands it on with a larger token', async () => {
    const p = prefix('lease');
    const a = await lease(p, 'a:9004');
    const b = await lease(p, 'b:9004');
    const first = await a.acquire();
    assert.equal(typeof first, 'number');
    assert.equal(await b.acquire(), undefined);
    assert.equal(await b.holder(), 'a:9004');
    assert.equal(await a.renew(), true);
    assert.equal(await b.renew(), false, 'a lease not held cannot be renewed');
    await a.release();
    assert.equal(await a.holder(), undefined);
    const second = await b.acquire();
    assert.equal(second, (first ?? 0) + 1);
    assert.equal(await b.holder(), 'b:9004');
    assert.equal(await a.renew(), false);
  });

  it('expires without renewals: another takes it and the old holder cannot renew', async () => {
    const p = prefix('expiry');
    const a = await lease(p, 'a:9004', 300);
    const b = await lease(p, 'b:9004', 300);
    const first = await a.acquire();
    await sleep(150);
    assert.equal(await a.renew(), true, 'renewed within the lease');
    await sleep(200);
    assert.equal(await b.acquire(), undefined, 'still held thanks to the renewal');
    await sleep(350);
    const second = await b.acquire();
    assert.ok(second !== undefined && first !== undefined && second > first);
    assert.equal(await a.renew(), false);
    await a.release();
    assert.equal(await b.holder(), 'b:9004', "a late release does not drop the new holder's lease");
  });
});

describe('holding the lease longer (through a restore)', () => {
  it('renew(ttlMs) keeps it for that long, any number of milliseconds', async () => {
    const p = prefix('hold');
    const a = await lease(p, 'a:9004', 300);
    const b = await lease(p, 'b:9004', 300);
    assert.notEqual(await a.acquire(), undefined);
    assert.equal(await a.renew(1200.5), true);
    await sleep(600);
    assert.equal(await b.acquire(), undefined, 'still held past the lease period');
    assert.equal(await a.renew(), true, 'and renewed as usual after');
  });
});

describe('fenced writes', () => {
  it("a former leader's store changes nothing once a newer leader holds the lease", async () => {
    const p = prefix('fence');
    const a = await lease(p, 'a:9004', 300);
    const b = await lease(p, 'b:9004', 300);
    const storeA = await store(p);
    const storeB = await store(p);
    storeA.fence((await a.acquire()) ?? -1);
    await storeA.write({ put: [record('model:x', 'from a')], del: [] });
    // a pauses past its lease; b takes over and writes.
    await sleep(400);
    storeB.fence((await b.acquire()) ?? -1);
    await storeB.write({ put: [record('model:x', 'from b'), record('model:y', 'b')], del: [] });
    await assert.rejects(
      storeA.write({ put: [record('model:x', 'stale a')], del: ['model:y'] }),
      (e: unknown) =>
        e instanceof RedisStoreError &&
        e.code === 'Fenced' &&
        e.message.includes('no longer leads'),
    );
    const records = await storeB.load();
    assert.deepEqual(records.map((r) => [r.key, r.value]).sort(), [
      ['model:x', 'from b'],
      ['model:y', 'b'],
    ]);
    await storeB.write({ put: [], del: ['model:y'] });
    assert.deepEqual(
      (await storeB.load()).map((r) => r.key),
      ['model:x'],
    );
  });
});
