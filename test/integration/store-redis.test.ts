/**
 * The Redis store against a real Redis: the SnapshotStore contract (test/support/store-contract.ts)
 * under a unique key prefix per test, plus what only the Redis store promises: one round trip per
 * batch, a 10,000-record load, isolated prefixes, the key layout, AUTH and db selection from the
 * URL, and what happens while Redis is stopped, restarted, frozen or refusing writes (on private
 * `redis-server` processes, so the shared one is untouched).
 *
 * "Records survive an outage" is shown two ways, since a private server keeps nothing on disk: a
 * frozen server (SIGSTOP/SIGCONT: the connection hangs like a network partition, then the same
 * server answers again with its data), and a real restart of a server with AOF persistence.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { StoredRecord, WriteBatch } from '../../src/store/ports.js';
import { RedisStoreError } from '../../src/store/redis/errors.js';
import {
  openRedisStore,
  type RedisStore,
  type RedisStoreLogger,
  type RedisStoreOptions,
} from '../../src/store/redis/redis-store.js';
import {
  deletePrefix,
  startRedisServer,
  testRedis,
  uniquePrefix,
  type RedisServer,
  type TestRedis,
} from '../support/redis.js';
import { describeSnapshotStoreContract } from '../support/store-contract.js';

let redis: TestRedis;
before(async () => {
  redis = await testRedis();
});
after(async () => {
  await redis.release();
});

const rec = (key: string, value: unknown, schema = 1): StoredRecord => ({ key, schema, value });
const put = (...records: StoredRecord[]): WriteBatch => ({ put: records, del: [] });
const byKey = (records: StoredRecord[]) =>
  [...records].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

/** Polls `condition` every 20 ms; rejects naming `what` after `timeoutMs`. */
async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
  return performance.now() - start;
}

/** Resolves with how long `promise` took to reject, and its error. Fails when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<{ ms: number; error: Error }> {
  const start = performance.now();
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof Error);
    return { ms: performance.now() - start, error: e };
  }
  assert.fail('expected a rejection');
}

/** A logger that records what it was told. */
function recordingLogger(): RedisStoreLogger & { warns: string[]; infos: string[] } {
  const warns: string[] = [];
  const infos: string[] = [];
  return {
    warns,
    infos,
    warn: (_o, m) => warns.push(m),
    info: (_o, m) => infos.push(m),
  };
}

/** Stores opened by one test, and their prefixes, closed and deleted by `cleanup`. */
function opener(url: () => string) {
  const stores: RedisStore[] = [];
  const prefixes = new Set<string>();
  return {
    open: async (prefix: string, options: Partial<RedisStoreOptions> = {}) => {
      prefixes.add(prefix);
      const store = await openRedisStore({ url: url(), prefix, ...options });
      stores.push(store);
      return store;
    },
    cleanup: async () => {
      for (const store of stores.splice(0)) await store.close();
      for (const prefix of prefixes) await deletePrefix(url(), prefix);
      prefixes.clear();
    },
  };
}

describeSnapshotStoreContract('redis', async () => {
  const prefix = uniquePrefix('contract');
  const { url } = redis;
  return {
    store: await openRedisStore({ url, prefix }),
    reopen: () => openRedisStore({ url, prefix }),
    cleanup: async () => {
      await deletePrefix(url, prefix);
    },
  };
});

describe('RedisStore on a shared Redis', () => {
  const stores = opener(() => redis.url);
  after(() => stores.cleanup());

  it('sends each batch as one round trip (one MULTI/EXEC), and nothing for empty or bad ones', async () => {
    const store = await stores.open(uniquePrefix('round-trips'));
    const many = Array.from({ length: 500 }, (_, i) => rec(`model:m${i}`, { i }));
    const batches: WriteBatch[] = [
      put(rec('a', 1)),
      put(...many),
      { put: [], del: ['a'] },
      { put: [rec('b', 2), rec('c', 3)], del: ['model:m1', 'model:m2', 'missing'] },
    ];
    for (const batch of batches) {
      const before = store.roundTrips;
      await store.write(batch);
      assert.equal(store.roundTrips - before, 1);
    }
    const before = store.roundTrips;
    await store.write({ put: [], del: [] });
    await assert.rejects(store.write(put(rec('', 1))), { code: 'Invalid' });
    assert.equal(store.roundTrips, before);
  });

  it('loads 10,000 records in two round trips (SMEMBERS + one pipeline of MGETs)', async (t) => {
    const store = await stores.open(uniquePrefix('load-10k'));
    const expected: StoredRecord[] = [];
    for (let b = 0; b < 10; b++) {
      const batch = Array.from({ length: 1_000 }, (_, i) =>
        rec(`model:m${String(b * 1_000 + i).padStart(5, '0')}`, {
          n: b * 1_000 + i,
          spec: { replicas: 1, memory: 1_000_000, requirements: ['sklearn'] },
          text: 'x'.repeat(100),
        }),
      );
      expected.push(...batch);
      await store.write(put(...batch));
    }
    const before = store.roundTrips;
    const start = performance.now();
    const records = await store.load();
    const ms = performance.now() - start;
    const trips = store.roundTrips - before;
    t.diagnostic(`load of 10,000 records: ${ms.toFixed(1)} ms, ${trips} round trips`);
    assert.equal(trips, 2);
    assert.deepEqual(byKey(records), expected);
  });

  it('keeps stores with different prefixes apart', async () => {
    const a = await stores.open(uniquePrefix('tenant-a'));
    const b = await stores.open(uniquePrefix('tenant-b'));
    await a.write(put(rec('model:shared', 'from a'), rec('model:only-a', 1)));
    await b.write(put(rec('model:shared', 'from b'), rec('model:only-b', 2)));
    await a.write({ put: [], del: ['model:shared'] });
    assert.deepEqual(byKey(await a.load()), [rec('model:only-a', 1)]);
    assert.deepEqual(byKey(await b.load()), [
      rec('model:only-b', 2),
      rec('model:shared', 'from b'),
    ]);
  });

  it('keeps one string per record under <prefix>:r:<key> and an index set <prefix>:keys', async () => {
    const prefix = uniquePrefix('layout');
    const store = await stores.open(prefix);
    await store.write(put(rec('model:iris', { replicas: 2 }, 3), rec('server:mlserver', null)));
    const raw = new Redis(redis.url);
    try {
      assert.equal(await raw.get(`${prefix}:r:model:iris`), '{"schema":3,"value":{"replicas":2}}');
      assert.deepEqual((await raw.smembers(`${prefix}:keys`)).sort(), [
        'model:iris',
        'server:mlserver',
      ]);
      await store.write({ put: [], del: ['model:iris'] });
      assert.equal(await raw.exists(`${prefix}:r:model:iris`), 0);
      assert.deepEqual(await raw.smembers(`${prefix}:keys`), ['server:mlserver']);
    } finally {
      raw.disconnect();
    }
  });

  it('round-trips any key string, without collisions (%, lone surrogates, newlines)', async () => {
    const store = await stores.open(uniquePrefix('keys'));
    const keys = [
      '%',
      '%25',
      '%uD800',
      '\uD800',
      '\uDC00x',
      'x\uD83D',
      '🎉',
      'a:b:c',
      ':r:',
      'line\nbreak',
      ' ',
      '*?[glob]\\',
      'k'.repeat(1024),
    ];
    const records = keys.map((key, i) => rec(key, i));
    await store.write(put(...records));
    assert.deepEqual(byKey(await store.load()), byKey(records));
    await store.write({ put: [], del: ['\uD800', '%'] });
    assert.deepEqual(
      byKey(await store.load()),
      byKey(records.filter((r) => r.key !== '\uD800' && r.key !== '%')),
    );
  });

  it('refuses a bad batch before sending anything', async () => {
    const store = await stores.open(uniquePrefix('invalid'));
    await store.write(put(rec('kept', 1)));
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    for (const batch of [
      put(rec('ok', 1), rec('k'.repeat(1025), 1)),
      put(rec('ok', 1), rec('bad-schema', 1, Number.NaN)),
      put(rec('ok', 1), rec('cyclic', cyclic)),
      put(rec('ok', 1), rec('undefined', undefined)),
      { put: [rec('ok', 1)], del: [''] },
    ]) {
      await assert.rejects(store.write(batch), (e: unknown) => {
        assert.ok(e instanceof RedisStoreError);
        assert.equal(e.code, 'Invalid');
        return true;
      });
    }
    assert.deepEqual(await store.load(), [rec('kept', 1)]);
  });

  it('refuses to load a record that is not an envelope, naming it', async () => {
    const prefix = uniquePrefix('corrupt');
    const store = await stores.open(prefix);
    await store.write(put(rec('good', 1)));
    const raw = new Redis(redis.url);
    try {
      await raw
        .multi()
        .set(`${prefix}:r:model:bad`, 'not json')
        .sadd(`${prefix}:keys`, 'model:bad')
        .exec();
    } finally {
      raw.disconnect();
    }
    await assert.rejects(store.load(), { code: 'Corrupt', message: /model:bad/ });
  });
});

describe('RedisStore when Redis fails', () => {
  let server: RedisServer | undefined;
  const stores = opener(() => {
    assert.ok(server);
    return server.url;
  });
  const dirs: string[] = [];
  after(async () => {
    await stores.cleanup().catch(() => undefined);
    await server?.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('stopped: writes and loads fail fast, health says unreachable, one warning', async () => {
    server = await startRedisServer();
    const logger = recordingLogger();
    const store = await stores.open(uniquePrefix('stopped'), { logger });
    await store.write(put(rec('before', 1)));
    await server.stop();
    await waitFor('health to turn', () => !store.health().ok, 2_000);
    assert.match(store.health().detail, /^redis unreachable: /);

    for (let i = 0; i < 3; i++) {
      const { ms, error } = await rejection(store.write(put(rec('during', i))));
      assert.ok(ms < 3_000, `write rejected after ${ms} ms`);
      assert.ok(error instanceof RedisStoreError);
      assert.equal(error.code, 'Unavailable');
      assert.match(error.message, /redis unreachable \(redis:\/\/127\.0\.0\.1:\d+\): write failed/);
    }
    await assert.rejects(store.load(), { code: 'Unavailable' });
    // Let the client go through several reconnect attempts (100, 200, 400 ms...): still one warning.
    await sleep(1_000);
    assert.equal(store.health().ok, false);
    assert.deepEqual(logger.warns, [
      'redis store: redis unreachable, writes fail until it is back',
    ]);
    assert.deepEqual(logger.infos, []);

    // Back (an empty server: this one keeps nothing on disk): writes succeed again.
    await server.restart();
    const ms = await waitFor('health to recover', () => store.health().ok, 5_000);
    assert.ok(ms < 5_000);
    await store.write(put(rec('after', 2)));
    assert.deepEqual(await store.load(), [rec('after', 2)]);
    assert.deepEqual(logger.infos, ['redis store: redis reachable again']);
    assert.equal(logger.warns.length, 1);
    await stores.cleanup();
    await server.stop();
  });

  it('restarted with persistence (AOF): the records written before are still there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlsched-redis-'));
    dirs.push(dir);
    server = await startRedisServer({
      args: ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir],
    });
    const store = await stores.open(uniquePrefix('aof'));
    await store.write(put(rec('model:a', { v: 1 }), rec('model:b', { v: 2 })));
    await store.write({ put: [rec('model:c', { v: 3 })], del: ['model:a'] });
    await server.restart();
    await waitFor('health to recover', () => store.health().ok, 5_000);
    assert.deepEqual(byKey(await store.load()), [
      rec('model:b', { v: 2 }),
      rec('model:c', { v: 3 }),
    ]);
    await store.write(put(rec('model:d', { v: 4 })));
    assert.equal((await store.load()).length, 3);
    await stores.cleanup();
    await server.stop();
  });

  it('frozen (SIGSTOP, like a network partition): writes time out, then all is back', async () => {
    server = await startRedisServer();
    const logger = recordingLogger();
    const store = await stores.open(uniquePrefix('frozen'), {
      logger,
      commandTimeoutMs: 500,
      probeIntervalMs: 200,
    });
    await store.write(put(rec('model:a', 'before'), rec('k', 0)));

    server.pause();
    const { ms, error } = await rejection(store.write(put(rec('k', 1))));
    assert.ok(ms < 3_000, `write rejected after ${ms} ms`);
    assert.match(error.message, /^redis unreachable .*Command timed out/);
    assert.equal(store.health().ok, false);
    assert.match(store.health().detail, /^redis unreachable: /);
    await assert.rejects(store.load(), { code: 'Unavailable' });

    server.resume();
    await waitFor('health to recover', () => store.health().ok, 3_000);
    // The timed-out batch (k=1) was still applied when Redis woke up: allowed ("may or may not be
    // applied"), and it cannot overtake a later batch, since both go through the one connection.
    await store.write(put(rec('k', 2)));
    assert.deepEqual(byKey(await store.load()), [rec('k', 2), rec('model:a', 'before')]);
    assert.deepEqual(logger.warns, [
      'redis store: redis unreachable, writes fail until it is back',
    ]);
    assert.deepEqual(logger.infos, ['redis store: redis reachable again']);
    await stores.cleanup();
    await server.stop();
  });

  it('refusing writes (OOM): write rejects Refused, health says so until a write succeeds', async () => {
    server = await startRedisServer();
    const logger = recordingLogger();
    const store = await stores.open(uniquePrefix('oom'), { logger });
    await store.write(put(rec('model:a', 1)));
    const admin = new Redis(server.url);
    try {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      const { error } = await rejection(store.write(put(rec('model:b', 'x'.repeat(1_000)))));
      assert.ok(error instanceof RedisStoreError);
      assert.equal(error.code, 'Refused');
      assert.match(error.message, /OOM|EXECABORT/);
      assert.equal(store.health().ok, false);
      assert.match(store.health().detail, /^redis refused writes: /);
      assert.deepEqual(await store.load(), [rec('model:a', 1)], 'reads still work');
      assert.equal(store.health().ok, false, 'a read does not clear a write refusal');

      await admin.config('SET', 'maxmemory', '0');
      await store.write(put(rec('model:b', 2)));
      assert.equal(store.health().ok, true);
      assert.deepEqual(logger.warns, ['redis store: redis refuses writes']);
      assert.deepEqual(logger.infos, ['redis store: redis accepts writes again']);
    } finally {
      admin.disconnect();
    }
    await stores.cleanup();
    await server.stop();
  });

  it('authenticates with redis://:password@host:port/db, and refuses a wrong password', async () => {
    const password = 'p@ss:w/rd';
    server = await startRedisServer({ password });
    const prefix = uniquePrefix('auth');
    const store = await stores.open(prefix, { url: `${server.url}/2` });
    await store.write(put(rec('model:a', 1)));
    assert.deepEqual(await store.load(), [rec('model:a', 1)]);
    assert.doesNotMatch(store.health().detail, /p@ss/);
    const raw = new Redis(`${server.url}/2`);
    try {
      assert.equal(await raw.exists(`${prefix}:r:model:a`), 1, 'the record is in db 2');
      await raw.select(0);
      assert.equal(await raw.exists(`${prefix}:r:model:a`), 0, 'and not in db 0');
    } finally {
      raw.disconnect();
    }

    const wrong = await rejection(
      openRedisStore({ url: `redis://:wrong@127.0.0.1:${server.port}`, prefix }),
    );
    assert.ok(wrong.error instanceof RedisStoreError);
    assert.equal(wrong.error.code, 'Refused');
    assert.match(wrong.error.message, /WRONGPASS/);
    assert.doesNotMatch(wrong.error.message, /wrong@/);
    const none = await rejection(
      openRedisStore({ url: `redis://127.0.0.1:${server.port}`, prefix }),
    );
    assert.ok(none.error instanceof RedisStoreError);
    assert.equal(none.error.code, 'Refused');
    await stores.cleanup();
    await server.stop();
  });

  it('refuses to open when nothing listens, quickly and saying so', async () => {
    const stopped = await startRedisServer();
    await stopped.stop();
    const { ms, error } = await rejection(openRedisStore({ url: stopped.url, prefix: 'p' }));
    assert.ok(ms < 3_000, `open rejected after ${ms} ms`);
    assert.ok(error instanceof RedisStoreError);
    assert.equal(error.code, 'Unavailable');
    assert.match(
      error.message,
      /redis unreachable \(redis:\/\/127\.0\.0\.1:\d+\/?\): .*ECONNREFUSED/,
    );
  });
});
