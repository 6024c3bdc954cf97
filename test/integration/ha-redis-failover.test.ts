/**
 * Issue 20, part 4: Redis's own failures under `mlsched serve --ha` with `--redis-min-replicas 1`.
 * Three schedulers and a simulated agent under a storm of LoadModel calls while the Redis primary is
 * SIGKILLed: under Sentinel (a primary, two replicas, three sentinels), the same with every link
 * over TLS with client certificates, and on a cluster (the primary of the store's hash slot). The
 * sentinels or the cluster promote a replica and the schedulers follow. Checked: no poll ever sees
 * two leaders, and every LoadModel answered OK is listed at the end, and ends Available. Also: with
 * one replica and `--redis-min-replicas 1`, losing the replica makes changes fail UNAVAILABLE until
 * a replica is back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it, type TestContext } from 'node:test';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { Schedulers } from '../../src/cli/client.js';
import type { SimulatedAgent } from '../../src/sim/agent.js';
import { makePki } from '../support/pki.js';
import { killAll, serve, serveHa } from '../support/processes.js';
import {
  ask,
  startRedisCluster,
  startSentinelGroup,
  until,
  type RedisCluster,
  type SentinelGroup,
} from '../support/redis-topologies.js';
import { startRedisServer, uniquePrefix } from '../support/redis.js';
import {
  checkAcknowledged,
  followingAgent,
  leadersOf,
  loadVia,
  startStorm,
  statusesVia,
  type Instance,
} from '../support/storm.js';

const LEASE_MS = 1000;

after(() => {
  killAll();
});

/**
 * Three `serve --ha` on `store` and an agent; a storm of LoadModel calls during which `kill` runs
 * (SIGKILLs the Redis primary of the store's keys and waits until Redis serves again); then the
 * checks.
 */
async function stormThroughFailover(
  t: TestContext,
  store: string,
  kill: (prefix: string) => Promise<void>,
  storeArgs: readonly string[] = [],
): Promise<void> {
  const prefix = uniquePrefix('ha-redis-failover');
  const instances: Instance[] = [];
  for (let k = 0; k < 3; k++) {
    instances.push(
      await serveHa({
        store,
        prefix,
        leaseMs: LEASE_MS,
        args: ['--redis-min-replicas', '1', '--redis-wait-ms', '500', ...storeArgs],
      }),
    );
  }
  let agent: SimulatedAgent | undefined;
  const schedulers = new Schedulers(instances.map((i) => `127.0.0.1:${i.ports.scheduler}`));
  try {
    agent = await followingAgent(instances);
    await until('a leader', async () => (await leadersOf(instances)).length === 1);
    const storm = startStorm(schedulers, instances);
    await sleep(1500);
    const before = storm.acknowledged.length;
    await kill(prefix);
    // Serving again: calls are acknowledged after the failover.
    await until('a LoadModel acknowledged after the failover', () =>
      Promise.resolve(storm.acknowledged.length > before + 10),
    );
    await sleep(1000);
    const { acknowledged, refused, leadersSeen } = await storm.stop();
    // The listing goes to whoever leads: after the failover a lease may still change hands (a
    // replica resyncing from the new primary holds up WAIT, and so a renewal, for a moment).
    const stopped = performance.now();
    await until(
      'a leader to list the models',
      async () => (await leadersOf(instances)).length === 1,
    );
    const waited = Math.round(performance.now() - stopped);
    const unavailable = await checkAcknowledged(schedulers, acknowledged);
    t.diagnostic(
      `${acknowledged.length} loads acknowledged (${before} before the kill), ${refused} refused, ` +
        `all ${acknowledged.length} found at the end, leaders seen: ${leadersSeen}, never two at once; ` +
        `a leader to list them after ${waited} ms`,
    );
    assert.ok(before > 10, `only ${before} loads acknowledged before the kill`);
    assert.deepEqual(unavailable, [], 'acknowledged models not Available');
  } finally {
    schedulers.close();
    await agent?.stop();
    for (const i of instances) i.server.kill('SIGKILL');
  }
}

describe('the Redis primary SIGKILLed during a load storm', () => {
  it('under Sentinel: a replica promoted, the schedulers follow, nothing acknowledged lost', async (t) => {
    const group: SentinelGroup = await startSentinelGroup({ replicas: 2, downAfterMs: 1000 });
    try {
      await stormThroughFailover(t, group.url, async () => {
        const old = await group.primary();
        await old.kill();
        await group.settled(1);
      });
    } finally {
      await group.stop();
    }
  });

  it('under Sentinel, every link over TLS with client certificates: the same', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'mlsched-redis-pki-'));
    const pki = makePki(dir);
    const group = await startSentinelGroup({ replicas: 2, downAfterMs: 1000, tls: pki });
    try {
      await stormThroughFailover(
        t,
        group.url,
        async () => {
          const old = await group.primary();
          await old.kill();
          await group.settled(1);
        },
        [
          ...['--redis-sentinel-tls', '--redis-tls-ca', pki.ca],
          ...['--redis-tls-cert', pki.clientCert, '--redis-tls-key', pki.clientKey],
        ],
      );
    } finally {
      await group.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on a cluster: the slot primary replaced by its replica, nothing acknowledged lost', async (t) => {
    const cluster: RedisCluster = await startRedisCluster({ nodeTimeoutMs: 1000 });
    try {
      await stormThroughFailover(t, cluster.url, async (prefix) => {
        // Every key of the store is under the hash tag {prefix}: kill the primary serving it.
        const old = await cluster.primaryOf(`{${prefix}}`);
        await old.kill();
        let promoted = old;
        await until('a replica promoted for the slot', async () => {
          promoted = await cluster.primaryOf(`{${prefix}}`);
          return promoted !== old;
        });
        // The promoted replica has no replica of its own, so with --redis-min-replicas 1 nothing
        // is acknowledged until the old primary is back, rejoining as its replica.
        await old.restart();
        await cluster.healthy();
        await until('the old primary replicating the new one', async () =>
          /connected_slaves:[1-9]/.test(String(await ask(promoted.port, 'INFO', 'replication'))),
        );
      });
    } finally {
      await cluster.stop();
    }
  });
});

describe('--redis-min-replicas 1 with the only replica lost', () => {
  it('refuses changes UNAVAILABLE until a replica is back', async () => {
    const primary = await startRedisServer();
    const replicaArgs = ['--replicaof', '127.0.0.1', String(primary.port)];
    let replica = await startRedisServer({ args: replicaArgs });
    const { server, ports } = await serve({
      store: primary.url,
      args: ['--redis-prefix', uniquePrefix('min-replicas'), '--redis-min-replicas', '1'],
    });
    const schedulers = new Schedulers([`127.0.0.1:${ports.scheduler}`]);
    try {
      await until('a LoadModel acknowledged with the replica in sync', () =>
        loadVia(schedulers, 'with-replica').then(() => true),
      );
      await replica.kill();
      const refusal = await loadVia(schedulers, 'without-replica').then(
        () => assert.fail('acknowledged with no replica to have it'),
        (e: unknown) => e as ServiceError,
      );
      assert.equal(refusal.code, GrpcStatus.UNAVAILABLE, refusal.message);
      assert.match(refusal.details, /0 of the 1 replicas/);
      replica = await startRedisServer({ port: replica.port, args: replicaArgs });
      await until('a LoadModel acknowledged once the replica is back', () =>
        loadVia(schedulers, 'replica-back').then(() => true),
      );
      const names = (await statusesVia(schedulers)).map((m) => m.modelName);
      assert.ok(names.includes('with-replica') && names.includes('replica-back'));
    } finally {
      schedulers.close();
      server.kill('SIGKILL');
      await Promise.all([replica.stop(), primary.stop()]);
    }
  });
});
