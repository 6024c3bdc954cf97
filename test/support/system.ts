import {
  createSchedulerSystem,
  type PersistedResource,
  type SchedulerSystem,
} from '../../src/actors/index.js';
import type { ModelDefinition, RuntimeInfo } from '../../src/domain/model.js';
import type { PipelineDefinition } from '../../src/domain/pipeline.js';
import { RecordingAgents, RecordingEngines } from './recording-agents.js';

/** A scheduler system with recording agents and a hand-driven clock, for unit tests. */
export class TestWorld {
  readonly agents = new RecordingAgents();
  readonly engines = new RecordingEngines();
  private uids = 0;
  now = 1_000;
  private timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  readonly system: SchedulerSystem;

  constructor(
    opts: {
      drainTimeoutMs?: number;
      deletedTtlMs?: number;
      reconnectGraceMs?: number;
      restore?: PersistedResource[];
      now?: number;
      /** Uids start after this number (a restarted world must not reuse its predecessor's). */
      uidBase?: number;
    } = {},
  ) {
    if (opts.now !== undefined) this.now = opts.now;
    const { uidBase = 0, ...deps } = opts;
    this.uids = uidBase;
    this.system = createSchedulerSystem({
      agents: this.agents,
      dataflow: this.engines,
      newUid: () => `uid${String(++this.uids).padStart(17, '0')}`,
      timers: {
        now: () => this.now,
        after: (ms, fn) => {
          const t = { at: this.now + ms, fn, cancelled: false };
          this.timers.push(t);
          return () => {
            t.cancelled = true;
          };
        },
      },
      ...deps,
    });
  }

  /** Moves the clock forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = this.timers
        .filter((t) => !t.cancelled && t.at <= end)
        .sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.now = Math.max(this.now, due.at);
      due.cancelled = true;
      due.fn();
    }
    this.now = end;
  }

  join(
    server: string,
    idx: number,
    o: {
      memory?: number;
      available?: number;
      capabilities?: string[];
      shared?: boolean;
      loaded?: { definition: ModelDefinition; version: number }[];
    } = {},
  ): void {
    this.agents.connect(server, idx);
    this.system.replicaJoined({
      server,
      idx,
      shared: o.shared ?? true,
      config: {
        inferenceSvc: `${server}-${idx}`,
        inferenceHttpPort: 9000,
        inferenceGrpcPort: 9500,
        memoryBytes: o.memory ?? 1000,
        capabilities: o.capabilities ?? ['sklearn', 'xgboost'],
        overCommitPercentage: 10,
      },
      availableMemoryBytes: o.available ?? o.memory ?? 1000,
      loaded: o.loaded ?? [],
    });
  }

  leave(server: string, idx: number): void {
    this.agents.disconnect(server, idx);
    this.system.replicaLeft(server, idx);
  }

  /** Replies to an op as the agent of `server/idx` would. */
  reply(
    server: string,
    idx: number,
    model: string,
    version: number,
    event: 'loaded' | 'loadFailed' | 'unloaded' | 'unloadFailed',
    o: { message?: string; available?: number; runtimeInfo?: RuntimeInfo } = {},
  ): void {
    this.now += 1;
    this.system.agentEvent({
      server,
      idx,
      model,
      version,
      event,
      message: o.message ?? '',
      availableMemoryBytes: o.available ?? 900,
      ...(o.runtimeInfo ? { runtimeInfo: o.runtimeInfo } : {}),
    });
  }

  /** Answers every recorded op with success and returns what was answered. */
  ackAll(): string[] {
    const done: string[] = [];
    for (let ops = this.agents.ops.splice(0); ops.length > 0; ops = this.agents.ops.splice(0)) {
      for (const { server, idx, op } of ops) {
        done.push(`${op.operation} ${op.definition.meta.name}:${op.version}@${server}/${idx}`);
        this.reply(
          server,
          idx,
          op.definition.meta.name,
          op.version,
          op.operation === 'load' ? 'loaded' : 'unloaded',
        );
      }
    }
    return done;
  }

  /** A dataflow engine subscribes. */
  engineJoin(engine: string): void {
    this.system.engineJoined(engine);
  }

  /** Answers every recorded dataflow op (of `engine`, or all) as an engine would. */
  engineAckAll(o: { engine?: string; success?: boolean; reason?: string } = {}): string[] {
    const done: string[] = [];
    const mine = (e: string) => o.engine === undefined || e === o.engine;
    for (
      let ops = this.engines.ops.filter((x) => mine(x.engine));
      ops.length > 0;
      ops = this.engines.ops.filter((x) => mine(x.engine))
    ) {
      this.engines.ops.splice(
        0,
        this.engines.ops.length,
        ...this.engines.ops.filter((x) => !mine(x.engine)),
      );
      for (const { engine, op } of ops) {
        done.push(`${op.op} ${op.definition.name}:${op.version}@${engine}`);
        this.now += 1;
        this.system.dataflowEvent({
          engine,
          op: op.op,
          pipeline: op.definition.name,
          version: op.version,
          uid: op.uid,
          timestamp: op.timestamp,
          success: o.success ?? true,
          reason: o.reason ?? '',
        });
      }
    }
    return done;
  }

  /** The latest version of a pipeline as `status reason modelsReady`. */
  pipelineState(name: string): string {
    const v = this.system.pipeline(name, false)?.versions[0];
    if (!v) throw new Error(`no pipeline ${name}`);
    return `${v.state}|${v.reason}|${v.modelsReady ? 'modelsReady' : 'modelsNotReady'}`;
  }

  /** Every record as a persistence subscriber would write it (JSON round trip included). */
  records(): PersistedResource[] {
    return this.system.recordKeys().map((key) => ({
      key,
      value: JSON.parse(JSON.stringify(this.system.exportRecord(key))) as unknown,
    }));
  }

  /** Everything the status calls can see, for comparing a world with its restored copy. */
  views(): unknown {
    const all = {
      models: this.system.listModels(true),
      servers: this.system.listServers(),
      pipelines: this.system.listPipelines(true),
      experiments: this.system.listExperiments(),
    };
    // As clients see them: a field set to undefined and a missing one are the same on the wire.
    return JSON.parse(JSON.stringify(all)) as unknown;
  }

  latest(name: string) {
    const v = this.system.model(name, false)?.versions[0];
    if (!v) throw new Error(`no model ${name}`);
    return v;
  }

  versions(name: string) {
    return (this.system.model(name, true)?.versions ?? []).map((v) => `${v.version}:${v.state}`);
  }
}

export function def(
  name: string,
  o: {
    uri?: string;
    replicas?: number;
    minReplicas?: number;
    memory?: number;
    requirements?: string[];
    server?: string;
    generation?: number;
  } = {},
): ModelDefinition {
  const d: ModelDefinition = {
    meta: { name },
    spec: {
      uri: o.uri ?? `gs://m/${name}`,
      requirements: o.requirements ?? ['sklearn'],
      parameters: [],
      memoryBytes: o.memory ?? 100,
    },
    deployment: {
      replicas: o.replicas ?? 1,
      minReplicas: o.minReplicas ?? 0,
      maxReplicas: 0,
      logPayloads: false,
    },
  };
  if (o.server) d.spec.server = o.server;
  if (o.generation !== undefined)
    d.meta.kubernetesMeta = { namespace: 'seldon', generation: o.generation };
  return d;
}

/** A raw (not yet normalised) pipeline: `steps` maps step name to its inputs. */
export function pipe(
  name: string,
  steps: Record<string, string[]>,
  o: { output?: string[]; triggers?: Record<string, string[]>; generation?: number } = {},
): PipelineDefinition {
  const p: PipelineDefinition = {
    name,
    steps: Object.entries(steps).map(([step, inputs]) => ({
      name: step,
      inputs,
      triggers: o.triggers?.[step] ?? [],
      tensorMap: {},
      inputsJoin: 'inner',
      triggersJoin: 'inner',
    })),
  };
  if (o.output) p.output = { steps: o.output, joinWindowMs: 0, stepsJoin: 'inner', tensorMap: {} };
  if (o.generation !== undefined) p.kubernetesMeta = { namespace: 'ns', generation: o.generation };
  return p;
}
