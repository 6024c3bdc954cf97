/**
 * The file store under kill -9: a child process writes random batches (several in flight, with
 * compactions every few dozen) and is SIGKILLed at random moments; after each kill the directory
 * must load as exactly the first m batches for some m at or beyond the last acknowledged one, with
 * nothing torn. The same directory goes through every kill, so each recovery also starts from what
 * the previous one left. STORE_CRASH_KILLS (default 8) and STORE_CRASH_SEED replay a run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { openFileStore } from '../../src/store/file/file-store.js';
import type { CrashValue } from '../support/store-crash-child.js';
import { CRASH_STORE_OPTIONS, crashBatch } from '../support/store-crash-child.js';

const KILLS = Number(process.env['STORE_CRASH_KILLS'] ?? 8);
const SEED = Number(process.env['STORE_CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const CHILD = fileURLToPath(new URL('../support/store-crash-child.ts', import.meta.url));

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Runs the child until `ready`, lets it write for `ms`, SIGKILLs it; returns its acks. */
async function runAndKill(
  dir: string,
  seed: number,
  ms: number,
): Promise<{ first: number; lastAcked: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(seed)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const closed = once(child, 'close');
  let first = -1;
  let lastAcked = 0;
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const [word, n] = line.split(' ');
    if (word === 'ready') {
      first = Number(n);
      ready();
    } else if (word === 'acked') {
      lastAcked = Math.max(lastAcked, Number(n));
    }
  });
  await Promise.race([
    isReady,
    closed.then(() => {
      throw new Error(`the child exited before it was ready: ${stderr}`);
    }),
  ]);
  await sleep(ms);
  child.kill('SIGKILL');
  const [code, signal] = (await closed) as [number | null, string | null];
  assert.equal(signal, 'SIGKILL', `the child died on its own (code ${code}): ${stderr}`);
  return { first, lastAcked: Math.max(lastAcked, first - 1) };
}

describe('file store crash safety', () => {
  it(
    `${KILLS} kill -9 at random moments lose no acknowledged batch and tear none (seed ${SEED})`,
    { timeout: 60_000 },
    async (t) => {
      const dir = await mkdtemp(join(tmpdir(), 'mlsched-store-crash-'));
      dirs.push(dir);
      let random = SEED;
      const next = () => ((random = (Math.imul(random, 1103515245) + 12345) >>> 0) % 1000) / 1000;
      /** The state after the batches so far: key → value, and the next batch number. */
      let state = new Map<string, CrashValue>();
      let nextBatch = 1;
      let totalAcked = 0;
      for (let kill = 0; kill < KILLS; kill++) {
        const ms = 20 + Math.floor(next() * 280);
        const { first, lastAcked } = await runAndKill(dir, SEED, ms);
        assert.equal(first, nextBatch, 'the child resumes after the last batch stored');

        const store = await openFileStore(dir, CRASH_STORE_OPTIONS);
        const records = await store.load();
        const { tornBytesDropped, generation } = store.stats();
        await store.close();
        const loaded = new Map(records.map((r) => [r.key, r.value as CrashValue]));
        const m = Math.max(nextBatch - 1, ...[...loaded.values()].map((v) => v.n));
        assert.ok(
          m >= lastAcked,
          `batch ${lastAcked} was acknowledged, but the store ends at ${m}`,
        );
        // Replay batches nextBatch..m onto the previous state: the store must hold exactly that.
        const expected = new Map(state);
        for (let n = nextBatch; n <= m; n++) {
          const batch = crashBatch(SEED, n);
          for (const r of batch.put) expected.set(r.key, r.value as CrashValue);
          for (const key of batch.del) expected.delete(key);
        }
        assert.deepEqual(
          new Map([...loaded].sort(([a], [b]) => (a < b ? -1 : 1))),
          new Map([...expected].sort(([a], [b]) => (a < b ? -1 : 1))),
          `after kill ${kill} (${ms} ms) the store is not batches 1..${m}`,
        );
        t.diagnostic(
          `kill ${kill} after ${ms} ms: acked ${lastAcked}, stored ${m}, generation ${generation}, ` +
            `torn bytes cut ${tornBytesDropped}, files ${(await readdir(dir)).sort().join(' ')}`,
        );
        totalAcked += lastAcked - nextBatch + 1;
        state = expected;
        nextBatch = m + 1;
      }
      assert.ok(totalAcked > 0, 'the child never got a write acknowledged');
    },
  );
});
