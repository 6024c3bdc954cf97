/**
 * Section 5, memory: heap used (after GC) and RSS of a scheduler holding 10,000 and 100,000
 * Available models on 100 server replicas, each in a fresh process (bench/memory-child.ts).
 * Baseline: a process holding only the same models' persisted records as parsed JSON (the state
 * itself, with no actors around it).
 *
 * Then a million models (`--memory-loaded`) loaded one by one through the scheduler onto 1,000
 * replicas in a fresh process, all Available: heap used and CPU per model, against the records of
 * as many models alone.
 *
 * Flags (via bench/run.ts): `--memory-models 10000,100000`, `--memory-loaded 1000000` (0: skip).
 */
import { fmt, progress, spawnBenchScript, type Row } from './lib.js';

interface Measurement {
  heapUsed: number;
  rss: number;
  restoreMs?: number;
  available?: number;
  loadMs?: number;
  cpuPerModelUs?: number;
  heapPerModel?: number;
}

/** Server replicas of the loaded row. */
const LOADED_REPLICAS = 1000;

const GiB = 2 ** 30;
const MiB = 2 ** 20;

async function measure(
  models: number,
  mode: 'scheduler' | 'records' | 'loaded',
  replicas = 100,
): Promise<Measurement> {
  const child = await spawnBenchScript<Measurement>(
    'memory-child.ts',
    ['--models', String(models), '--mode', mode, '--replicas', String(replicas)],
    // Room beyond the default heap limit (about 4 GiB here), so that the figure, not a crash, says
    // whether it fits.
    ['--max-old-space-size=12288'],
  );
  await child.stop();
  return child.ready;
}

export async function memorySection(o: {
  models: readonly number[];
  loaded: number;
}): Promise<Row[]> {
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
  if (o.loaded > 0) {
    const n = o.loaded;
    progress(`memory: ${n} models loaded on ${LOADED_REPLICAS} replicas`);
    const base = await measure(n, 'records', LOADED_REPLICAS);
    const sched = await measure(n, 'loaded', LOADED_REPLICAS);
    if (sched.available !== n) {
      throw new Error(`memory: only ${sched.available} of ${n} loaded models Available`);
    }
    progress(
      `memory: ${n} loaded in ${fmt((sched.loadMs ?? 0) / 1000)} s, ${fmt(sched.cpuPerModelUs ?? 0)} µs CPU and ${fmt(sched.heapPerModel ?? 0)} B heap per model`,
    );
    const what = `${n} models loaded on ${LOADED_REPLICAS} replicas, all Available`;
    rows.push({
      section,
      figure: `${what}: heap used`,
      value: sched.heapUsed / MiB,
      unit: 'MiB',
      baseline: base.heapUsed / MiB,
      baselineName: 'the records alone',
      ...(n >= 1_000_000
        ? { target: { text: 'a million models under a 3 GB heap', met: sched.heapUsed < 3e9 } }
        : {}),
      detail: { scheduler: sched, records: base },
    });
  }
  return rows;
}
