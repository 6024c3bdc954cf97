/**
 * A storm of LoadModel calls through whichever of several `serve --ha` instances leads, a monitor
 * that no poll ever sees two leaders, and the final check that every acknowledged model is listed
 * and ends Available: what the take-over tests (scheduler deaths, Redis deaths) share.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Schedulers } from '../../src/cli/client.js';
import {
  ModelStatus_ModelState,
  type LoadModelResponse,
  type ModelStatusResponse,
} from '../../src/gen/mlops/scheduler/scheduler.js';
import { startSimulatedAgent, type SimulatedAgent } from '../../src/sim/agent.js';
import { model } from './harness.js';
import { alive, healthOf, type Ports } from './processes.js';

export interface Instance {
  server: ChildProcess;
  ports: Ports;
}

/** The live instances that answer /health 200 (lead and serve). */
export async function leadersOf(instances: readonly Instance[]): Promise<Instance[]> {
  const live = instances.filter((i) => alive(i.server));
  const codes = await Promise.all(
    live.map((i) =>
      healthOf(i.ports.http).then(
        (h) => h.code,
        () => 0,
      ),
    ),
  );
  return live.filter((_, k) => codes[k] === 200);
}

/** A simulated agent (server `mlserver`, two replicas) given every instance's agent address. */
export const followingAgent = (instances: readonly Instance[]): Promise<SimulatedAgent> =>
  startSimulatedAgent({
    schedulerHost: instances.map((i) => `127.0.0.1:${i.ports.agent}`).join(','),
    agentPort: 1,
    server: 'mlserver',
    replicaIdxs: [0, 1],
    memoryBytes: 2 ** 30,
    capabilities: ['sklearn'],
    overCommitPercentage: 10,
    loadMs: 20,
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
  });

/** LoadModel of `name` (one replica) through whichever scheduler leads. */
export const loadVia = (schedulers: Schedulers, name: string): Promise<LoadModelResponse> =>
  schedulers.run(
    (c) =>
      new Promise<LoadModelResponse>((resolve, reject) => {
        c.loadModel(model(name, { replicas: 1 }), (err, res) => {
          if (err) reject(err);
          else resolve(res);
        });
      }),
    { idempotent: false },
  );

/** Every model's latest version, from whichever scheduler leads. */
export const statusesVia = (schedulers: Schedulers): Promise<ModelStatusResponse[]> =>
  schedulers.run(
    (c) =>
      new Promise<ModelStatusResponse[]>((resolve, reject) => {
        const out: ModelStatusResponse[] = [];
        c.modelStatus({ subscriberName: 't', allVersions: false })
          .on('data', (m: ModelStatusResponse) => out.push(m))
          .on('error', reject)
          .on('end', () => {
            resolve(out);
          });
      }),
    { idempotent: true },
  );

/** A running storm: `stop()` ends it and its monitor, and says what happened. */
export interface Storm {
  readonly acknowledged: readonly string[];
  stop(): Promise<{ acknowledged: string[]; refused: number; leadersSeen: number }>;
}

/**
 * Loads `storm-0`, `storm-1`, ... one at a time through the leader, and polls `instances` every
 * 20 ms, failing if two lead at once (`instances` may grow: restarted ones are pushed to it).
 */
export function startStorm(schedulers: Schedulers, instances: readonly Instance[]): Storm {
  const run = { storming: true };
  const acknowledged: string[] = [];
  const seen = new Set<number>();
  let refused = 0;
  const monitor = (async () => {
    while (run.storming) {
      const now = await leadersOf(instances);
      assert.ok(now.length <= 1, `${now.length} leaders at once`);
      for (const l of now) seen.add(l.ports.scheduler);
      await sleep(20);
    }
  })();
  const storm = (async () => {
    for (let n = 0; run.storming; n++) {
      try {
        await loadVia(schedulers, `storm-${n}`);
        acknowledged.push(`storm-${n}`);
      } catch {
        refused++; // not acknowledged: it may or may not exist, and nothing is promised
        await sleep(20);
      }
    }
  })();
  return {
    acknowledged,
    stop: async () => {
      run.storming = false;
      await Promise.all([storm, monitor]);
      return { acknowledged, refused, leadersSeen: seen.size };
    },
  };
}

/**
 * Fails unless every `acknowledged` model is listed by the leader, and waits (up to 20 s) for all
 * of them to be Available; resolves with those that are not.
 */
export async function checkAcknowledged(
  schedulers: Schedulers,
  acknowledged: readonly string[],
): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const byName = new Map((await statusesVia(schedulers)).map((m) => [m.modelName, m]));
    const missing = acknowledged.filter((n) => !byName.has(n));
    assert.deepEqual(missing, [], 'acknowledged models lost');
    const unavailable = acknowledged.filter(
      (n) => byName.get(n)?.versions.at(-1)?.state?.state !== ModelStatus_ModelState.ModelAvailable,
    );
    if (unavailable.length === 0 || Date.now() > deadline) return unavailable;
    await sleep(200);
  }
}
