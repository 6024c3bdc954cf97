/**
 * Section startup: how quickly the `mlsched` command starts, as whole processes timed from spawn,
 * each against plain node measured in the same run, runs of the two interleaved (A B A B ...) so
 * that a drift of the machine's speed hits both:
 *   - `mlsched --version` against `node -e 0`;
 *   - `mlsched model list` against a running scheduler (10 models) against `node -e 0`;
 *   - `mlsched serve` with an empty file store, from spawn to its listening line, against a bare
 *     grpc-js server's spawn to listening (bench/bare-grpc-server.mjs).
 * Each figure is the median over the runs (the median of the pairs' ratios is kept in the JSON).
 *
 * Flags (via bench/run.ts): `--startup-runs N` (default 15), `--startup-bin FILE` (the command
 * to time, default bin/mlsched.js: give another checkout's to compare builds).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT, progress, serveArgs, startSchedulerProcess, type Row } from './lib.js';

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};

/** Wall ms from spawning `node args` to its exit (`untilLine`: to its first stdout line). */
async function timeNode(args: readonly string[], untilLine = false): Promise<number> {
  const t0 = performance.now();
  const p = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (untilLine) {
    const lines = createInterface({ input: p.stdout });
    const exited = once(p, 'exit').then(([code]) => {
      throw new Error(`node ${args.join(' ')} exited (${String(code)}) before its first line`);
    });
    await Promise.race([once(lines, 'line'), exited]);
    const ms = performance.now() - t0;
    exited.catch(() => undefined);
    p.kill('SIGKILL');
    await once(p, 'exit').catch(() => undefined);
    return ms;
  }
  p.stdout.resume();
  const [code] = (await once(p, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${String(code)}`);
  return performance.now() - t0;
}

/** `runs` interleaved pairs (one warm-up pair first): medians of A, of B and of A/B. */
async function pairs(
  runs: number,
  a: () => Promise<number>,
  b: () => Promise<number>,
): Promise<{ a: number; b: number; ratio: number }> {
  await a();
  await b();
  const as: number[] = [];
  const bs: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < runs; i++) {
    const x = await a();
    const y = await b();
    as.push(x);
    bs.push(y);
    ratios.push(x / y);
  }
  return { a: median(as), b: median(bs), ratio: median(ratios) };
}

function row(
  figure: string,
  m: { a: number; b: number; ratio: number },
  baselineName: string,
  target: { text: string; max: number },
  runs: number,
): Row {
  return {
    section: 'startup',
    figure,
    value: m.a,
    unit: 'ms',
    baseline: m.b,
    baselineName,
    target: { text: target.text, met: m.a / m.b <= target.max },
    detail: { medianPairRatio: m.ratio, runs },
  };
}

export async function startupSection(o: { runs: number; bin: string }): Promise<Row[]> {
  const bin = o.bin;
  const nodeNothing = () => timeNode(['-e', '0']);
  const rows: Row[] = [];

  progress(`startup: ${bin} --version, ${o.runs} runs`);
  const version = await pairs(o.runs, () => timeNode([bin, '--version']), nodeNothing);
  rows.push(row('mlsched --version', version, 'node -e 0', { text: 'within 2x', max: 2 }, o.runs));

  const scheduler = await startSchedulerProcess('memory');
  try {
    const host = `127.0.0.1:${scheduler.ready.scheduler}`;
    const dir = mkdtempSync(join(tmpdir(), 'mlsched-bench-startup-'));
    try {
      const manifest = join(dir, 'models.yaml');
      writeFileSync(
        manifest,
        Array.from(
          { length: 10 },
          (_, i) =>
            `apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: m${i}\nspec:\n  storageUri: gs://bench/m${i}\n  requirements: [sklearn]\n`,
        ).join('---\n'),
      );
      await timeNode([bin, 'model', 'load', '-f', manifest, '--scheduler-host', host]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    progress(`startup: model list against a scheduler with 10 models, ${o.runs} runs`);
    const list = await pairs(
      o.runs,
      () => timeNode([bin, 'model', 'list', '--scheduler-host', host]),
      nodeNothing,
    );
    rows.push(
      row(
        'mlsched model list (10 models)',
        list,
        'node -e 0',
        { text: 'within 3x', max: 3 },
        o.runs,
      ),
    );
  } finally {
    await scheduler.stop();
  }

  progress(`startup: serve with an empty file store to listening, ${o.runs} runs`);
  const stores: string[] = [];
  try {
    const serve = await pairs(
      o.runs,
      () => {
        const dir = mkdtempSync(join(tmpdir(), 'mlsched-bench-store-'));
        stores.push(dir);
        return timeNode(serveArgs(`file:${dir}`, bin), true);
      },
      () => timeNode([join(ROOT, 'bench', 'bare-grpc-server.mjs')], true),
    );
    rows.push(
      row(
        'serve, empty file store: start to listening',
        serve,
        'bare grpc-js server',
        { text: 'within 2x', max: 2 },
        o.runs,
      ),
    );
  } finally {
    for (const d of stores) rmSync(d, { recursive: true, force: true });
  }
  return rows;
}
