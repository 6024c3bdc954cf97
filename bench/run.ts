/**
 * `npm run bench` (issue 6): how far the scheduler scales and how close it runs to its limits.
 * Runs the sections below, prints one table where every figure stands next to a baseline measured
 * in the same run and their ratio, and writes the run, with the machine's description, to
 * bench/results/<timestamp>.json.
 *
 *   startup    bench/startup.ts        `mlsched --version`, `model list`, `serve` start against node
 *   placement  bench/placement.ts      models x replicas in process: wall, CPU and heap per model
 *   api        bench/api.ts            LoadModel / ModelStatus calls per second over gRPC
 *   fanout     bench/fanout.ts         10k models over gRPC to all Available; status stream fan-out
 *   restart    bench/restart-section.ts  process start to serving with 10k and 100k models, per store
 *   memory     bench/memory.ts         heap and RSS at 10k and 100k models; a million loaded
 *   dashboard  bench/dashboard.ts      dashboard requests with 10k models; its tracking's CPU
 *   failover   bench/failover.ts       --ha: leader SIGKILLed 20 times, time to a standby serving
 *   redis-failover  bench/redis-failover.ts  one scheduler on a Sentinel group of its own: the
 *                   Redis primary SIGKILLed 3 times, time to a LoadModel acknowledged again
 *
 * Flags:
 *   --only placement,api,...   run only these sections (default: all)
 *   --quick                    small sizes, for a smoke run (under 2 minutes)
 *   --models 1000,10000,100000 placement sizes          --replicas 10,100,1000 placement fleets
 *   --budget-s 120             skip a placement size whose estimated time (the growth between
 *                              the two previous sizes carried on) exceeds this; 0 = no limit
 *   --max-work N               skip placement sizes with models x replicas above N
 *   --seconds 3                API: seconds per measurement   --in-flight 1,16,128
 *   --fanout-models 10000      --subscribers 1,100
 *   --restart-models 10000,100000   --memory-models 10000,100000   --dashboard-models 10000
 *   --memory-loaded 1000000    (0 skips the million-model row)
 *   --failover-kills 20        --failover-models 10000,100000
 *   --redis-failover-kills 3
 *   --startup-runs 15          --startup-bin bin/mlsched.js (another checkout's, to compare)
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { apiSection } from './api.js';
import { dashboardSection } from './dashboard.js';
import { failoverSection } from './failover.js';
import { fanoutSection } from './fanout.js';
import {
  killChildren,
  machine,
  out,
  printTable,
  progress,
  ratio,
  ROOT,
  writeResults,
  type Row,
} from './lib.js';
import { memorySection } from './memory.js';
import { placementSection } from './placement.js';
import { redisFailoverSection } from './redis-failover.js';
import { restartSection } from './restart-section.js';
import { startupSection } from './startup.js';

const SECTIONS = [
  'startup',
  'placement',
  'api',
  'fanout',
  'restart',
  'memory',
  'dashboard',
  'failover',
  'redis-failover',
] as const;
type Section = (typeof SECTIONS)[number];

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    models: { type: 'string' },
    replicas: { type: 'string' },
    'budget-s': { type: 'string' },
    'max-work': { type: 'string' },
    seconds: { type: 'string' },
    'in-flight': { type: 'string' },
    'fanout-models': { type: 'string' },
    subscribers: { type: 'string' },
    'restart-models': { type: 'string' },
    'memory-models': { type: 'string' },
    'memory-loaded': { type: 'string' },
    'dashboard-models': { type: 'string' },
    'failover-kills': { type: 'string' },
    'failover-models': { type: 'string' },
    'redis-failover-kills': { type: 'string' },
    'startup-runs': { type: 'string' },
    'startup-bin': { type: 'string' },
  },
});

const quick = values.quick;
const list = (flag: string | undefined, full: string, small: string): number[] =>
  (flag ?? (quick ? small : full)).split(',').map((v) => {
    const n = Number(v);
    if (Number.isNaN(n) || n < 0) throw new Error(`not a number: ${v}`);
    return n;
  });
const one = (flag: string | undefined, full: number, small: number): number =>
  list(flag, String(full), String(small))[0] ?? full;

const only = (values.only ?? SECTIONS.join(',')).split(',').map((s) => s.trim());
const unknown = only.filter((s) => !(SECTIONS as readonly string[]).includes(s));
if (unknown.length > 0) {
  throw new Error(`--only: unknown section(s) ${unknown.join(', ')}; use ${SECTIONS.join(',')}`);
}

const options = {
  startup: {
    runs: one(values['startup-runs'], 15, 5),
    bin: values['startup-bin'] ?? join(ROOT, 'bin', 'mlsched.js'),
  },
  placement: {
    models: list(values.models, '1000,10000,100000', '1000,3000'),
    replicas: list(values.replicas, '10,100,1000', '10,100'),
    budgetMs: (one(values['budget-s'], 120, 30) || Infinity) * 1000,
    maxWork: one(values['max-work'], Infinity, Infinity),
  },
  api: {
    seconds: one(values.seconds, 3, 1),
    inFlight: list(values['in-flight'], '1,16,128', '1,16,128'),
    replicas: 100,
  },
  fanout: {
    models: one(values['fanout-models'], 10_000, 1000),
    subscribers: list(values.subscribers, '1,100', '1,10'),
    replicas: 100,
    inFlight: 16,
  },
  restart: { models: list(values['restart-models'], '10000,100000', '1000') },
  memory: {
    models: list(values['memory-models'], '10000,100000', '1000,10000'),
    loaded: one(values['memory-loaded'], 1_000_000, 10_000),
  },
  dashboard: { models: one(values['dashboard-models'], 10_000, 1000) },
  failover: {
    kills: one(values['failover-kills'], 20, 5),
    models: list(values['failover-models'], '10000,100000', '100'),
  },
  'redis-failover': { kills: one(values['redis-failover-kills'], 3, 3) },
};

const run: Record<Section, () => Promise<Row[]>> = {
  startup: () => startupSection(options.startup),
  placement: () => placementSection(options.placement),
  api: () => apiSection(options.api),
  fanout: () => fanoutSection(options.fanout),
  restart: () => restartSection(options.restart),
  memory: () => memorySection(options.memory),
  dashboard: () => dashboardSection(options.dashboard),
  failover: () => failoverSection(options.failover),
  'redis-failover': () => redisFailoverSection(options['redis-failover']),
};

const startedAt = new Date().toISOString();
// Described before the run: the commit and the load are those the figures were measured with.
const description = machine();
const rows: Row[] = [];
const timings: Record<string, number> = {};
try {
  for (const section of SECTIONS) {
    if (!only.includes(section)) continue;
    progress(`section ${section}`);
    const t0 = performance.now();
    try {
      rows.push(...(await run[section]()));
    } catch (e) {
      // One failing section does not lose the others' figures.
      const message = e instanceof Error ? e.message : String(e);
      progress(`section ${section} failed: ${message}`);
      rows.push({
        section,
        figure: `FAILED: ${message.slice(0, 160)}`,
        value: Number.NaN,
        unit: '',
        baseline: Number.NaN,
        baselineName: '-',
      });
    }
    timings[section] = Math.round((performance.now() - t0) / 1000);
  }
} finally {
  killChildren();
}

out('');
out(
  `mlsched bench, ${startedAt}: ${String(description['cpuCount'])} x ${String(description['cpuModel'])}, ${Math.round(Number(description['totalMemoryBytes']) / 2 ** 30)} GiB, node ${process.version}, commit ${String(description['gitCommit']).slice(0, 10)}${description['gitDirty'] ? ' (dirty)' : ''}${quick ? ', --quick' : ''}`,
);
out(`seconds per section: ${JSON.stringify(timings)}`);
out('');
printTable(rows);
const file = writeResults({
  startedAt,
  machine: description,
  flags: values,
  options,
  secondsPerSection: timings,
  rows: rows.map((r) => ({ ...r, ratio: ratio(r) })),
});
out('');
out(`results written to ${file}`);
