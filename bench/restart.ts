/**
 * Durable-state benchmark (issue 4): restart-to-serving with 10,000 models on 100 server replicas
 * from the file store and from Redis, bytes written per model state change, and Redis round trips
 * per 1,000 state changes. Each figure comes with a baseline measured in the same run.
 *
 *   npm run bench:restart -- [--models 10000] [--servers 10] [--replicas 10] [--redis URL]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  createSchedulerSystem,
  type AgentGateway,
  type SchedulerSystem,
} from '../src/actors/index.js';
import { openFileStore } from '../src/store/file/file-store.js';
import { Persistence, restoreRecords } from '../src/store/persistence.js';
import type { SnapshotStore } from '../src/store/ports.js';
import { openRedisStore } from '../src/store/redis/redis-store.js';
import { deleteRedisPrefix, serveArgs } from './lib.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: '10000' },
    servers: { type: 'string', default: '10' },
    replicas: { type: 'string', default: '10' },
    redis: { type: 'string', default: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379' },
  },
});
const MODELS = Number(values.models);
const SERVERS = Number(values.servers);
const REPLICAS = Number(values.replicas);
/** The benchmark's report goes to stdout. */
const out = (line: string) => process.stdout.write(`${line}\n`);
const silent = { info: () => undefined, warn: () => undefined };

/** Agents that take every op; `ackAll` answers them as loaded or unloaded. */
class InstantAgents implements AgentGateway {
  ops: { server: string; idx: number; model: string; version: number; load: boolean }[] = [];
  isConnected(): boolean {
    return true;
  }
  send(server: string, idx: number, op: Parameters<AgentGateway['send']>[2]): undefined {
    const { name } = op.definition.meta;
    this.ops.push({ server, idx, model: name, version: op.version, load: op.operation === 'load' });
    return undefined;
  }
  ackAll(system: SchedulerSystem): void {
    for (let ops = this.ops.splice(0); ops.length > 0; ops = this.ops.splice(0)) {
      for (const o of ops) {
        system.agentEvent({
          server: o.server,
          idx: o.idx,
          model: o.model,
          version: o.version,
          event: o.load ? 'loaded' : 'unloaded',
          message: '',
          availableMemoryBytes: 1e12,
        });
      }
    }
  }
}

function world(): { system: SchedulerSystem; agents: InstantAgents } {
  const agents = new InstantAgents();
  const system = createSchedulerSystem({
    agents,
    dataflow: { send: () => undefined },
    newUid: (() => {
      let n = 0;
      return () => `uid${String(++n).padStart(17, '0')}`;
    })(),
    timers: { now: () => Date.now(), after: () => () => undefined },
  });
  for (let s = 0; s < SERVERS; s++) {
    for (let i = 0; i < REPLICAS; i++) {
      system.replicaJoined({
        server: `server-${s}`,
        idx: i,
        shared: true,
        config: {
          inferenceSvc: `server-${s}-${i}`,
          inferenceHttpPort: 9000,
          inferenceGrpcPort: 9500,
          memoryBytes: 1e12,
          capabilities: ['sklearn'],
          overCommitPercentage: 10,
        },
        availableMemoryBytes: 1e12,
        loaded: [],
      });
    }
  }
  return { system, agents };
}

const model = (name: string, uri = `gs://models/${name}`) => ({
  meta: { name },
  spec: { uri, requirements: ['sklearn'], parameters: [], memoryBytes: 1000 },
  deployment: { replicas: 1, minReplicas: 0, maxReplicas: 0, logPayloads: false },
});

/** Fills a store with MODELS Available models on SERVERS x REPLICAS replicas. */
async function fill(store: SnapshotStore): Promise<number> {
  const { system, agents } = world();
  const p = new Persistence(system, store, { log: silent });
  for (let i = 0; i < MODELS; i++) system.loadModel(model(`model-${i}`));
  agents.ackAll(system);
  await p.durable();
  const records = system.recordKeys().length;
  system.stop();
  return records;
}

/**
 * A plan of one model against MODELS Available models, in ms: a plan copies the state, during which
 * the scheduler answers nothing else. Best of 3 on one filled world.
 */
function planInProcess(): number {
  const { system, agents } = world();
  for (let i = 0; i < MODELS; i++) system.loadModel(model(`model-${i}`));
  agents.ackAll(system);
  const runs: number[] = [];
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    const plan = system.plan([], [model('planned')]);
    runs.push(performance.now() - t0);
    if (plan.models[0]?.outcome !== 'placed') throw new Error('the planned model would not fit');
  }
  system.stop();
  return Math.min(...runs);
}

/** `mlsched serve` from start to its listening line, in ms. */
async function startToServing(store: string, extra: string[] = []): Promise<number> {
  const t0 = performance.now();
  const p = spawn(process.execPath, [...serveArgs(store), ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(createInterface({ input: p.stdout }), 'line');
  const ms = performance.now() - t0;
  p.kill('SIGTERM');
  await once(p, 'exit');
  return ms;
}

/** In-process: load every record and rebuild the actors, in ms. */
async function restoreInProcess(open: () => Promise<SnapshotStore>): Promise<number> {
  const t0 = performance.now();
  const store = await open();
  const { records } = await restoreRecords(store);
  const system = createSchedulerSystem({
    agents: new InstantAgents(),
    dataflow: { send: () => undefined },
    newUid: () => 'x',
    timers: { now: () => Date.now(), after: () => () => undefined },
    restore: records,
  });
  const ms = performance.now() - t0;
  if (system.listModels(false).length !== MODELS) throw new Error('restore lost models');
  system.stop();
  await store.close();
  return ms;
}

const best = async (n: number, f: () => Promise<number>) => {
  const runs: number[] = [];
  for (let i = 0; i < n; i++) runs.push(await f());
  return Math.min(...runs);
};
const row = (what: string, value: number, unit: string, baseline: number, baseName: string) => {
  out(
    `| ${what} | ${value.toFixed(1)} ${unit} | ${baseName}: ${baseline.toFixed(1)} ${unit} | ${(value / baseline).toFixed(2)}x |`,
  );
};

async function main(): Promise<void> {
  out(`${MODELS} models on ${SERVERS * REPLICAS} replicas\n`);
  out('| figure | value | baseline (same run) | ratio |');
  out('|---|---|---|---|');

  const dir = mkdtempSync(join(tmpdir(), 'mlsched-bench-'));
  try {
    const fileStore = await openFileStore(dir);
    await fill(fileStore);
    await fileStore.close();
    // Baseline: reading and parsing the same bytes as one JSON document.
    const reader = await openFileStore(dir);
    const bytes = JSON.stringify((await restoreRecords(reader)).records);
    await reader.close();
    const raw = join(dir, 'records.json');
    writeFileSync(raw, bytes);
    const parse = await best(3, () => {
      const t0 = performance.now();
      JSON.parse(readFileSync(raw, 'utf8'));
      return Promise.resolve(performance.now() - t0);
    });
    rmSync(raw);
    row(
      'restore in process, file store',
      await best(3, () => restoreInProcess(() => openFileStore(dir))),
      'ms',
      parse,
      'read + JSON.parse of the same records',
    );
    row(
      'plan of one model (a copy of the state), in process',
      planInProcess(),
      'ms',
      parse,
      'read + JSON.parse of the records',
    );
    const empty = await best(3, () => startToServing('memory'));
    row(
      'process start to serving, file store',
      await best(3, () => startToServing(`file:${dir}`)),
      'ms',
      empty,
      'same with an empty memory store',
    );

    const prefix = `bench-${process.pid}`;
    try {
      const redisStore = await openRedisStore({ url: values.redis, prefix });
      await fill(redisStore);
      await redisStore.close();
      row(
        'restore in process, Redis',
        await best(3, () => restoreInProcess(() => openRedisStore({ url: values.redis, prefix }))),
        'ms',
        parse,
        'read + JSON.parse of the same records',
      );
      row(
        'process start to serving, Redis',
        await best(3, () => startToServing(values.redis, ['--redis-prefix', prefix])),
        'ms',
        empty,
        'same with an empty memory store',
      );
      // Round trips: 1,000 LoadModels with a new spec and their agents' LOADED (2,000 changes),
      // one call at a time (each waits for durability, as gRPC clients do) and all at once.
      for (const burst of [false, true]) {
        const store = await openRedisStore({ url: values.redis, prefix: `${prefix}-w` });
        const { system, agents } = world();
        const p = new Persistence(system, store, { log: silent });
        for (let i = 0; i < 1000; i++) system.loadModel(model(`w-${i}`));
        agents.ackAll(system);
        await p.durable();
        const trips0 = store.roundTrips;
        for (let i = 0; i < 1000; i++) {
          system.loadModel(model(`w-${i}`, `gs://models/w-${i}/v${burst ? 3 : 2}`));
          if (!burst) await p.durable();
        }
        agents.ackAll(system);
        await p.durable();
        row(
          `Redis round trips per 1,000 state changes (${burst ? 'all at once' : 'one call at a time'})`,
          ((store.roundTrips - trips0) / 2000) * 1000,
          '',
          1000,
          'one per change',
        );
        await p.close();
        system.stop();
        await deleteRedisPrefix(values.redis, `${prefix}-w`);
      }
    } finally {
      await deleteRedisPrefix(values.redis, prefix);
    }

    // Writes: bytes the file store appends per model state change (a LoadModel with a new spec,
    // then its agent's LOADED), framing included.
    const store = await openFileStore(join(dir, 'writes'), { compactMinBytes: 1 << 30 });
    const { system, agents } = world();
    const p = new Persistence(system, store, { log: silent });
    for (let i = 0; i < 1000; i++) system.loadModel(model(`w-${i}`));
    agents.ackAll(system);
    await p.durable();
    const bytes0 = store.stats().logBytes;
    const records0 = p.stats.records;
    for (let i = 0; i < 1000; i++) {
      system.loadModel(model(`w-${i}`, `gs://models/w-${i}/v2`));
      await p.durable();
    }
    agents.ackAll(system);
    await p.durable();
    const recs = p.stats.records - records0;
    row(
      'bytes written per model state change (file store log)',
      (store.stats().logBytes - bytes0) / recs,
      'B',
      JSON.stringify(model('w-0')).length,
      'the model definition alone',
    );
    await p.close();
    system.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
