/**
 * Section 1, placement scale: N models (1 or 2 replicas, mixed memory and requirements; see
 * `benchModel`) loaded through the system facade onto R server replicas whose simulated agents
 * answer LOADED at once, in process, with no gRPC. For each N x R: wall time from the first
 * LoadModel to all Available, scheduler CPU per model (process.cpuUsage) and heap per model (after
 * GC, beyond the empty fleet's own). Baseline: the same placement rule (first server by name with
 * enough replicas that have the capabilities and memory; most free memory first) over plain
 * arrays and a Map, the least work that places the same models. Then the growth from the smallest to the largest N relative to
 * linear in CPU time (1.00 = linear), per R.
 *
 * Flags (via bench/run.ts): `--models 1000,10000,100000`, `--replicas 10,100,1000`,
 * `--max-work N` skips combinations with models x replicas above N, `--budget-s S` skips a
 * combination whose estimate exceeds S seconds (the growth between the two previous sizes carried
 * on; linear from a single size).
 */
import { Cell } from '../src/actors/cell.js';
import {
  createSchedulerSystem,
  type AgentGateway,
  type AgentOp,
  type SchedulerSystem,
} from '../src/actors/index.js';
import type { ModelDefinition } from '../src/domain/model.js';
import {
  benchModel,
  fleet,
  fmt,
  heapAfterGc,
  progress,
  timed,
  type FleetServer,
  type Row,
} from './lib.js';

/** Over-commit percentage of every simulated replica (as the real agent's default). */
const OVERCOMMIT = 10;
const capacity = (s: FleetServer) => Math.floor(s.memoryBytes * (1 + OVERCOMMIT / 100));

/** Agents that take every op and, when asked, answer it as done, reporting their free memory. */
class InstantAgents implements AgentGateway {
  private ops: { server: string; idx: number; op: AgentOp }[] = [];
  private readonly free = new Map<string, number>();

  constructor(servers: readonly FleetServer[]) {
    for (const s of servers)
      for (let i = 0; i < s.replicas; i++) this.free.set(`${s.name}/${i}`, capacity(s));
  }

  isConnected(): boolean {
    return true;
  }

  send(server: string, idx: number, op: AgentOp): undefined {
    this.ops.push({ server, idx, op });
    return undefined;
  }

  /** Answers every op sent so far (and those its answers cause) as loaded or unloaded. */
  answerAll(system: SchedulerSystem): void {
    for (let ops = this.ops.splice(0); ops.length > 0; ops = this.ops.splice(0)) {
      for (const { server, idx, op } of ops) {
        const key = `${server}/${idx}`;
        const load = op.operation === 'load';
        const memory = op.definition.spec.memoryBytes ?? 0;
        const free = (this.free.get(key) ?? 0) + (load ? -memory : memory);
        this.free.set(key, free);
        system.agentEvent({
          server,
          idx,
          model: op.definition.meta.name,
          version: op.version,
          event: load ? 'loaded' : 'unloaded',
          message: '',
          availableMemoryBytes: free,
        });
      }
    }
  }
}

/** A scheduler system with the fleet's replicas joined, and its instant agents. */
export function schedulerWithFleet(servers: readonly FleetServer[]): {
  system: SchedulerSystem;
  agents: InstantAgents;
} {
  const agents = new InstantAgents(servers);
  let uid = 0;
  const system = createSchedulerSystem({
    agents,
    dataflow: { send: () => undefined },
    newUid: () => `uid${String(++uid).padStart(17, '0')}`,
    timers: { now: () => Date.now(), after: () => () => undefined },
  });
  for (const s of servers) {
    for (let idx = 0; idx < s.replicas; idx++) {
      system.replicaJoined({
        server: s.name,
        idx,
        shared: true,
        config: {
          inferenceSvc: `${s.name}-${idx}`,
          inferenceHttpPort: 9000,
          inferenceGrpcPort: 9500,
          memoryBytes: s.memoryBytes,
          capabilities: s.capabilities,
          overCommitPercentage: OVERCOMMIT,
        },
        availableMemoryBytes: capacity(s),
        loaded: [],
      });
    }
  }
  return { system, agents };
}

/** Loads models 0..n-1 one after the other, each answered by its agents at once. */
export function loadAll(system: SchedulerSystem, agents: InstantAgents, n: number): void {
  for (let i = 0; i < n; i++) {
    system.loadModel(benchModel(i));
    agents.answerAll(system);
  }
}

/** How many models' latest version is Available. */
export const availableCount = (system: SchedulerSystem): number =>
  system.listModels(false).filter((m) => m.versions[0]?.state === 'available').length;

/** The baseline: the same placement rule over plain data, every model Available at once. */
class PlainPlacement {
  private readonly servers: { name: string; caps: Set<string>; free: number[] }[];
  readonly placed = new Map<string, { def: ModelDefinition; server: string; replicas: number[] }>();

  constructor(servers: readonly FleetServer[]) {
    this.servers = [...servers]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((s) => ({
        name: s.name,
        caps: new Set(s.capabilities),
        free: Array.from({ length: s.replicas }, () => capacity(s)),
      }));
  }

  load(def: ModelDefinition): void {
    const memory = def.spec.memoryBytes ?? 0;
    const want = def.deployment?.replicas ?? 1;
    for (const s of this.servers) {
      if (!def.spec.requirements.every((r) => s.caps.has(r))) continue;
      const fit = s.free
        .map((free, idx) => ({ free, idx }))
        .filter((r) => r.free >= memory)
        .sort((a, b) => b.free - a.free || a.idx - b.idx);
      if (fit.length < want) continue;
      const replicas = fit.slice(0, want).map((r) => r.idx);
      for (const idx of replicas) s.free[idx]! -= memory;
      this.placed.set(def.meta.name, { def, server: s.name, replicas });
      return;
    }
    throw new Error(`baseline could not place ${def.meta.name}`);
  }
}

interface Measured {
  wallMs: number;
  cpuMs: number;
  heapBytes: number;
  /** CPU per model unloaded afterwards (UnloadModel and its agent's answer), µs: scheduler only. */
  unloadUs?: number;
}

/** The model count at which the machines' own share is measured (once per fleet size). */
const MACHINES_ALONE_AT = 10_000;

/** How many of the loaded models are then unloaded, at most. */
const UNLOADS = 1000;

/** Loads n models onto the fleet through the scheduler; checks they all end Available. */
async function measureScheduler(n: number, servers: readonly FleetServer[]): Promise<Measured> {
  const { system, agents } = schedulerWithFleet(servers);
  const heap0 = await heapAfterGc();
  const { wallMs, cpuMs } = await timed(() => {
    loadAll(system, agents, n);
  });
  const available = availableCount(system);
  if (available !== n) throw new Error(`only ${available} of ${n} models Available`);
  const heapBytes = (await heapAfterGc()) - heap0;
  // Each unload frees capacity, which the scheduler offers to models waiting for some: that must
  // not cost a walk of every model (it did: unloading N of N models cost N²).
  const unloads = Math.min(UNLOADS, n);
  const unload = await timed(() => {
    for (let i = 0; i < unloads; i++) {
      system.unloadModel(benchModel(i).meta.name);
      agents.answerAll(system);
    }
  });
  system.stop();
  return { wallMs, cpuMs, heapBytes, unloadUs: (unload.cpuMs * 1000) / unloads };
}

/** The same models through the baseline. */
async function measureBaseline(n: number, servers: readonly FleetServer[]): Promise<Measured> {
  const plain = new PlainPlacement(servers);
  const heap0 = await heapAfterGc();
  const { wallMs, cpuMs } = await timed(() => {
    for (let i = 0; i < n; i++) plain.load(benchModel(i));
  });
  if (plain.placed.size !== n) throw new Error('baseline lost models');
  const heapBytes = (await heapAfterGc()) - heap0;
  return { wallMs, cpuMs, heapBytes };
}

/** One cell's life as the scheduler drove it: its machine, how it began, the events it took. */
interface CellLife {
  machine: Parameters<typeof Cell.of>[0];
  from: Parameters<typeof Cell.of>[1];
  events: unknown[];
}

/**
 * The XState work alone of loading n models: the scheduler's run is recorded (every cell created
 * and every event sent, as placement and settling drove them), then the same cells are created
 * and stepped with the same events, by the same machines, with nothing of the scheduler around
 * them. Its CPU per model is the floor under the scheduler's while every state change is an XState
 * transition (what issue-style targets must be measured against). The recording wraps Cell.of and
 * Cell.prototype.send for the recorded run only.
 */
async function measureMachinesAlone(
  n: number,
  servers: readonly FleetServer[],
): Promise<{ cpuMs: number; transitions: number; created: number }> {
  const lives: CellLife[] = [];
  const lifeOf = new WeakMap<object, CellLife>();
  const of = Cell.of.bind(Cell);
  // Restored as it was after the recorded run; called with `.call(this)` meanwhile.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const send = Cell.prototype.send;
  Cell.of = (machine, from) => {
    const cell = of(machine, from);
    const life: CellLife = { machine, from, events: [] };
    lives.push(life);
    lifeOf.set(cell, life);
    return cell;
  };
  Cell.prototype.send = function (this: Cell<never>, event) {
    lifeOf.get(this)?.events.push(event);
    return send.call(this, event);
  };
  try {
    const { system, agents } = schedulerWithFleet(servers);
    loadAll(system, agents, n);
    system.stop();
  } finally {
    Cell.of = of;
    Cell.prototype.send = send;
  }
  const transitions = lives.reduce((sum, l) => sum + l.events.length, 0);
  const { cpuMs } = await timed(() => {
    for (const life of lives) {
      const cell = Cell.of(life.machine, life.from);
      for (const event of life.events) cell.send(event);
    }
  });
  return { cpuMs, transitions, created: lives.length };
}

/**
 * The expected wall time of loading n models: the last size measured, scaled by the growth seen
 * between the last two sizes (n^k, k at least 1), or linearly when only one size is known.
 */
function estimate(done: readonly { n: number; sched: Measured }[], n: number): number {
  const last = done.at(-1);
  const before = done.at(-2);
  if (!last) return 0;
  const k = before
    ? Math.max(1, Math.log(last.sched.wallMs / before.sched.wallMs) / Math.log(last.n / before.n))
    : 1;
  return last.sched.wallMs * (n / last.n) ** k;
}

export interface PlacementOptions {
  models: readonly number[];
  replicas: readonly number[];
  /** Skip combinations whose models x replicas exceed this. */
  maxWork: number;
  /** Skip a combination whose estimated wall time (see `estimate`) exceeds this. */
  budgetMs: number;
}

export async function placementSection(o: PlacementOptions): Promise<Row[]> {
  const section = 'placement';
  const rows: Row[] = [];
  // Warm-up (JIT) so the smallest size is not charged with compiling the scheduler.
  await measureScheduler(Math.min(1000, o.models[0] ?? 1000), fleet(10, 1000));
  for (const r of o.replicas) {
    const done: { n: number; sched: Measured; base: Measured }[] = [];
    for (const n of o.models) {
      const estimateMs = estimate(done, n);
      if (n * r > o.maxWork || estimateMs > o.budgetMs) {
        const why =
          n * r > o.maxWork
            ? `models x replicas above --max-work ${o.maxWork}`
            : `estimated ${fmt(estimateMs / 1000)} s, above the ${fmt(o.budgetMs / 1000)} s budget`;
        progress(`placement ${n} models on ${r} replicas skipped: ${why}`);
        rows.push({
          section,
          figure: `${n} models on ${r} replicas: skipped (${why})`,
          value: Number.NaN,
          unit: '',
          baseline: Number.NaN,
          baselineName: '-',
        });
        continue;
      }
      progress(`placement: ${n} models on ${r} replicas`);
      const servers = fleet(r, n);
      const base = await measureBaseline(n, servers);
      const sched = await measureScheduler(n, servers);
      done.push({ n, sched, base });
      const what = `${n} models on ${r} replicas`;
      const detail = { models: n, replicas: r, scheduler: sched, baseline: base };
      if (n === MACHINES_ALONE_AT) {
        const alone = await measureMachinesAlone(n, servers);
        rows.push({
          section,
          figure: `${what}: the machines alone, CPU per model (the same ${fmt(alone.created / n)} cells created and ${fmt(alone.transitions / n)} transitions per model, replayed without the scheduler)`,
          value: (alone.cpuMs * 1000) / n,
          unit: 'µs',
          baseline: (base.cpuMs * 1000) / n,
          baselineName: 'plain placement',
        });
      }
      rows.push(
        {
          section,
          figure: `${what}: load to all Available`,
          value: sched.wallMs,
          unit: 'ms',
          baseline: base.wallMs,
          baselineName: 'plain placement',
          detail,
        },
        {
          section,
          figure: `${what}: CPU per model`,
          value: (sched.cpuMs * 1000) / n,
          unit: 'µs',
          baseline: (base.cpuMs * 1000) / n,
          baselineName: 'plain placement',
          ...(n >= 10_000
            ? {
                target: {
                  text: 'at most 10x plain placement',
                  met: sched.cpuMs / base.cpuMs <= 10,
                },
              }
            : {}),
        },
        {
          section,
          figure: `${what}: heap per model`,
          value: sched.heapBytes / n,
          unit: 'B',
          baseline: base.heapBytes / n,
          baselineName: 'plain placement (definitions in a Map)',
          ...(n >= 10_000
            ? {
                target: {
                  text: 'at most 2,000 B per model',
                  met: sched.heapBytes / n <= 2000,
                },
              }
            : {}),
        },
      );
    }
    const first = done[0];
    const last = done.at(-1);
    if (first && last && last.n > first.n) {
      // CPU time rather than wall time: other processes on a shared machine inflate wall time.
      const growth = (m: Measured, f: Measured) => m.cpuMs / f.cpuMs / (last.n / first.n);
      const value = growth(last.sched, first.sched);
      rows.push({
        section,
        figure: `growth ${first.n}→${last.n} models on ${r} replicas, relative to linear (CPU time)`,
        value,
        unit: '',
        baseline: growth(last.base, first.base),
        baselineName: 'plain placement',
        // The target is for 1k → 100k; a shorter span only hints at it.
        ...(first.n <= 1000 && last.n >= 100_000
          ? { target: { text: '1k→100k within 1.3x of linear', met: value <= 1.3 } }
          : {}),
      });
      rows.push({
        section,
        figure: `${last.n} models on ${r} replicas: CPU per unload (${Math.min(UNLOADS, last.n)} unloaded, each answered)`,
        value: last.sched.unloadUs ?? Number.NaN,
        unit: 'µs',
        baseline: first.sched.unloadUs ?? Number.NaN,
        baselineName: `the same with ${first.n} models`,
      });
    }
  }
  return rows;
}
