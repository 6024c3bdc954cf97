/**
 * Section 8, redis-failover: one `mlsched serve` (not --ha) on a Redis Sentinel group of its own (a
 * primary, two replicas, three sentinels, down after 1 s; test/support/redis-topologies.ts) with
 * `--redis-min-replicas 1`. LoadModel of a new model is called one at a time (2 s deadline, errors
 * ignored; no agent: the call is acknowledged once the placement is stored and replicated, even
 * though the model cannot be scheduled). The Redis primary is SIGKILLed K times (default 3); each
 * time: from the kill to the first acknowledgement of a call sent after it (and, for the JSON,
 * to the sentinels naming a new primary). The killed server is then started again (the sentinels
 * make it a replica) and both replicas are in sync before the next kill. Baseline: the scheduler
 * itself SIGKILLed and started again at once on the same healthy store, from its kill to its first acknowledged LoadModel (K times, median).
 *
 * Needs `redis-server` and `redis-sentinel` on PATH, not the shared Redis. Flag (via bench/run.ts):
 * `--redis-failover-kills K`.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, Metadata } from '@grpc/grpc-js';
import { SchedulerClient } from '../src/gen/mlops/scheduler/scheduler.js';
import { startSentinelGroup, type SentinelGroup } from '../test/support/redis-topologies.js';
import {
  benchLoadRequest,
  fmt,
  progress,
  startSchedulerProcess,
  type Child,
  type Row,
  type ServePorts,
} from './lib.js';

const CALL_DEADLINE_MS = 2000;
const ACK_TIMEOUT_MS = 60_000;

/**
 * LoadModel of fresh models on the scheduler at `port`, one call at a time, until stopped;
 * `ackedAfter(t0)` resolves with when the first call sent at or after `t0` was acknowledged.
 */
function keepLoading(port: number, prefix: string) {
  const client = new SchedulerClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const acks: { sent: number; at: number }[] = [];
  const stopped = new AbortController();
  const loop = (async () => {
    for (let i = 0; !stopped.signal.aborted; i++) {
      const sent = performance.now();
      const ok = await new Promise<boolean>((resolve) => {
        client.loadModel(
          benchLoadRequest(i, prefix),
          new Metadata(),
          { deadline: Date.now() + CALL_DEADLINE_MS },
          (err) => {
            resolve(err === null);
          },
        );
      });
      if (ok) acks.push({ sent, at: performance.now() });
      else await sleep(5); // refused at once: do not spin
    }
  })();
  return {
    async ackedAfter(t0: number): Promise<number> {
      const deadline = performance.now() + ACK_TIMEOUT_MS;
      for (;;) {
        const ack = acks.find((a) => a.sent >= t0);
        if (ack) return ack.at;
        if (performance.now() > deadline)
          throw new Error(`redis-failover: no LoadModel acknowledged in ${ACK_TIMEOUT_MS} ms`);
        await sleep(5);
      }
    },
    async stop(): Promise<void> {
      stopped.abort();
      await loop;
      client.close();
    },
  };
}

/**
 * When the sentinels first name a primary other than the one on `killed` (polled every 10 ms), or
 * NaN when they have not within a minute.
 */
async function promotion(group: SentinelGroup, killed: number): Promise<number> {
  const deadline = performance.now() + ACK_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const named = await group.primary().catch(() => undefined);
    if (named !== undefined && named.port !== killed) return performance.now();
    await sleep(10);
  }
  return NaN;
}

const median = (xs: readonly number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

export async function redisFailoverSection(o: { kills: number }): Promise<Row[]> {
  const section = 'redis-failover';
  const prefix = `bench:${randomUUID()}:redis-failover`;
  const toAck: number[] = [];
  const restarts: number[] = [];
  const toPromoted: number[] = [];
  let group: SentinelGroup | undefined;
  let scheduler: Child<ServePorts> | undefined;
  let loads: ReturnType<typeof keepLoading> | undefined;
  try {
    group = await startSentinelGroup({ downAfterMs: 1000 });
    await group.settled(2);
    const store = group.url;
    const start = () =>
      startSchedulerProcess(store, ['--redis-prefix', prefix, '--redis-min-replicas', '1']);
    scheduler = await start();
    // Baseline: the scheduler SIGKILLed and started again at once, Redis healthy.
    for (let k = 0; k < o.kills; k++) {
      const t0 = performance.now();
      await scheduler.stop(); // SIGKILL
      scheduler = await start();
      loads = keepLoading(scheduler.ready.scheduler, `rs${k}`);
      restarts.push((await loads.ackedAfter(t0)) - t0);
      await loads.stop();
      loads = undefined;
    }
    progress(
      `redis-failover: scheduler restarted ${o.kills} times, median ${fmt(median(restarts))} ms`,
    );
    for (let k = 0; k < o.kills; k++) {
      loads = keepLoading(scheduler.ready.scheduler, `rf${k}`);
      await loads.ackedAfter(performance.now()); // serving before the kill
      const primary = await group.primary();
      const t0 = performance.now();
      await primary.kill(); // SIGKILL
      const promoted = promotion(group, primary.port).then((t) => t - t0);
      toAck.push((await loads.ackedAfter(t0)) - t0);
      toPromoted.push(await promoted);
      await loads.stop();
      loads = undefined;
      progress(
        `redis-failover: kill ${k + 1}: sentinels named a new primary after ${fmt(toPromoted[k] ?? NaN)} ms, LoadModel acknowledged after ${fmt(toAck[k] ?? NaN)} ms`,
      );
      await primary.restart();
      await group.settled(2);
    }
  } finally {
    await loads?.stop();
    await scheduler?.stop();
    await group?.stop();
  }
  const baseline = median(restarts);
  const common = {
    section,
    unit: 'ms',
    baseline,
    baselineName: 'the scheduler SIGKILLed and restarted at once, median',
  };
  return [
    {
      ...common,
      figure: `Redis primary SIGKILLed ${o.kills} times (Sentinel, --redis-min-replicas 1): to the first LoadModel acknowledged, median`,
      value: median(toAck),
      detail: { toAck, toPromoted, restarts, downAfterMs: 1000 },
    },
    {
      ...common,
      figure: 'Redis primary SIGKILLed: to the first LoadModel acknowledged, max',
      value: Math.max(...toAck),
    },
  ];
}
