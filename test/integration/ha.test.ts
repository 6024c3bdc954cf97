/**
 * High availability (issue 9): three `mlsched serve --ha` processes on one Redis prefix. One
 * leads; the standbys answer every call with UNAVAILABLE naming the leader and report NOT_SERVING;
 * when the leader is killed (SIGKILL: no release of its lease) a standby leads within the lease
 * period plus a restore, with every acknowledged model; there is never more than one leader.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { SchedulerClient } from '../../src/gen/mlops/scheduler/scheduler.js';
import { call, collect, model } from '../support/harness.js';
import { alive, healthOf, killAll, serveHaWithClient, type Ports } from '../support/processes.js';
import { deletePrefix, testRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

const LEASE_MS = 600;

interface Instance {
  server: ChildProcess;
  ports: Ports;
  address: string;
  client: SchedulerClient;
}

let redis: TestRedis;
const prefix = uniquePrefix('ha');
const instances: Instance[] = [];

async function start(): Promise<Instance> {
  const i = await serveHaWithClient({ store: redis.url, prefix, leaseMs: LEASE_MS });
  instances.push(i);
  return i;
}

const health = (i: Instance) => healthOf(i.ports.http);

/** One sample of GET /metrics, or undefined when it has none. */
async function metric(i: Instance, name: string): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${i.ports.http}/metrics`);
  assert.equal(res.status, 200, 'leader and standbys serve /metrics');
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

/** The instances whose /health says they lead. */
async function leaders(): Promise<Instance[]> {
  const live = instances.filter((i) => alive(i.server));
  const codes = await Promise.all(live.map(async (i) => (await health(i)).code));
  return live.filter((_, k) => codes[k] === 200);
}

async function oneLeader(timeoutMs: number): Promise<Instance> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await leaders();
    assert.ok(
      now.length <= 1,
      `${now.length} leaders at once: ${now.map((i) => i.address).join(', ')}`,
    );
    const [leader] = now;
    if (leader) return leader;
    if (Date.now() > deadline) throw new Error(`no leader within ${timeoutMs} ms`);
    await sleep(25);
  }
}

before(async () => {
  redis = await testRedis();
  await start();
  await start();
  await start();
});

after(async () => {
  for (const i of instances) i.client.close();
  killAll();
  await deletePrefix(redis.url, prefix);
  await redis.release();
});

describe('three schedulers on one Redis', () => {
  it('one leads; the standbys refuse calls naming it and say NOT_SERVING', async () => {
    const leader = await oneLeader(5000);
    for (const i of instances.filter((x) => x !== leader)) {
      const h = await health(i);
      assert.equal(h.code, 503);
      assert.equal(h.body['status'], 'NOT_SERVING');
      assert.equal(h.body['leader'], leader.address);
      await assert.rejects(
        call(i.client.loadModel.bind(i.client), model('refused')),
        (e: ServiceError) =>
          e.code === grpcStatus.UNAVAILABLE &&
          e.details === `this scheduler is a standby; the leader is at ${leader.address}`,
      );
      // Its metrics say so: the process's and leadership's, none of the scheduler's.
      assert.equal(await metric(i, 'mlsched_ha_leader'), 0);
      assert.equal(await metric(i, 'mlsched_ha_terms_total'), 0);
      assert.ok(((await metric(i, 'mlsched_process_resident_memory_bytes')) ?? 0) > 0);
      assert.equal(await metric(i, 'mlsched_dataflow_engines'), undefined);
    }
    assert.equal(await metric(leader, 'mlsched_ha_leader'), 1);
    assert.equal(await metric(leader, 'mlsched_ha_terms_total'), 1);
    assert.equal(await metric(leader, 'mlsched_dataflow_engines'), 0);
  });

  it('a standby leads with every acknowledged model after the leader is SIGKILLed, twice', async () => {
    let leader = await oneLeader(5000);
    const loaded: string[] = [];
    for (let round = 0; round < 2; round++) {
      for (let k = 0; k < 20; k++) {
        const name = `m-${round}-${k}`;
        await call(leader.client.loadModel.bind(leader.client), model(name));
        loaded.push(name);
      }
      const killed = leader;
      const t0 = performance.now();
      killed.server.kill('SIGKILL');
      await once(killed.server, 'exit');
      leader = await oneLeader(5000);
      const ms = performance.now() - t0;
      assert.notEqual(leader, killed);
      assert.ok(ms < 2000, `take-over took ${Math.round(ms)} ms`);
      // It restored from what it kept warm while standing by, not by reading the whole store.
      const { restored } = (await health(leader)).body as { restored?: { from: string } };
      assert.equal(restored?.from, 'standby memory');
      const takeover = await metric(leader, 'mlsched_ha_last_takeover_seconds');
      assert.ok(takeover !== undefined && takeover > 0 && takeover < 2, `${takeover} s`);
      const names = (
        await collect(leader.client.modelStatus({ subscriberName: 't', allVersions: false }))
      ).map((m) => m.modelName);
      for (const name of loaded) assert.ok(names.includes(name), `${name} lost at round ${round}`);
      // A restarted instance joins as a standby.
      await start();
    }
    await oneLeader(1000);
  });

  it('a leader paused past its lease (SIGSTOP) stands by when it resumes and writes nothing', async () => {
    const paused = await oneLeader(5000);
    paused.server.kill('SIGSTOP');
    try {
      const next = await oneLeaderBut(paused, 5000);
      await call(next.client.loadModel.bind(next.client), model('while-paused'));
    } finally {
      paused.server.kill('SIGCONT');
    }
    // Resumed: its overdue lease deadline fires before it reads any request.
    await assert.rejects(
      call(paused.client.loadModel.bind(paused.client), model('stale-write')),
      (e: ServiceError) => e.code === grpcStatus.UNAVAILABLE,
    );
    assert.equal((await health(paused)).code, 503);
    const leader = await oneLeader(5000);
    const names = (
      await collect(leader.client.modelStatus({ subscriberName: 't', allVersions: false }))
    ).map((m) => m.modelName);
    assert.ok(names.includes('while-paused'));
    assert.ok(!names.includes('stale-write'));
  });
});

/** The one leader other than `not` (polled while `not` cannot answer). */
async function oneLeaderBut(not: Instance, timeoutMs: number): Promise<Instance> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const others = instances.filter((i) => i !== not && alive(i.server));
    const codes = await Promise.all(others.map(async (i) => (await health(i)).code));
    const now = others.filter((_, k) => codes[k] === 200);
    assert.ok(now.length <= 1, `${now.length} leaders at once`);
    if (now[0]) return now[0];
    if (Date.now() > deadline) throw new Error(`no other leader within ${timeoutMs} ms`);
    await sleep(25);
  }
}
