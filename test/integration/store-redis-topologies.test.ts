/**
 * The Redis store on Redis as production runs it, with processes started here on free ports: a
 * primary with two replicas under three sentinels, and a cluster of three primaries with a replica
 * each. The whole SnapshotStore contract passes on both; on the cluster every key of a store is in
 * one hash slot; `--redis-min-replicas` (replication) acknowledges a write only once that many
 * replicas have it, and the lease's take-over likewise.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisStoreError } from '../../src/store/redis/errors.js';
import { RedisLease } from '../../src/ha/redis/lease.js';
import { openRedisStore, type RedisStoreOptions } from '../../src/store/redis/redis-store.js';
import {
  ask,
  startRedisCluster,
  startSentinelGroup,
  type RedisCluster,
  type SentinelGroup,
} from '../support/redis-topologies.js';
import { uniquePrefix } from '../support/redis.js';
import { describeSnapshotStoreContract } from '../support/store-contract.js';

let group: SentinelGroup;
let cluster: RedisCluster;
before(async () => {
  [group, cluster] = await Promise.all([startSentinelGroup(), startRedisCluster()]);
});
after(async () => {
  await Promise.all([group.stop(), cluster.stop()]);
});

/** A store's harness for the contract; data dies with the processes. */
const harness =
  (url: () => string, options: Partial<RedisStoreOptions> = {}) =>
  async () => {
    const prefix = uniquePrefix('contract');
    const open = () => openRedisStore({ url: url(), prefix, ...options });
    return { store: await open(), reopen: open, cleanup: () => Promise.resolve() };
  };

describeSnapshotStoreContract(
  'redis through sentinels, two replicas acknowledging each write',
  harness(() => group.url, { replication: { replicas: 2, timeoutMs: 2000 } }),
);
describeSnapshotStoreContract(
  'redis cluster, the replica acknowledging each write',
  harness(() => cluster.url, { replication: { replicas: 1, timeoutMs: 2000 } }),
);

describe('replication and key layout', () => {
  it('a write that fewer replicas than asked acknowledge fails Unavailable, naming them', async () => {
    const store = await openRedisStore({
      url: group.url,
      prefix: uniquePrefix('wait'),
      replication: { replicas: 3, timeoutMs: 200 },
    });
    try {
      await assert.rejects(
        store.write({ put: [{ key: 'k', schema: 1, value: 1 }], del: [] }),
        (e: unknown) =>
          e instanceof RedisStoreError &&
          e.code === 'Unavailable' &&
          e.message.includes('reached 2 of the 3 replicas'),
      );
    } finally {
      await store.close();
    }
  });

  it('on the cluster every key of a store is in one hash slot', async () => {
    const prefix = uniquePrefix('slot');
    const store = await openRedisStore({ url: cluster.url, prefix });
    await store.write({
      put: ['a', 'b', 'model:c', 'pipeline:d'].map((key) => ({ key, schema: 1, value: key })),
      del: [],
    });
    await store.close();
    const primary = await cluster.primaryOf(`{${prefix}}`);
    const keys = (await ask(primary.port, 'KEYS', `{${prefix}}:*`)) as string[];
    assert.equal(keys.length, 5, `keys: ${keys.join(', ')}`); // four records and the index
    const slots = await Promise.all(keys.map((k) => ask(primary.port, 'CLUSTER', 'KEYSLOT', k)));
    assert.equal(new Set(slots).size, 1);
  });

  it('a lease take-over too few replicas have is given back and fails', async () => {
    const prefix = uniquePrefix('lease');
    const base = { url: group.url, prefix, address: 'a:1', ttlMs: 3000 };
    const greedy = await RedisLease.open({ ...base, replication: { replicas: 3, timeoutMs: 200 } });
    const fair = await RedisLease.open({ ...base, replication: { replicas: 2, timeoutMs: 500 } });
    try {
      await assert.rejects(greedy.acquire(), /lease take-over reached 2 of the 3 replicas/);
      assert.equal(await greedy.holder(), undefined, 'given back');
      assert.equal(typeof (await fair.acquire()), 'number');
      assert.equal(await fair.renew(), true);
    } finally {
      await Promise.all([greedy.close(), fair.close()]);
    }
  });
});
