/**
 * One measurement of section 5 (memory), in a fresh process so RSS means something: a scheduler
 * system holding N Available models on 100 server replicas, or (the baseline) the same models'
 * persisted records as plain parsed JSON and nothing else. Prints one JSON line with heap used
 * (after GC) and RSS.
 *
 * N models are reached by restoring records, not by N LoadModels (which take minutes beyond 10,000,
 * see the placement section): `--source` models are loaded through the scheduler onto the fleet
 * and their records copied under new names up to N. A restored model holds the same actors as a
 * loaded one; bench/run.ts prints the heap per model of loading for comparison (placement rows).
 *
 * `--mode loaded` instead loads all N models through the scheduler (LoadModel, each answered by
 * its agents at once) and reports the heap then, with the CPU per model: the row of a million
 * models on 1,000 replicas.
 *
 *   node --import tsx bench/memory-child.ts --models N --mode scheduler|records|loaded
 *     [--source 1000] [--replicas 100]
 */
import { parseArgs } from 'node:util';
import { createSchedulerSystem, type PersistedResource } from '../src/actors/index.js';
import { fleet, heapAfterGc } from './lib.js';
import { availableCount, loadAll, schedulerWithFleet } from './placement.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: '10000' },
    mode: { type: 'string', default: 'scheduler' },
    source: { type: 'string', default: '1000' },
    replicas: { type: 'string', default: '100' },
  },
});
const MODELS = Number(values.models);
const SOURCE = Math.min(MODELS, Number(values.source));

/** Records of MODELS Available models: SOURCE loaded for real, copied under new names. */
function records(): PersistedResource[] {
  const { system, agents } = schedulerWithFleet(fleet(Number(values.replicas), MODELS));
  loadAll(system, agents, SOURCE);
  const source = system
    .recordKeys()
    .map((key) => ({ key, json: JSON.stringify(system.exportRecord(key)) }));
  system.stop();
  const out: PersistedResource[] = [];
  for (const { key, json } of source) {
    if (!key.startsWith('model:')) {
      out.push({ key, value: JSON.parse(json) });
      continue;
    }
    for (let copy = 0; copy * SOURCE < MODELS; copy++) {
      // Every model name (m-<i>) in the record, in ids, URIs and the definition, renamed.
      const rename = (s: string) =>
        s.replace(/\bm-(\d+)\b/g, (_, i: string) => `m-${Number(i) + copy * SOURCE}`);
      if (Number(/\bm-(\d+)\b/.exec(key)?.[1]) + copy * SOURCE >= MODELS) continue;
      out.push({ key: rename(key), value: JSON.parse(rename(json)) });
    }
  }
  return out;
}

const result: Record<string, unknown> = { models: MODELS, mode: values.mode };
let held: PersistedResource[] | undefined = values.mode === 'loaded' ? [] : records();
const heap0 = await heapAfterGc();
if (values.mode === 'loaded') {
  const { system, agents } = schedulerWithFleet(fleet(Number(values.replicas), MODELS));
  const heapFleet = await heapAfterGc();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  loadAll(system, agents, MODELS);
  result['loadMs'] = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  result['cpuPerModelUs'] = (cpu.user + cpu.system) / MODELS;
  result['available'] = availableCount(system);
  result['heapUsed'] = await heapAfterGc();
  result['heapPerModel'] = (Number(result['heapUsed']) - heapFleet) / MODELS;
  // Also keeps the system alive until its heap is measured.
  const faults = system.audit();
  if (faults.length > 0) throw new Error(`indexes disagree: ${faults.slice(0, 3).join('; ')}`);
} else if (values.mode === 'scheduler') {
  const t0 = performance.now();
  const system = createSchedulerSystem({
    agents: { isConnected: () => true, send: () => undefined },
    dataflow: { send: () => undefined },
    newUid: () => 'x',
    timers: { now: () => Date.now(), after: () => () => undefined },
    restore: held,
  });
  result['restoreMs'] = performance.now() - t0;
  held = undefined;
  result['available'] = availableCount(system);
  result['heapUsed'] = await heapAfterGc();
  result['keepAlive'] = system.listModels(false).length;
} else {
  result['heapUsed'] = await heapAfterGc();
  result['keepAlive'] = held.length;
}
result['heapBeforeBytes'] = heap0;
result['rss'] = process.memoryUsage().rss;
process.stdout.write(`${JSON.stringify(result)}\n`);
