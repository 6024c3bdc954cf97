/**
 * Shared pieces of the benchmark suite (`npm run bench`): the result row every section returns, the
 * table and JSON report, the machine's description, timers (wall, CPU, heap after GC), the workload
 * (a mix of models and a fleet of server replicas), and child processes (the real scheduler, the
 * no-op baseline server, helper scripts). Measures nothing by itself.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ModelDefinition } from '../src/domain/model.js';
import type { LoadModelRequest } from '../src/gen/mlops/scheduler/scheduler.js';

// ───────────────────────────── results ─────────────────────────────

/** One figure of the report, with the baseline measured in the same run. */
export interface Row {
  section: string;
  figure: string;
  value: number;
  unit: string;
  baseline: number;
  baselineName: string;
  /** A target of issue 6 this row is checked against, and whether it is met. */
  target?: { text: string; met: boolean };
  /** Anything else worth keeping in the JSON (counts, raw timings). */
  detail?: Record<string, unknown>;
}

/** value / baseline, or NaN when the baseline is zero or missing. */
export const ratio = (r: Pick<Row, 'value' | 'baseline'>): number =>
  r.baseline > 0 ? r.value / r.baseline : Number.NaN;

/** The report goes to stdout; progress lines go to stderr so the table can be piped alone. */
export const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
export const progress = (line: string): void => {
  process.stderr.write(`  … ${line}\n`);
};

/** A number with 3 significant digits (thousands separated), or '-' when not finite. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return '-';
  const abs = Math.abs(n);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

/** The markdown table of all rows. */
export function printTable(rows: readonly Row[]): void {
  out('| section | figure | value | baseline (same run) | ratio | target |');
  out('|---|---|---|---|---|---|');
  for (const r of rows) {
    const unit = r.unit === '' ? '' : ` ${r.unit}`;
    const target = r.target ? `${r.target.met ? 'met' : 'NOT met'}: ${r.target.text}` : '';
    out(
      `| ${r.section} | ${r.figure} | ${fmt(r.value)}${unit} | ${r.baselineName}: ${fmt(r.baseline)}${unit} | ${fmt(ratio(r))}x | ${target} |`,
    );
  }
}

/** What the machine is, so runs on different machines are not compared blindly. */
export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
  };
  return {
    cpuModel: cpus[0]?.model,
    cpuCount: cpus.length,
    totalMemoryBytes: os.totalmem(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    gitCommit: git('rev-parse', 'HEAD'),
    gitDirty: (git('status', '--porcelain') ?? '') !== '',
    loadAverage: os.loadavg(),
  };
}

/** Writes the run to bench/results/<timestamp>.json; returns the path. */
export function writeResults(report: Record<string, unknown>): string {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

// ───────────────────────────── timing ─────────────────────────────

setFlagsFromString('--expose-gc');
const runGc = runInNewContext('gc') as () => void;

/** Heap used after full garbage collections (with a turn of the event loop between), in bytes. */
export async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    runGc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

/** Wall and CPU (user + system, this process) time of `f`, in ms. */
export async function timed(
  f: () => Promise<void> | void,
): Promise<{ wallMs: number; cpuMs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** CPU time (user + system) another process has used so far, in ms; from /proc (Linux only). */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3; utime and
    // stime are fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / 100) * 1000;
  } catch {
    return Number.NaN;
  }
}

/**
 * Runs `call(i)` for i = 0, 1, 2, ... with at most `inFlight` pending at once, until `count` calls
 * have been started or `untilMs` has passed (whichever comes first); resolves with the number done.
 */
export async function inFlight(
  inFlightCalls: number,
  call: (i: number) => Promise<unknown>,
  limit: { count?: number; untilMs?: number },
): Promise<number> {
  const deadline = limit.untilMs === undefined ? Infinity : performance.now() + limit.untilMs;
  const count = limit.count ?? Infinity;
  let next = 0;
  const lane = async () => {
    while (next < count && performance.now() < deadline) await call(next++);
  };
  await Promise.all(Array.from({ length: inFlightCalls }, lane));
  return next;
}

// ───────────────────────────── workload ─────────────────────────────

const MiB = 2 ** 20;
/** Model sizes, requirements and replica counts cycle with coprime periods, so they mix. */
const MEMORY = [1 * MiB, 10 * MiB, 50 * MiB, 200 * MiB, 5 * MiB];
const REQUIREMENTS = [['sklearn'], ['xgboost'], ['tensorflow'], ['sklearn', 'mlserver']];
/** Even servers run MLServer, odd ones Triton: each requirement fits one kind or both. */
const CAPABILITIES = [
  ['mlserver', 'sklearn', 'xgboost', 'lightgbm'],
  ['triton', 'tensorflow', 'sklearn', 'onnx'],
];
/** Replicas per server in the fleet (the last server may have fewer). */
const REPLICAS_PER_SERVER = 5;

/** Model i of the workload, as the domain's definition (what the system facade takes). */
export function benchModel(i: number, prefix = 'm'): ModelDefinition {
  const name = `${prefix}-${i}`;
  return {
    meta: { name },
    spec: {
      uri: `gs://models/${name}`,
      requirements: [...REQUIREMENTS[i % REQUIREMENTS.length]!],
      parameters: [],
      memoryBytes: MEMORY[i % MEMORY.length]!,
    },
    deployment: {
      replicas: i % 3 === 0 ? 2 : 1,
      minReplicas: 0,
      maxReplicas: 0,
      logPayloads: false,
    },
  };
}

/** Model i of the workload, as a LoadModel request (what the gRPC API takes). */
export function benchLoadRequest(i: number, prefix = 'm'): LoadModelRequest {
  const { meta, spec, deployment } = benchModel(i, prefix);
  return {
    model: {
      meta: { name: meta.name },
      modelSpec: {
        uri: spec.uri,
        requirements: spec.requirements,
        parameters: [],
        ...(spec.memoryBytes === undefined ? {} : { memoryBytes: BigInt(spec.memoryBytes) }),
      },
      ...(deployment ? { deploymentSpec: deployment } : {}),
    },
  };
}

/** One server of the fleet: its name, replica count, capabilities and memory per replica. */
export interface FleetServer {
  name: string;
  replicas: number;
  capabilities: string[];
  memoryBytes: number;
}

/**
 * `replicas` server replicas in servers of {@link REPLICAS_PER_SERVER}, alternating capabilities,
 * each replica with room for twice its share of the first `models` models of the workload (so
 * every model fits, with headroom for placement to choose).
 */
export function fleet(replicas: number, models: number): FleetServer[] {
  let demand = 0;
  for (let i = 0; i < models; i++) {
    const m = benchModel(i);
    demand += (m.spec.memoryBytes ?? 0) * (m.deployment?.replicas ?? 1);
  }
  const memoryBytes = Math.ceil((2 * demand) / replicas) + 200 * MiB;
  const servers: FleetServer[] = [];
  for (let s = 0; s * REPLICAS_PER_SERVER < replicas; s++) {
    servers.push({
      name: `server-${String(s).padStart(4, '0')}`,
      replicas: Math.min(REPLICAS_PER_SERVER, replicas - s * REPLICAS_PER_SERVER),
      capabilities: CAPABILITIES[s % CAPABILITIES.length]!,
      memoryBytes,
    });
  }
  return servers;
}

// ───────────────────────────── processes ─────────────────────────────

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'mlsched.js');
const children = new Set<ChildProcess>();

/** A child process that printed one JSON line when ready. */
export interface Child<T> {
  process: ChildProcess;
  ready: T;
  /**
   * SIGKILL (nothing of a benchmark's child needs a graceful end), then waits for the exit; SIGTERM
   * when profiling, so the child writes its profile.
   */
  stop(): Promise<void>;
}

/**
 * `BENCH_PROFILE_DIR=/tmp/prof npm run bench ...` runs every child with `--cpu-prof` into that
 * directory (one .cpuprofile per child, for Chrome DevTools or `node --prof`-style summaries).
 */
const PROFILE_DIR = process.env['BENCH_PROFILE_DIR'];

/**
 * Spawns `node <args>`, resolving with the first stdout line parsed as JSON. stderr is passed
 * through (the children log only warnings).
 */
async function spawnJson<T>(args: readonly string[]): Promise<Child<T>> {
  const profile = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const p = spawn(process.execPath, [...profile, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: ROOT,
  });
  children.add(p);
  p.once('exit', () => children.delete(p));
  const lines = createInterface({ input: p.stdout });
  const [line] = (await Promise.race([
    once(lines, 'line'),
    once(p, 'exit').then(([code]) => {
      throw new Error(`node ${args.join(' ')} exited (${String(code)}) before it was ready`);
    }),
  ])) as [string];
  return {
    process: p,
    ready: JSON.parse(line) as T,
    stop: async () => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      const exited = once(p, 'exit');
      p.kill(PROFILE_DIR ? 'SIGTERM' : 'SIGKILL');
      await exited;
    },
  };
}

/** Runs a bench/ script with tsx (e.g. `noop-server.ts`), node's own flags first. */
export const spawnBenchScript = <T>(
  script: string,
  args: readonly string[] = [],
  nodeFlags: readonly string[] = [],
) => spawnJson<T>([...nodeFlags, '--import', 'tsx', join(ROOT, 'bench', script), ...args]);

/** The ports `mlsched serve` prints when it listens. */
export interface ServePorts {
  scheduler: number;
  agent: number;
  dataflow: number;
  http: number;
}

/** The arguments of `node` for `mlsched serve` on loopback with free ports and `store`. */
export const serveArgs = (store: string, bin = BIN): string[] => [
  bin,
  'serve',
  '--host',
  '127.0.0.1',
  '--store',
  store,
  '--scheduler-port',
  '0',
  '--agent-port',
  '0',
  '--dataflow-port',
  '0',
  '--http-port',
  '0',
  '--log-level',
  'warn',
];

/** `mlsched serve` on loopback with free ports and the given store (default memory). */
export const startSchedulerProcess = (store = 'memory', extra: readonly string[] = []) =>
  spawnJson<ServePorts>([...serveArgs(store), ...extra]);

/** Kills whatever child is still running (on the way out, even after a failure). */
export function killChildren(): void {
  for (const c of children) c.kill('SIGKILL');
}

/** Removes every key under `prefix` (SCAN, not KEYS, so a shared Redis is not blocked). */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const r = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await r.unlink(...keys);
  } while (cursor !== '0');
  r.disconnect();
}
