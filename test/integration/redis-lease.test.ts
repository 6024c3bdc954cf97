/**
 * The leader lease and fencing on Redis (issue 9, part 1): one holder at a time, renewed only by
 * its holder, taken over once it expires or is released, each take-over with a larger fencing
 * token; a store fenced with an old token changes nothing once a newer leader exists. The lease
 * kept on its own thread outlives a blocked event loop, up to the stall bound or a busy spell, and
 * not the process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { KeptRedisLease } from '../../src/ha/redis/kept-lease.js';
import { RedisLease } from '../../src/ha/redis/lease.js';
import { openRedisStore, type RedisStore } from '../../src/store/redis/redis-store.js';
import { RedisStoreError } from '../../src/store/redis/errors.js';
import { freePort } from '../support/processes.js';
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
    const holder = await b.holder();
    assert.ok(holder && holder.expiresInMs > 0 && holder.expiresInMs <= 1000, 'and its time left');
    assert.equal((await b.holder())?.address, 'a:9004');
    assert.equal(await a.renew(), true);
    assert.equal(await b.renew(), false, 'a lease not held cannot be renewed');
    await a.release();
    assert.equal(await a.holder(), undefined);
    const second = await b.acquire();
    assert.equal(second, (first ?? 0) + 1);
    assert.equal((await b.holder())?.address, 'b:9004');
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
    assert.equal(
      (await b.holder())?.address,
      'b:9004',
      "a late release does not drop the new holder's lease",
    );
  });
});

describe('KeptRedisLease: the lease kept on its own thread', () => {
  async function kept(p: string, address: string, ttlMs: number, stallMs: number) {
    const l = await KeptRedisLease.open({ url: redis.url, prefix: p, address, ttlMs, stallMs });
    closers.push(() => l.close());
    return l;
  }
  /** Blocks this thread for `ms`, as a large restore or re-announcement does. */
  const block = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  };

  it('is kept while this thread is blocked for several periods, within the stall bound', async () => {
    const p = prefix('kept');
    const a = await kept(p, 'a:9004', 300, 3000);
    const b = await lease(p, 'b:9004', 300);
    const epoch = await a.acquire();
    assert.equal(typeof epoch, 'number');
    a.alive();
    block(1200); // four periods without this thread's event loop
    assert.ok(a.expires() > Date.now(), 'renewed meanwhile by its thread');
    assert.equal(await b.acquire(), undefined);
    assert.equal((await b.holder())?.address, 'a:9004');
    await a.release();
    assert.equal(a.expires(), 0);
    assert.equal(await b.acquire(), (epoch ?? 0) + 1, 'released: the next holder at once');
  });

  it('lapses when this thread is stuck past the stall bound; then it is taken over', async () => {
    const p = prefix('stuck');
    const a = await kept(p, 'a:9004', 300, 600);
    const b = await lease(p, 'b:9004', 300);
    assert.notEqual(await a.acquire(), undefined);
    a.alive();
    block(1500); // past the bound (600) and the lease period after it
    assert.ok(a.expires() < Date.now() - 300, 'not renewed for a process stuck that long');
    assert.notEqual(await b.acquire(), undefined);
    // Back, the process says it is alive: the keeper finds the lease taken over.
    a.alive();
    await sleep(300);
    assert.equal(a.expires(), 0);
  });

  it('is kept through a busy spell the process announced, past the stall bound', async () => {
    const p = prefix('busy');
    const a = await kept(p, 'a:9004', 300, 300);
    const b = await lease(p, 'b:9004', 300);
    assert.notEqual(await a.acquire(), undefined);
    a.alive(1500);
    block(1200);
    assert.ok(a.expires() > Date.now());
    assert.equal(await b.acquire(), undefined);
  });

  it('a process killed during a long busy spell loses the lease within one period', async () => {
    const p = prefix('killed');
    const b = await lease(p, 'b:9004', 500);
    // A child process takes the lease, announces a minute of work, and is SIGKILLed.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { KeptRedisLease } from ${JSON.stringify(new URL('../../src/ha/redis/kept-lease.ts', import.meta.url).href)};
         const l = await KeptRedisLease.open(${JSON.stringify({ url: redis.url, prefix: p, address: 'a:9004', ttlMs: 500, stallMs: 1000 })});
         await l.acquire();
         l.alive(60000);
         console.log('held');
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    assert.equal(line.toString().trim(), 'held');
    await sleep(700); // renewed meanwhile by its thread
    assert.equal((await b.holder())?.address, 'a:9004');
    child.kill('SIGKILL');
    const killedAt = performance.now();
    while ((await b.acquire()) === undefined) await sleep(20);
    const ms = performance.now() - killedAt;
    assert.ok(ms < 700, `taken ${Math.round(ms)} ms after the kill (lease 500 ms)`);
  });

  it('opening fails in one line when Redis cannot be reached', async () => {
    const port = await freePort();
    await assert.rejects(
      KeptRedisLease.open({
        url: `redis://127.0.0.1:${port}`,
        prefix: 'nowhere',
        address: 'a:9004',
        ttlMs: 300,
        stallMs: 1000,
      }),
      (e: unknown) =>
        e instanceof RedisStoreError &&
        e.code === 'Unavailable' &&
        /^redis lease: cannot connect: .*ECONNREFUSED/.test(e.message),
    );
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
