/**
 * Section 4, restart: time from process start to serving with N models (default 10,000) restored,
 * per store (file, Redis), with the in-process restore and the store's write figures. It runs
 * bench/restart.ts (`npm run bench:restart`, which measures all of this against its own same-run
 * baselines) as a child process and takes its table rows over; Redis rows are missing when no
 * Redis answers (restart.ts uses REDIS_URL or redis://127.0.0.1:6379).
 *
 * Flags (via bench/run.ts): `--restart-models N` (default 10000).
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
function parseRestartRows(stdout: string): Row[] {
  const rows: Row[] = [];
  for (const line of stdout.split('\n')) {
    const cells = line.split(' | ');
    if (cells.length !== 4 || !line.startsWith('| ') || line.startsWith('| figure')) continue;
    const [figure, value, base] = cells as [string, string, string];
    const colon = base.lastIndexOf(': ');
    const [v, unit] = quantity(value);
    const [b] = quantity(base.slice(colon + 2));
    rows.push({
      section: 'restart',
      figure: figure.slice(2),
      value: v,
      unit,
      baseline: b,
      baselineName: base.slice(0, colon),
    });
  }
  return rows;
}

export async function restartSection(o: { models: number }): Promise<Row[]> {
  progress(`restart: bench/restart.ts --models ${o.models} (about 2 minutes at 10,000)`);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'restart.ts'), '--models', String(o.models)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const rows = parseRestartRows(stdout);
  if (code !== 0) {
    const reason =
      stderr
        .trim()
        .split('\n')
        .find((l) => /error/i.test(l)) ?? `exit ${code}`;
    progress(`restart: bench/restart.ts failed after ${rows.length} rows: ${reason}`);
    rows.push({
      section: 'restart',
      figure: `bench/restart.ts stopped early: ${reason.slice(0, 120)}`,
      value: Number.NaN,
      unit: '',
      baseline: Number.NaN,
      baselineName: '-',
    });
  }
  return rows;
}
