/**
 * A standby's warm records (issue 9, part 2): a mirror follows the change stream of a leader's
 * fenced writes and, once the leader is fenced off, gives exactly what the store holds, from
 * memory; a gap in the stream (entries trimmed before they were read) or a copy never read whole
 * falls back to reading the store, with the same result.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { StoredRecord } from '../../src/store/ports.js';
import { RedisLease } from '../../src/ha/redis/lease.js';
import { followChanges } from '../../src/ha/redis/mirror.js';
import { openRedisStore, type RedisStore } from '../../src/store/redis/redis-store.js';
import { rng } from '../support/processes.js';
import { deletePrefix, testRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

let redis: TestRedis;
let raw: Redis;
const prefixes: string[] = [];
const closers: (() => Promise<void>)[] = [];

before(async () => {
  redis = await testRedis();
  raw = new Redis(redis.url);
});
after(async () => {
  for (const close of closers) await close();
  for (const p of prefixes) await deletePrefix(redis.url, p);
  raw.disconnect();
  await redis.release();
});

/** A leader's fenced store and a standby's store on a fresh prefix. */
async function pair(name: string): Promise<{ p: string; leader: RedisStore; standby: RedisStore }> {
  const p = uniquePrefix(name);
  prefixes.push(p);
  const lease = await RedisLease.open({ url: redis.url, prefix: p, address: 'l:1', ttlMs: 5000 });
  closers.push(() => lease.close());
  const token = await lease.acquire();
  assert.ok(token !== undefined);
  const leader = await openRedisStore({ url: redis.url, prefix: p });
  const standby = await openRedisStore({ url: redis.url, prefix: p });
  closers.push(
    () => leader.close(),
    () => standby.close(),
  );
  leader.fence(token);
  return { p, leader, standby };
}

const byKey = (records: readonly StoredRecord[]) =>
  [...records].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

/** Keys with the characters the store encodes or keeps (`%`, `:`, newlines, emoji). */
const KEYS = ['model:a', 'model:%b', 'server:c d', 'pipeline:e\nf', 'experiment:😀', 'model:g'];

/** `n` random batches of puts and deletes over KEYS, written in order by the leader. */
async function randomWrites(leader: RedisStore, seed: number, n: number): Promise<void> {
  const next = rng(seed);
  const pick = () => KEYS[Math.floor(next() * KEYS.length)] ?? 'model:a';
  for (let i = 0; i < n; i++) {
    const put = Array.from({ length: Math.floor(next() * 3) }, () => ({
      key: pick(),
      schema: 1,
      value: { i, r: next() },
    }));
    const keys = new Set(put.map((r) => r.key));
    const del = Array.from({ length: Math.floor(next() * 2) }, pick).filter((k) => !keys.has(k));
    await leader.write({ put: [...new Map(put.map((r) => [r.key, r])).values()], del });
  }
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await sleep(10);
  assert.ok(ok(), what);
}

describe('a standby keeps the records warm', () => {
  it('follows fenced writes and gives what the store holds, from memory', async () => {
    const { leader, standby } = await pair('mirror');
    await leader.write({ put: [{ key: 'model:old', schema: 1, value: { v: 0 } }], del: [] });
    const mirror = followChanges(standby.changeFeed(), 5, 20);
    mirror.start();
    for (let seed = 1; seed <= 5; seed++) {
      await randomWrites(leader, seed, 40);
      await sleep(seed * 3); // sometimes caught up between bursts, sometimes not
    }
    await until('the copy is in step', () => mirror.state().synced);
    const taken = await mirror.take();
    assert.equal(taken.warm, true);
    assert.deepEqual(byKey(taken.records), byKey(await standby.load()));
    assert.equal(mirror.state().records, 0, 'the copy is let go once taken');
  });

  it('writes during the first full read are caught up', async () => {
    const { leader, standby } = await pair('mirror-first');
    const many = Array.from({ length: 3000 }, (_, i) => ({
      key: `model:m${i}`,
      schema: 1,
      value: { i },
    }));
    await leader.write({ put: many, del: [] });
    const mirror = followChanges(standby.changeFeed(), 5, 20);
    mirror.start();
    await randomWrites(leader, 7, 30); // racing the first read
    await until('the copy is in step', () => mirror.state().synced);
    const taken = await mirror.take();
    assert.equal(taken.warm, true);
    assert.deepEqual(byKey(taken.records), byKey(await standby.load()));
  });

  it('entries trimmed before they were read: the store is read whole, with the same result', async () => {
    const { p, leader, standby } = await pair('mirror-gap');
    // Polls rarely: only the first read happens before the gap.
    const mirror = followChanges(standby.changeFeed(), 60_000);
    mirror.start();
    await until('the first read is done', () => mirror.state().synced);
    await randomWrites(leader, 3, 20);
    await raw.xtrim(`${p}:changes`, 'MAXLEN', 0);
    await randomWrites(leader, 4, 5);
    const taken = await mirror.take();
    assert.equal(taken.warm, false, 'a gap is noticed');
    assert.deepEqual(byKey(taken.records), byKey(await standby.load()));
  });

  it('a copy that never finished its first read falls back to the store', async () => {
    const { leader, standby } = await pair('mirror-cold');
    await randomWrites(leader, 5, 10);
    const mirror = followChanges(standby.changeFeed());
    const taken = await mirror.take(); // never started
    assert.equal(taken.warm, false);
    assert.deepEqual(byKey(taken.records), byKey(await standby.load()));
  });

  it('after a take it follows afresh when started again (a leader standing by)', async () => {
    const { leader, standby } = await pair('mirror-again');
    const mirror = followChanges(standby.changeFeed(), 5, 20);
    mirror.start();
    await randomWrites(leader, 8, 10);
    await mirror.take();
    await randomWrites(leader, 9, 10);
    mirror.start();
    await randomWrites(leader, 10, 10);
    await until('the copy is in step', () => mirror.state().synced);
    const taken = await mirror.take();
    assert.equal(taken.warm, true);
    assert.deepEqual(byKey(taken.records), byKey(await standby.load()));
    await mirror.stop();
  });
});
