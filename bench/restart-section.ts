/**
 * Section 4, restart: time from process start to serving with N models (default 10,000) restored,
 * per store (file, Redis), with the in-process restore and the store's write figures. It runs
 * bench/restart.ts (`npm run bench:restart`, which measures all of this against its own same-run
 * baselines) as a child process and takes its table rows over; Redis rows are missing when no
 * Redis answers (restart.ts uses REDIS_URL or redis://127.0.0.1:6379).
 *
 * Targets: a restore in process at most 3x the read and parse of its records; with 100,000 models
 * or more, process start to serving under 3 s.
 *
 * Flags (via bench/run.ts): `--restart-models 10000,100000` (one run of restart.ts per size).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { ROOT, progress, type Row } from './lib.js';

/** `12.5 ms` → [12.5, 'ms']; `500.5 ` → [500.5, '']. */
function quantity(text: string): [number, string] {
  const m = /^\s*(-?[\d.]+)\s*(.*?)\s*$/.exec(text);
  return m ? [Number(m[1]), m[2] ?? ''] : [Number.NaN, ''];
}

/** Parses restart.ts's `| figure | value unit | baseline name: value unit | ratio |` rows. */
function parseRestartRows(stdout: string, models: number): Row[] {
  const rows: Row[] = [];
  for (const line of stdout.split('\n')) {
    const cells = line.split(' | ');
    if (cells.length !== 4 || !line.startsWith('| ') || line.startsWith('| figure')) continue;
    const [figure, value, base] = cells as [string, string, string];
    const colon = base.lastIndexOf(': ');
    const [v, unit] = quantity(value);
    const [b] = quantity(base.slice(colon + 2));
    const name = figure.slice(2);
    rows.push({
      section: 'restart',
      figure: `${models} models: ${name}`,
      value: v,
      unit,
      baseline: b,
      baselineName: base.slice(0, colon),
      ...(name.startsWith('restore in process')
        ? { target: { text: 'at most 3x read + parse', met: v <= 3 * b } }
        : name.startsWith('process start to serving') && models >= 100_000
          ? { target: { text: '100,000 models: serving under 3 s', met: v < 3000 } }
          : {}),
    });
  }
  return rows;
}

export async function restartSection(o: { models: readonly number[] }): Promise<Row[]> {
  const rows: Row[] = [];
  for (const models of o.models) rows.push(...(await restartRows(models)));
  return rows;
}

async function restartRows(models: number): Promise<Row[]> {
  progress(`restart: bench/restart.ts --models ${models} (about a minute at 10,000)`);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'restart.ts'), '--models', String(models)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const rows = parseRestartRows(stdout, models);
  if (code !== 0) {
    const reason =
      stderr
        .trim()
        .split('\n')
        .find((l) => /error/i.test(l)) ?? `exit ${code}`;
    progress(`restart: bench/restart.ts failed after ${rows.length} rows: ${reason}`);
    rows.push({
      section: 'restart',
      figure: `${models} models: bench/restart.ts stopped early: ${reason.slice(0, 120)}`,
      value: Number.NaN,
      unit: '',
      baseline: Number.NaN,
      baselineName: '-',
    });
  }
  return rows;
}
