/**
 * Crash tests: the real `mlsched serve` with a durable store (file, Redis) and two simulated agent
 * replicas takes a storm of random LoadModel/UnloadModel calls and is killed with SIGKILL at a random
 * moment, then restarted on the same ports and store. Every change acknowledged before the kill is
 * back with the same spec, versions never go backwards, and once the agents have reconnected every
 * live model is Available again. CRASH_SEEDS scales the number of kills per store. A scheduler
 * killed while its parent has not reaped it yet (a zombie) leaves a lock its restart takes over.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { waitFor } from '../support/harness.js';
import {
  alive,
  killAll,
  mlsched,
  processState,
  rng,
  serve,
  serveUnreaped,
  type Ports as ServedPorts,
} from '../support/processes.js';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis.js';
import { seedClient } from '../support/seed-client.js';

const SEEDS = Number(process.env['CRASH_SEEDS'] ?? 3);
const MODELS = 12;

after(() => {
  killAll();
});

type Ports = Omit<ServedPorts, 'event'>;

/**
 * The scheduler under test on the store: first on ports the system picks, then restarted on the
 * same ones.
 */
async function start(
  store: string,
  extra: string[],
  ports?: Ports,
): Promise<{ server: ChildProcess; ports: Ports }> {
  return serve({
    store,
    ...(ports ? { ports } : {}),
    args: ['--reconnect-grace-seconds', '5', '--log-level', 'warn', ...extra],
  });
}
type Client = Record<string, (req: unknown, cb?: (e: Error | null, r: unknown) => void) => never>;
interface Status {
  modelName: string;
  deleted: boolean;
  versions: {
    version: number;
    state: { state: string };
    modelDefn: { modelSpec: { uri: string } };
  }[];
}

/** A LoadModel (`uri`) or UnloadModel (`uri` null) of the storm. */
interface Call {
  uri: string | null;
  started: number;
  ended?: number;
  outcome?: string;
}

/** What a model may look like after the restart: its last acknowledged change, or the one in flight. */
interface Expectation {
  /** uri null: an unload. */
  acked: { uri: string | null } | undefined;
  /** The change in flight at the kill, which may or may not have been applied. */
  attempt: { uri: string | null } | undefined;
}

function rpc(client: Client, method: string, req: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const fn = client[method];
    if (!fn) throw new Error(`no method ${method}`);
    fn.call(client, req, (e, r) => {
      if (e) reject(e);
      else resolve(r);
    });
  });
}

function statuses(client: Client): Promise<Status[]> {
  return new Promise((resolve, reject) => {
    const out: Status[] = [];
    const fn = client['ModelStatus'];
    if (!fn) throw new Error('no ModelStatus');
    const s = fn.call(client, { subscriberName: 'crash' }) as unknown as NodeJS.EventEmitter;
    s.on('data', (m: Status) => out.push(m));
    s.on('end', () => {
      resolve(out);
    });
    s.on('error', reject);
  });
}

async function crashAndRestart(
  store: string,
  seed: number,
  o: { extra?: string[]; readLate?: boolean } = {},
): Promise<void> {
  const extra = o.extra ?? [];
  const random = rng(seed);
  const first = await start(store, extra);
  const { ports } = first;
  let { server } = first;
  const agent = mlsched(
    'agent',
    '--agent-port',
    String(ports.agent),
    '--server',
    'mlserver',
    '--replicas',
    '2',
    '--memory',
    '100Gi',
    '--load-ms',
    '0',
    '--log-level',
    'error',
  );
  const client = seedClient(`127.0.0.1:${ports.scheduler}`) as unknown as Client;
  const expect = new Map<string, Expectation>();
  const seenVersion = new Map<string, number>();
  /**
   * Models unloaded from the moment the versions were sampled: the listing may show a model as it
   * was before such an unload even when the unload is acknowledged before the listing has been read,
   * and a re-created model starts at version 1 again.
   */
  const recreated = new Set<string>();
  let sampling = false;
  /** Each model's calls, numbered by the step of the storm at which each started and ended. */
  const history = new Map<string, Call[]>();
  let step = 0;

  // The storm: random loads (three specs per model) and unloads, 8 in flight, one per model at a
  // time (so each model's changes are ordered), until the kill.
  let killedAt = 0;
  /** Set by the kill; checked after each await, when the storm may have been cut. */
  const killed = () => killedAt > 0;
  const busy = new Set<string>();
  const storm = async () => {
    while (!killed()) {
      const free = Array.from({ length: MODELS }, (_, i) => `m${i}`).filter((n) => !busy.has(n));
      const name = free[Math.floor(random() * free.length)];
      if (name === undefined) return;
      const uri = random() < 0.2 ? null : `gs://models/${name}/${Math.floor(random() * 3)}`;
      const e = expect.get(name) ?? { acked: undefined, attempt: undefined };
      expect.set(name, e);
      busy.add(name);
      e.attempt = { uri };
      if (uri === null && sampling) recreated.add(name);
      const call: Call = { uri, started: ++step };
      history.set(name, [...(history.get(name) ?? []), call]);
      try {
        await rpc(
          client,
          uri === null ? 'UnloadModel' : 'LoadModel',
          uri === null
            ? { model: { name } }
            : {
                model: {
                  meta: { name },
                  modelSpec: { uri, requirements: ['sklearn'], memoryBytes: 1000 },
                  deploymentSpec: { replicas: 1 },
                },
              },
        );
        call.ended = ++step;
        call.outcome = 'acknowledged';
        if (killed()) return;
        e.acked = { uri };
        e.attempt = undefined;
      } catch (err) {
        call.ended = ++step;
        call.outcome = (err as Error).message;
        // Refused (unloading an unknown model, loading one still being deleted) or cut by the kill.
        if (killed()) return;
        e.attempt = undefined;
      } finally {
        busy.delete(name);
      }
    }
  };
  const workers = Array.from({ length: 8 }, storm);
  try {
    await new Promise((r) => setTimeout(r, 150 + random() * 350));
    // Only versions that are durable must never go back: those of models with no write in flight
    // when the listing was asked for or read (a write answers once durable; one in flight may show
    // a version a crash then loses). Unloads in flight when it was asked for are among those.
    const busyBefore = new Set(busy);
    sampling = true;
    const sampledFrom = step + 1;
    const sampled = await statuses(client);
    if (o.readLate) {
      // The regression's timing: the listing is taken in (and the scheduler killed) only once a model
      // it shows beyond version 1 has been unloaded and re-created since it was asked for, both
      // acknowledged, and nothing else was called on it since (it is at version 1 again).
      const shown = sampled.filter((s) => !s.deleted && (s.versions[0]?.version ?? 0) > 1);
      const recreatedSince = (name: string) => {
        const [unload, load] = (history.get(name) ?? [])
          .filter((c) => c.started >= sampledFrom)
          .slice(-2);
        return (
          unload?.uri === null &&
          typeof load?.uri === 'string' &&
          [unload, load].every((c) => c.outcome === 'acknowledged')
        );
      };
      await waitFor('a model shown in the listing re-created', () =>
        shown.some((s) => !busyBefore.has(s.modelName) && recreatedSince(s.modelName)),
      );
    }
    const sampledTo = step;
    for (const s of sampled) {
      // A deleted model may be re-created, from version 1 again.
      if (s.deleted || busyBefore.has(s.modelName) || busy.has(s.modelName)) continue;
      seenVersion.set(s.modelName, s.versions[0]?.version ?? 0);
    }
    if (!o.readLate) await new Promise((r) => setTimeout(r, random() * 100));
    killedAt = Date.now();
    server.kill('SIGKILL');
    await once(server, 'exit');
    await Promise.allSettled(workers);

    const restartAt = Date.now();
    ({ server } = await start(store, extra, ports));
    const serving = Date.now() - restartAt;
    const after = new Map((await statuses(client)).map((s) => [s.modelName, s]));
    const calls = (name: string) =>
      `; its calls (listing read in steps ${sampledFrom}-${sampledTo}): ${(history.get(name) ?? [])
        .map((c) => `${c.started}-${c.ended ?? '?'} ${String(c.uri)} ${c.outcome ?? ''}`)
        .join(', ')}`;
    for (const [name, e] of expect) {
      if (!e.acked) continue;
      const s = after.get(name);
      const allowed = [e.acked.uri, ...(e.attempt ? [e.attempt.uri] : [])];
      const live = s && !s.deleted ? (s.versions[0]?.modelDefn.modelSpec.uri ?? '?') : null;
      assert.ok(
        allowed.includes(live),
        `seed ${seed}: ${name} is ${String(live)} after restart; acknowledged ${String(e.acked.uri)}, then tried ${String(e.attempt?.uri)}${calls(name)}`,
      );
      const before = seenVersion.get(name);
      if (s && before !== undefined && !s.deleted && !recreated.has(name)) {
        assert.ok(
          (s.versions[0]?.version ?? 0) >= before,
          `seed ${seed}: ${name} version went back from ${before} to ${String(s.versions[0]?.version)}${calls(name)}`,
        );
      }
    }
    // The agents reconnect and re-announce: every live model is Available again.
    await waitFor(
      'every live model Available after the restart',
      async () =>
        (await statuses(client)).every(
          (s) => s.deleted || s.versions[0]?.state.state === 'ModelAvailable',
        ),
      10_000,
    );
    process.stdout.write(`# seed ${seed}: serving ${serving} ms after restart\n`);
  } finally {
    // However it ends (a failed check too), the storm stops and the processes go.
    killedAt ||= Date.now();
    (client as unknown as { close(): void }).close();
    agent.kill('SIGTERM');
    server.kill('SIGTERM');
    if (alive(server)) await once(server, 'exit');
  }
}

describe('crash and restart', () => {
  it(`file store: ${SEEDS} kills at random moments lose nothing acknowledged`, async () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const dir = mkdtempSync(join(tmpdir(), 'mlsched-crash-'));
      try {
        await crashAndRestart(`file:${dir}`, seed);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  // Regression: runs failed now and then with "version went back" when an unload and a re-creation
  // (at version 1) were both acknowledged between asking for the listing and taking it in, which
  // the bookkeeping did not count as a re-creation (the scheduler was right). Seed 6, taking the
  // listing in only once that has happened, failed every time before the fix.
  it('file store: unloads acknowledged while the listing is read count as re-creations', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlsched-crash-'));
    try {
      await crashAndRestart(`file:${dir}`, 6, { readLate: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`Redis store: ${SEEDS} kills at random moments lose nothing acknowledged`, async () => {
    const redis = await testRedis();
    try {
      for (let seed = 101; seed <= 100 + SEEDS; seed++) {
        const prefix = uniquePrefix(`crash-${seed}`);
        try {
          await crashAndRestart(redis.url, seed, { extra: ['--redis-prefix', prefix] });
        } finally {
          await deletePrefix(redis.url, prefix);
        }
      }
    } finally {
      await redis.release();
    }
  });

  it(
    'a scheduler killed and not yet reaped (a zombie) leaves a lock the restart takes over, 20 times',
    {
      timeout: 120_000,
    },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mlsched-zombie-'));
      const lockPid = () =>
        (JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')) as { pid: number }).pid;
      let previous: Awaited<ReturnType<typeof serveUnreaped>> | undefined;
      try {
        for (let i = 0; i < 20; i++) {
          const current = await serveUnreaped(`file:${dir}`);
          assert.equal(lockPid(), current.pid, `start ${i + 1} holds the lock`);
          previous?.parent.kill('SIGKILL');
          process.kill(current.pid, 'SIGKILL');
          await waitFor(
            `pid ${current.pid} a zombie`,
            () => processState(current.pid) === 'zombie',
          );
          previous = current;
        }
      } finally {
        previous?.parent.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
