/**
 * The real side of the whole-system property test: a scheduler (TestWorld) with simulated agents that
 * really hold memory for what they load, simulated dataflow engines, and the replies they owe. Who
 * answers when is decided outside: by fast-check's scheduler (one task per op sent) or, in
 * hand-written regressions, by `answerAgent(pick)` / `answerEngine(pick)`. The cluster survives a
 * scheduler restart: the agents keep what they hold and reconnect to the restored scheduler.
 */
import assert from 'node:assert/strict';
import { isSchedulerError } from '../../src/domain/errors.js';
import { requiredMemory, type ModelDefinition } from '../../src/domain/model.js';
import { changedKeys, type PersistedResource } from '../../src/actors/index.js';
import { TestWorld } from './system.js';

/** Over-commit every simulated agent announces (percent). */
export const OVERCOMMIT = 10;

/** A model version an agent has loaded, and the memory it takes. */
interface Held {
  definition: ModelDefinition;
  version: number;
  memory: number;
}

/** One simulated agent (server replica): alive from join until leave, across scheduler restarts. */
interface Agent {
  server: string;
  idx: number;
  memory: number;
  capabilities: string[];
  held: Map<string, Held>;
}

type AgentOpRecord = TestWorld['agents']['ops'][number];
type EngineOpRecord = TestWorld['engines']['ops'][number];

export interface ClusterOptions {
  drainTimeoutMs: number;
  reconnectGraceMs: number;
  /** Called once for every op the scheduler sends; `answer` delivers one reply when called. */
  onOp?: (answer: () => void, label: string) => void;
  /** The outcome of the next reply (true: success). */
  outcome?: () => boolean;
}

const agentKey = (server: string, idx: number) => `${server}/${idx}`;
/** An agent answers the ops of one model in order; across models and replicas, in any order. */
const opKey = (o: AgentOpRecord) =>
  `${o.server}/${o.idx}/${o.op.definition.meta.name}:${o.op.version}`;

/**
 * Runs `fn`, accepting a FailedPrecondition refusal (the scheduler moved past the op, or refused
 * input); true when it was accepted.
 */
export function refusable(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (!isSchedulerError(e) || e.code !== 'FailedPrecondition') throw e;
    return false;
  }
}

export class Cluster {
  world: TestWorld;
  readonly agents = new Map<string, Agent>();
  /** Engines that are up; after a restart they reconnect with the agents. */
  readonly engines = new Set<string>();
  /** When the scheduler last restarted (ms); restored replicas wait for their agents from then. */
  restartedAt = -Infinity;
  /** The first failure seen while answering ops outside a command (rethrown by the next command). */
  private failure: Error | undefined;
  private readonly told = new WeakSet<object>();

  constructor(
    private readonly opts: ClusterOptions,
    private readonly checks: (c: Cluster) => void = () => undefined,
  ) {
    this.world = this.newWorld();
  }

  private restarts = 0;

  /**
   * The store, as the persistence layer keeps it: each record rewritten when a change names its key
   * (deleted when the resource is gone). A change the scheduler forgets to report shows at restart.
   */
  private readonly stored = new Map<string, unknown>();

  /**
   * The latest version of each model that clients have seen since it was last deleted (a model
   * created again starts at its first version again). No view may show less, restarts included.
   */
  private readonly seenVersions = new Map<string, number>();

  /** Notes the model's latest version as clients see it now; fails when it went back. */
  private see(name: string): void {
    const m = this.world.system.model(name, false);
    if (!m || m.deleted) {
      this.seenVersions.delete(name);
      return;
    }
    const version = m.versions.at(-1)?.version ?? 0;
    const seen = this.seenVersions.get(name) ?? 0;
    assert.ok(version >= seen, `model ${name} went back from version ${seen} to ${version}`);
    this.seenVersions.set(name, version);
  }

  private newWorld(restore?: { records: PersistedResource[]; now: number }): TestWorld {
    const o = {
      drainTimeoutMs: this.opts.drainTimeoutMs,
      reconnectGraceMs: this.opts.reconnectGraceMs,
      uidBase: this.restarts * 1_000_000,
    };
    const w = new TestWorld(restore ? { ...o, restore: restore.records, now: restore.now } : o);
    w.system.subscribe((changes) => {
      for (const key of changedKeys(changes)) {
        const value = w.system.exportRecord(key);
        if (value === undefined) this.stored.delete(key);
        else this.stored.set(key, JSON.parse(JSON.stringify(value)));
      }
      for (const name of changes.models) this.see(name);
    });
    return w;
  }

  get system() {
    return this.world.system;
  }

  /** Rethrows a failure seen while answering an op between commands. */
  rethrow(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Hands every op sent since the last call to `onOp` (fast-check's scheduler decides when). */
  private announceOps(): void {
    const { onOp } = this.opts;
    if (!onOp) return;
    for (const o of this.world.agents.ops) {
      if (this.told.has(o)) continue;
      this.told.add(o);
      const key = opKey(o);
      onOp(() => {
        this.guard(() => {
          this.answerAgentOp(this.world.agents.ops.findIndex((x) => opKey(x) === key));
        });
      }, `${o.op.operation} ${key}`);
    }
    for (const o of this.world.engines.ops) {
      if (this.told.has(o)) continue;
      this.told.add(o);
      onOp(() => {
        this.guard(() => {
          this.answerEngineOp(this.world.engines.ops.indexOf(o));
        });
      }, `${o.op.op} ${o.op.definition.name}:${o.op.version}@${o.engine}`);
    }
  }

  private guard(fn: () => void): void {
    if (this.failure !== undefined) return;
    try {
      fn();
      this.checks(this);
      this.announceOps();
    } catch (e) {
      this.failure = e instanceof Error ? e : new Error(String(e));
    }
  }

  /** Runs one client or cluster action, then checks the invariants and hands out the new ops. */
  act(fn: () => void): void {
    this.rethrow();
    fn();
    this.checks(this);
    this.announceOps();
  }

  free(a: Agent): number {
    const used = [...a.held.values()].reduce((s, h) => s + h.memory, 0);
    return Math.max(0, Math.floor(a.memory * (1 + OVERCOMMIT / 100)) - used);
  }

  agent(server: string, idx: number): Agent | undefined {
    return this.agents.get(agentKey(server, idx));
  }

  connected(server: string, idx: number): boolean {
    return this.world.agents.isConnected(server, idx);
  }

  /**
   * An agent subscribes. A new one brings `memory`; one that was up across a scheduler restart comes
   * back with what it holds.
   */
  join(server: string, idx: number, memory: number, capabilities: string[]): void {
    if (this.connected(server, idx)) return;
    let a = this.agent(server, idx);
    if (!a) {
      a = { server, idx, memory, capabilities, held: new Map() };
      this.agents.set(agentKey(server, idx), a);
    }
    this.world.join(server, idx, {
      memory: a.memory,
      available: this.free(a),
      capabilities: a.capabilities,
      loaded: [...a.held.values()].map(({ definition, version }) => ({ definition, version })),
    });
  }

  /** An agent's process ends: its stream closes and whatever it held is gone. */
  leave(server: string, idx: number): void {
    if (!this.agents.delete(agentKey(server, idx))) return;
    const ops = this.world.agents.ops;
    ops.splice(
      0,
      ops.length,
      ...ops.filter((o) => agentKey(o.server, o.idx) !== agentKey(server, idx)),
    );
    if (this.connected(server, idx)) this.world.leave(server, idx);
  }

  engineJoin(engine: string): void {
    if (this.engines.has(engine) && this.system.listEngines().includes(engine)) return;
    this.engines.add(engine);
    this.system.engineJoined(engine);
  }

  engineLeave(engine: string): void {
    if (!this.engines.delete(engine)) return;
    const ops = this.world.engines.ops;
    ops.splice(0, ops.length, ...ops.filter((o) => o.engine !== engine));
    if (this.system.listEngines().includes(engine)) this.system.engineLeft(engine);
  }

  /** What an agent does with an op; returns the event it reports. */
  private perform(o: AgentOpRecord, ok: boolean): 'loaded' | 'loadFailed' | 'unloaded' {
    const a = this.agent(o.server, o.idx);
    const id = `${o.op.definition.meta.name}:${o.op.version}`;
    if (o.op.operation === 'unload') {
      a?.held.delete(id);
      return 'unloaded';
    }
    if (!ok) return 'loadFailed';
    // This agent trusts the scheduler and loads whatever it is told: over-commit would show.
    a?.held.set(id, {
      definition: o.op.definition,
      version: o.op.version,
      memory: requiredMemory(o.op.definition.spec),
    });
    return 'loaded';
  }

  private outcome(ok?: boolean): boolean {
    return ok ?? this.opts.outcome?.() ?? true;
  }

  /** Answers the first pending op of the model and replica of `ops[index]` (none when index < 0). */
  private answerAgentOp(index: number, ok?: boolean): void {
    const ops = this.world.agents.ops;
    const chosen = ops[index];
    if (!chosen) return;
    const first = ops.findIndex((o) => opKey(o) === opKey(chosen));
    const [o] = ops.splice(first, 1);
    if (!o) return;
    const event = this.perform(o, this.outcome(ok));
    const a = this.agent(o.server, o.idx);
    // A reply to an op the scheduler has since moved past is refused; that is allowed.
    refusable(() => {
      this.world.reply(o.server, o.idx, o.op.definition.meta.name, o.op.version, event, {
        available: a ? this.free(a) : 0,
        message: 'no',
      });
    });
  }

  private answerEngineOp(index: number, ok?: boolean): void {
    const ops = this.world.engines.ops;
    if (index < 0 || index >= ops.length) return;
    const [o] = ops.splice(index, 1);
    if (!o) return;
    const success = this.outcome(ok);
    this.world.now += 1;
    // The pipeline was re-created since (a new uid): the answer is refused, as Seldon does.
    refusable(() => {
      this.system.dataflowEvent({
        engine: o.engine,
        op: o.op.op,
        pipeline: o.op.definition.name,
        version: o.op.version,
        uid: o.op.uid,
        timestamp: o.op.timestamp,
        success,
        reason: success ? '' : 'no',
      });
    });
  }

  /** Hand-written regressions: answer the pending agent op at `pick` (modulo the queue). */
  answerAgent(pick: number, ok: boolean): void {
    const n = this.world.agents.ops.length;
    if (n > 0) this.answerAgentOp(pick % n, ok);
  }

  answerEngine(pick: number, ok: boolean): void {
    const n = this.world.engines.ops.length;
    if (n > 0) this.answerEngineOp(pick % n, ok);
  }

  /**
   * The scheduler process restarts from its records. What agents were doing finishes while it is
   * down (their answers are lost); the restored scheduler must look exactly like the old one. With
   * `reconnect`, every agent and engine then subscribes again; otherwise they come back one by one
   * through later joins, or their replicas are given up after the reconnect grace.
   */
  restart(reconnect: boolean): void {
    const old = this.world;
    for (const o of old.agents.ops) this.perform(o, this.outcome());
    old.agents.ops.length = 0;
    old.engines.ops.length = 0;
    old.system.stop();
    const byKey = (a: PersistedResource, b: PersistedResource) => a.key.localeCompare(b.key);
    const records = [...this.stored].map(([key, value]) => ({ key, value })).sort(byKey);
    assert.deepEqual(records, old.records().sort(byKey), 'the store missed a change');
    this.restarts += 1;
    this.world = this.newWorld({ records, now: old.now });
    this.restartedAt = this.world.now;
    assert.deepEqual(this.world.views(), old.views(), 'restored views differ');
    assert.deepEqual(this.world.records().sort(byKey), records, 'restored records differ');
    for (const m of this.system.listModels(false)) this.see(m.name);
    if (!reconnect) {
      this.engines.clear();
      return;
    }
    for (const e of this.engines) this.system.engineJoined(e);
    this.rejoinAgents();
  }

  /** Every agent that is up but not subscribed (since a restart) subscribes again. */
  rejoinAgents(): void {
    for (const a of this.agents.values()) this.join(a.server, a.idx, a.memory, a.capabilities);
  }

  /** Answers every outstanding op with success until agents and engines are quiet. */
  quiesce(): void {
    for (let i = 0; i < 1000 && this.world.agents.ops.length > 0; i++) this.answerAgent(0, true);
    assert.equal(this.world.agents.ops.length, 0, 'agents never went quiet');
    for (let i = 0; i < 1000 && this.world.engines.ops.length > 0; i++) this.answerEngine(0, true);
    assert.equal(this.world.engines.ops.length, 0, 'engines never went quiet');
  }

  pendingOps(): readonly (AgentOpRecord | EngineOpRecord)[] {
    return [...this.world.agents.ops, ...this.world.engines.ops];
  }
}
