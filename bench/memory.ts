/**
 * Section 5, memory: heap used (after GC) and RSS of a scheduler holding 10,000 and 100,000
 * Available models on 100 server replicas, each in a fresh process (bench/memory-child.ts).
 * Baseline: a process holding only the same models' persisted records as parsed JSON (the state
 * itself, with no actors around it).
 *
 * Flags (via bench/run.ts): `--memory-models 10000,100000`.
 */
import { fmt, progress, spawnBenchScript, type Row } from './lib.js';

interface Measurement {
  heapUsed: number;
  rss: number;
  restoreMs?: number;
  available?: number;
}

const GiB = 2 ** 30;
const MiB = 2 ** 20;

async function measure(models: number, mode: 'scheduler' | 'records'): Promise<Measurement> {
  const child = await spawnBenchScript<Measurement>('memory-child.ts', [
    '--models',
    String(models),
    '--mode',
    mode,
  ]);
  await child.stop();
  return child.ready;
}

export async function memorySection(o: { models: readonly number[] }): Promise<Row[]> {
  const section = 'memory';
  const rows: Row[] = [];
  for (const models of o.models) {
    progress(`memory: ${models} models`);
    const base = await measure(models, 'records');
    const sched = await measure(models, 'scheduler');
    if (sched.available !== models) {
      throw new Error(`memory: only ${sched.available} of ${models} restored models Available`);
    }
    progress(`memory: ${models} models: heap ${fmt(sched.heapUsed / MiB)} MiB`);
    rows.push(
      {
        section,
        figure: `${models} models: heap used`,
        value: sched.heapUsed / MiB,
        unit: 'MiB',
        baseline: base.heapUsed / MiB,
        baselineName: 'the records alone',
        ...(models >= 100_000
          ? {
              target: { text: '100,000 models within a 2 GB heap', met: sched.heapUsed <= 2 * GiB },
            }
          : {}),
        detail: { scheduler: sched, records: base },
      },
      {
        section,
        figure: `${models} models: RSS`,
        value: sched.rss / MiB,
        unit: 'MiB',
        baseline: base.rss / MiB,
        baselineName: 'the records alone',
      },
    );
  }
  return rows;
}
