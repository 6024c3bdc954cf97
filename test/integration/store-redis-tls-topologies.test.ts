/**
 * The TLS forms of the Redis topologies, on processes started here that speak only TLS to the
 * store and require client certificates: `rediss-sentinel://` (the primary and its replicas over
 * TLS) with TLS sentinels (`--redis-sentinel-tls`), and `rediss-cluster://` (the cluster bus and
 * replication over TLS too). The whole SnapshotStore contract passes on both, with replicas
 * acknowledging each write; a store without the client certificate is refused, saying so.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RedisTlsOptions } from '../../src/store/redis/client.js';
import { RedisStoreError } from '../../src/store/redis/errors.js';
import { RedisLease } from '../../src/ha/redis/lease.js';
import { openRedisStore, type RedisStoreOptions } from '../../src/store/redis/redis-store.js';
import { makePki } from '../support/pki.js';
import {
  startRedisCluster,
  startSentinelGroup,
  type RedisCluster,
  type SentinelGroup,
} from '../support/redis-topologies.js';
import { uniquePrefix } from '../support/redis.js';
import { describeSnapshotStoreContract } from '../support/store-contract.js';

const pkiDir = mkdtempSync(join(tmpdir(), 'mlsched-redis-pki-'));
const pki = makePki(pkiDir);
/** What the scheduler is given: `--redis-tls-ca`, `--redis-tls-cert`, `--redis-tls-key`. */
const ca = readFileSync(pki.ca);
const tls: RedisTlsOptions = {
  ca,
  cert: readFileSync(pki.clientCert),
  key: readFileSync(pki.clientKey),
};

let group: SentinelGroup;
let cluster: RedisCluster;
before(async () => {
  [group, cluster] = await Promise.all([
    startSentinelGroup({ tls: pki }),
    startRedisCluster({ tls: pki }),
  ]);
});
after(async () => {
  await Promise.all([group.stop(), cluster.stop()]);
  rmSync(pkiDir, { recursive: true, force: true });
});

const throughSentinels = (): Partial<RedisStoreOptions> => ({ tls, sentinel: { tls: true } });

/** A store's harness for the contract; data dies with the processes. */
const harness = (url: () => string, options: () => Partial<RedisStoreOptions>) => async () => {
  const prefix = uniquePrefix('tls-contract');
  const open = () => openRedisStore({ url: url(), prefix, ...options() });
  return { store: await open(), reopen: open, cleanup: () => Promise.resolve() };
};

describeSnapshotStoreContract(
  'rediss-sentinel:// through TLS sentinels, two replicas acknowledging each write',
  harness(
    () => group.url,
    () => ({ ...throughSentinels(), replication: { replicas: 2, timeoutMs: 2000 } }),
  ),
);
describeSnapshotStoreContract(
  'rediss-cluster://, the replica acknowledging each write',
  harness(
    () => cluster.url,
    () => ({ tls, replication: { replicas: 1, timeoutMs: 2000 } }),
  ),
);

describe('TLS to the topologies', () => {
  it('the URLs name TLS ports only', () => {
    assert.match(group.url, /^rediss-sentinel:\/\//);
    assert.match(cluster.url, /^rediss-cluster:\/\//);
  });

  it('rediss-sentinel:// through plaintext sentinels: TLS to the servers only', async () => {
    const prefix = uniquePrefix('tls-plain-sentinels');
    const store = await openRedisStore({ url: group.plainSentinelsUrl, prefix, tls });
    try {
      await store.write({ put: [{ key: 'k', schema: 1, value: 'v' }], del: [] });
      assert.deepEqual(
        (await store.load()).map((r) => r.value),
        ['v'],
      );
    } finally {
      await store.close();
    }
  });

  it('the lease is taken and renewed through TLS sentinels, replicated to both replicas', async () => {
    const lease = await RedisLease.open({
      url: group.url,
      prefix: uniquePrefix('tls-lease'),
      address: 'a:1',
      ttlMs: 3000,
      ...throughSentinels(),
      replication: { replicas: 2, timeoutMs: 1000 },
    });
    try {
      assert.equal(typeof (await lease.acquire()), 'number');
      assert.equal(await lease.renew(), true);
      assert.equal((await lease.holder())?.address, 'a:1');
    } finally {
      await lease.close();
    }
  });

  it('without a client certificate the primary and the cluster refuse the store, saying so', async () => {
    const caOnly = { ca };
    for (const options of [
      { url: group.url, tls: caOnly, sentinel: { tls: true } },
      { url: cluster.url, tls: caOnly },
    ]) {
      await assert.rejects(
        openRedisStore({ ...options, prefix: uniquePrefix('no-cert'), connectTimeoutMs: 1000 }),
        (e: unknown) => {
          assert.ok(e instanceof RedisStoreError, String(e));
          assert.ok(['Refused', 'Unavailable'].includes(e.code), e.message);
          assert.match(e.message, /client certificate.*--redis-tls-cert and --redis-tls-key/);
          return true;
        },
      );
    }
  });
});
