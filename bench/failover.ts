/**
 * Section 7, failover (issue 9): three `mlsched serve --ha` processes on one Redis prefix holding
 * N models. The leader is SIGKILLed K times (default 20); each time: the time from the kill until
 * a standby answers /health 200 (leading and serving), and until ModelStatus of every model
 * answers from it, and until a model loaded through it is Available (the simulated agent, given
 * the three addresses, has reconnected to it and takes loads). The killed one is started again, on
 * its ports, as a standby. Baseline: what a
 * single scheduler takes to serve again on the same Redis when restarted at once (process start
 * to /health 200), the best a one-replica deployment could do without the time its orchestrator
 * needs to notice and restart it.
 *
 * Each size of `--failover-models` (default 10,000 and 100,000) runs on fresh instances; the first
 * takes K kills, larger ones 3.
 *
 * Needs Redis: `REDIS_URL`, else redis://127.0.0.1:6379. Flags (via bench/run.ts):
 * `--failover-kills K`, `--failover-models 10000,100000`.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, status } from '@grpc/grpc-js';
import { ModelStatus_ModelState, SchedulerClient } from '../src/gen/mlops/scheduler/scheduler.js';
import { startSimulatedAgent, type SimulatedAgent } from '../src/sim/agent.js';
import { loadModel, modelStatus } from './cluster.js';
import {
  benchLoadRequest,
  deleteRedisPrefix,
  fleet,
  fmt,
  inFlight,
  progress,
  startSchedulerProcess,
  type Child,
  type Row,
  type ServePorts,
} from './lib.js';

const LEASE_MS = 1000;
/** Replicas of the simulated agent that follows the leader. */
const AGENT_REPLICAS = 2;

/**
 * Loads a small model the agent can hold on the scheduler at `address` and resolves once it is
 * Available: proof that the agent is connected to that scheduler and takes loads from it.
 */
async function probe(
  address: string,
  name: string,
  requirements: readonly string[],
): Promise<void> {
  const client = new SchedulerClient(address, credentials.createInsecure());
  try {
    await loadModel(client, {
      model: {
        meta: { name },
        modelSpec: {
          uri: `gs://probe/${name}`,
          requirements: [...requirements],
          parameters: [],
          memoryBytes: 1n,
        },
        deploymentSpec: { replicas: 1, minReplicas: 0, maxReplicas: 0, logPayloads: false },
      },
    });
    const deadline = performance.now() + 60_000;
    while (
      (await modelStatus(client, name)).versions.at(-1)?.state?.state !==
      ModelStatus_ModelState.ModelAvailable
    ) {
      if (performance.now() > deadline)
        throw new Error(`failover: probe ${name} not Available in 60 s`);
      await sleep(10);
    }
  } finally {
    client.close();
  }
}

async function healthy(http: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${http}/health`)).status === 200;
  } catch {
    return false;
  }
}

function countModels(address: string): Promise<number> {
  const client = new SchedulerClient(address, credentials.createInsecure());
  return new Promise<number>((resolve, reject) => {
    let n = 0;
    client
      .modelStatus({ subscriberName: 'bench', allVersions: false })
      .on('data', () => n++)
      .on('error', reject)
      .on('end', () => {
        resolve(n);
      });
  }).finally(() => {
    client.close();
  });
}

const median = (xs: readonly number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** Kills at each size after the first: enough for a median, within minutes at 100,000 models. */
const LARGE_KILLS = 3;

export async function failoverSection(o: {
  kills: number;
  models: readonly number[];
}): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [i, models] of o.models.entries()) {
    rows.push(...(await failoverRun({ kills: i === 0 ? o.kills : LARGE_KILLS, models })));
  }
  return rows;
}

async function failoverRun(o: { kills: number; models: number }): Promise<Row[]> {
  const section = 'failover';
  const size = `${o.models} models`;
  const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const prefix = `bench:${randomUUID()}:failover`;
  const ha = ['--ha', '--lease-ms', String(LEASE_MS), '--redis-prefix', prefix];
  const instances: Child<ServePorts>[] = [];
  /** A scheduler; given `ports`, where a killed one was (the agent knows it there). */
  const start = async (ports?: ServePorts) => {
    const at = ports
      ? ['--scheduler-port', ports.scheduler, '--agent-port', ports.agent]
          .concat(['--dataflow-port', ports.dataflow, '--http-port', ports.http])
          .map(String)
      : [];
    const c = await startSchedulerProcess(url, [...ha, ...at]);
    instances.push(c);
    return c;
  };
  const leader = async (timeoutMs: number) => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      for (const c of instances) {
        if (
          c.process.exitCode === null &&
          c.process.signalCode === null &&
          (await healthy(c.ready.http))
        )
          return c;
      }
      if (performance.now() > deadline)
        throw new Error(`failover: no leader within ${timeoutMs} ms`);
      await sleep(10);
    }
  };
  const toServing: number[] = [];
  const toModels: number[] = [];
  const toAgent: number[] = [];
  let restartMs = NaN;
  /** Leader changes while loading that no kill caused (a leader that could not renew in time). */
  let unplanned = 0;
  let agent: SimulatedAgent | undefined;
  try {
    for (let i = 0; i < 3; i++) await start();
    const server = fleet(AGENT_REPLICAS, o.models)[0];
    if (!server) throw new Error('failover: no fleet');
    agent = await startSimulatedAgent({
      schedulerHost: instances.map((c) => `127.0.0.1:${c.ready.agent}`).join(','),
      agentPort: 1,
      server: server.name,
      replicaIdxs: Array.from({ length: AGENT_REPLICAS }, (_, i) => i),
      memoryBytes: server.memoryBytes,
      capabilities: server.capabilities,
      overCommitPercentage: 10,
      loadMs: 0,
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    let current = await leader(10_000);
    progress(`failover: loading ${o.models} models`);
    let client = new SchedulerClient(
      `127.0.0.1:${current.ready.scheduler}`,
      credentials.createInsecure(),
    );
    // Like the leader-following client: a call a standby refuses goes to whoever leads now.
    const loadFollowing = async (i: number): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        const used = client;
        try {
          await loadModel(used, benchLoadRequest(i, 'fo'));
          return;
        } catch (e) {
          if ((e as { code?: unknown }).code !== status.UNAVAILABLE || attempt === 20) throw e;
          const next = await leader(10_000);
          if (client === used && next !== current) {
            unplanned++;
            current = next;
            used.close();
            client = new SchedulerClient(
              `127.0.0.1:${next.ready.scheduler}`,
              credentials.createInsecure(),
            );
          }
        }
      }
    };
    await inFlight(16, loadFollowing, { count: o.models });
    client.close();
    if (unplanned > 0)
      progress(`failover: ${unplanned} leader changes nobody caused while loading`);
    for (let k = 0; k < o.kills; k++) {
      const t0 = performance.now();
      await current.stop(); // SIGKILL
      const next = await leader(10_000);
      toServing.push(performance.now() - t0);
      const n = await countModels(`127.0.0.1:${next.ready.scheduler}`);
      toModels.push(performance.now() - t0);
      if (n < o.models) throw new Error(`failover: ${n} of ${o.models} models after kill ${k + 1}`);
      await probe(
        `127.0.0.1:${next.ready.scheduler}`,
        `probe-${k}`,
        server.capabilities.slice(0, 1),
      );
      toAgent.push(performance.now() - t0);
      await start(current.ready);
      current = next;
      // The agent's reconnect back-off starts again once it has been connected a while.
      await sleep(1200);
    }
    progress(
      `failover: ${o.kills} kills, to serving median ${fmt(median(toServing))} ms, max ${fmt(Math.max(...toServing))} ms`,
    );
    // Baseline: every instance gone, one restarted on the same Redis.
    await agent.stop();
    agent = undefined;
    for (const c of instances) await c.stop();
    await sleep(LEASE_MS + 200);
    const t0 = performance.now();
    const alone = await start();
    while (!(await healthy(alone.ready.http))) await sleep(10);
    restartMs = performance.now() - t0;
  } finally {
    await agent?.stop();
    for (const c of instances) await c.stop();
    await deleteRedisPrefix(url, prefix);
  }
  const detail = { toServing, toModels, toAgent, leaseMs: LEASE_MS, unplanned };
  return [
    {
      section,
      figure: `${size}: leader SIGKILLed ${o.kills} times: to a standby serving, median`,
      value: median(toServing),
      unit: 'ms',
      baseline: restartMs,
      baselineName: 'one scheduler restarted at once',
      target: { text: 'take-over under 2 s', met: Math.max(...toServing) < 2000 },
      detail,
    },
    {
      section,
      figure: `${size}: leader SIGKILLed: to a standby serving, max`,
      value: Math.max(...toServing),
      unit: 'ms',
      baseline: restartMs,
      baselineName: 'one scheduler restarted at once',
      target: { text: 'take-over under 2 s', met: Math.max(...toServing) < 2000 },
    },
    {
      section,
      figure: `${size}: leader SIGKILLed: to a new model Available through the new leader (agent reconnected), median`,
      value: median(toAgent),
      unit: 'ms',
      baseline: restartMs,
      baselineName: 'one scheduler restarted at once',
      ...(o.models >= 10_000
        ? { target: { text: 'with 10,000 models: under 2 s', met: median(toAgent) < 2000 } }
        : {}),
    },
    {
      section,
      figure: `${size}: leader SIGKILLed: to a new model Available (agent reconnected), max`,
      value: Math.max(...toAgent),
      unit: 'ms',
      baseline: restartMs,
      baselineName: 'one scheduler restarted at once',
    },
    {
      section,
      figure: `${size}: leader SIGKILLed: to ModelStatus of every model from the new leader, max`,
      value: Math.max(...toModels),
      unit: 'ms',
      baseline: restartMs,
      baselineName: 'one scheduler restarted at once',
    },
  ];
}
