/**
 * A simulated model-server agent (`mlsched agent`): one or more replicas of one server, each speaking
 * the real `seldon.mlops.agent.AgentService` protocol, as Seldon's agents speak it. Loads take
 * `loadMs`, may fail by URI pattern or for lack of memory, and what a replica holds is re-announced
 * (`loadedModels`) whenever it reconnects, so a restarted scheduler gets it back without reloading.
 * Given several scheduler addresses (`serve --ha`), it follows the leader: refused or cut off with
 * UNAVAILABLE, it moves on to the next address and re-announces there.
 */
import {
  credentials,
  Metadata,
  status as grpcStatus,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  AgentServiceClient,
  ModelEventMessage_Event as Event,
  ModelOperationMessage_Operation as Operation,
  type ModelOperationMessage,
  type ModelVersion,
} from '../gen/mlops/agent/agent.js';
import { RECONNECT_CHANNEL_OPTIONS, ReconnectingStream, type SimLogger } from './reconnect.js';
import { parseSchedulerAddresses, SchedulerTargets, type Target } from './targets.js';

export { RECONNECT_BACKOFF_MS, type SimLogger } from './reconnect.js';

export interface SimulatedAgentOptions {
  /**
   * The scheduler's host, e.g. '127.0.0.1', or comma-separated agent addresses of several
   * (`serve --ha`), each `HOST` (port `agentPort`) or `HOST:PORT`: '10.0.0.1,10.0.0.2:9105'.
   */
  schedulerHost: string;
  /** The scheduler's agent port (of the entries of `schedulerHost` that name none). */
  agentPort: number;
  /** Server name. */
  server: string;
  /** Replica indices run by this process ([0, 1] for `--replicas 2`, [N] for `--replica-idx N`). */
  replicaIdxs: readonly number[];
  /** Memory of each replica, bytes. */
  memoryBytes: number;
  capabilities: readonly string[];
  overCommitPercentage: number;
  /** Simulated load time. */
  loadMs: number;
  /** Simulated unload time (default 10 ms). */
  unloadMs?: number;
  /** Loads of models whose `modelSpec.uri` matches fail with LOAD_FAILED. */
  failUri?: RegExp;
  /** How to reach the scheduler: TLS / mutual TLS credentials; plaintext when absent. */
  credentials?: ChannelCredentials;
  /** More channel options, e.g. `grpc.ssl_target_name_override` for `--tls-server-name`. */
  channelOptions?: ChannelOptions;
  logger: SimLogger;
}

export interface SimulatedAgent {
  /** The model versions a replica holds, in load order. */
  loaded(replicaIdx: number): { name: string; version: number }[];
  /** Asks the scheduler to drain the replica (AgentDrain); resolves with `success`. */
  drain(replicaIdx: number): Promise<boolean>;
  /** Cancels every stream, timer and call; resolves when all are closed. No reconnect after. */
  stop(): Promise<void>;
}

/** Deadline of each AgentEvent / AgentDrain call. AgentDrain legitimately takes seconds. */
const EVENT_DEADLINE_MS = 10_000;
const DRAIN_DEADLINE_MS = 120_000;

/** The name of an enum value, or the number when the enum (or the wire) has no name for it. */
function nameOf(e: object, v: number): string {
  return (e as Record<number, string | undefined>)[v] ?? String(v);
}

interface Held {
  model: ModelVersion;
  name: string;
  memory: number;
}

interface Pending {
  kind: 'load' | 'unload';
  timer: NodeJS.Timeout;
}

/** One simulated replica: its Subscribe stream, its models and its pending operations. */
class Replica {
  /** Loaded models by `name:version`, in load order. */
  private readonly held = new Map<string, Held>();
  private readonly pending = new Map<string, Pending>();
  private readonly calls = new Set<ClientUnaryCall>();
  /** Subscribes afresh on every reconnect, re-announcing what is loaded. */
  private readonly subscription: ReconnectingStream<ModelOperationMessage, AgentServiceClient>;
  private stopped = false;
  private readonly log: { server: string; replica: number };

  constructor(
    targets: SchedulerTargets<AgentServiceClient>,
    private readonly idx: number,
    private readonly o: SimulatedAgentOptions,
  ) {
    this.log = { server: o.server, replica: idx };
    this.subscription = new ReconnectingStream({
      targets,
      open: (client) => this.subscribe(client),
      onMessage: (op) => {
        try {
          this.handle(op);
        } catch (e) {
          this.o.logger.error({ ...this.log, err: String(e) }, 'could not handle op; ignored');
        }
      },
      logger: o.logger,
      log: this.log,
      connectedLog: () => ({
        loadedModels: this.loaded().map((m) => `${m.name}:${m.version}`),
        availableMemoryBytes: this.available(),
      }),
    });
  }

  loaded(): { name: string; version: number }[] {
    return [...this.held.values()].map((h) => ({ name: h.name, version: h.model.version }));
  }

  /** Total (with over-commit) minus what is loaded, excluding `except`; never below 0. */
  private available(except?: string): number {
    let used = 0;
    for (const [key, h] of this.held) if (key !== except) used += h.memory;
    const total = this.o.memoryBytes + (this.o.overCommitPercentage / 100) * this.o.memoryBytes;
    return Math.max(0, Math.floor(total - used));
  }

  /** Subscribes in the background, reconnecting until `stop()`. */
  start(): void {
    this.subscription.start();
  }

  /** Subscribes with this replica's config and what it holds now. */
  private subscribe(client: AgentServiceClient): ClientReadableStream<ModelOperationMessage> {
    return client.subscribe({
      serverName: this.o.server,
      shared: true,
      replicaIdx: this.idx,
      replicaConfig: {
        inferenceSvc: `${this.o.server}-${this.idx}`,
        inferenceHttpPort: 9000,
        inferenceGrpcPort: 9500,
        memoryBytes: BigInt(this.o.memoryBytes),
        capabilities: [...this.o.capabilities],
        overCommitPercentage: this.o.overCommitPercentage,
      },
      loadedModels: [...this.held.values()].map((h) => h.model),
      availableMemoryBytes: BigInt(this.available()),
    });
  }

  private handle(op: ModelOperationMessage): void {
    const mv = op.modelVersion;
    const name = mv?.model?.meta?.name;
    if (!mv || !name) {
      this.o.logger.warn(
        { ...this.log, operation: nameOf(Operation, op.operation) },
        'ignoring malformed op: no model name',
      );
      return;
    }
    const key = `${name}:${mv.version}`;
    switch (op.operation) {
      case Operation.LOAD_MODEL: {
        this.cancel(key);
        this.pending.set(key, {
          kind: 'load',
          timer: setTimeout(() => {
            this.pending.delete(key);
            this.load(key, name, mv);
          }, this.o.loadMs),
        });
        return;
      }
      case Operation.UNLOAD_MODEL: {
        // A load still in progress is abandoned: no LOADED for it.
        this.cancel(key);
        this.pending.set(key, {
          kind: 'unload',
          timer: setTimeout(() => {
            this.pending.delete(key);
            this.held.delete(key);
            this.report(name, mv.version, Event.UNLOADED, '');
          }, this.o.unloadMs ?? 10),
        });
        return;
      }
      case Operation.UNKNOWN_EVENT:
      case Operation.UNRECOGNIZED:
      default:
        this.o.logger.warn(
          { ...this.log, model: name, version: mv.version, operation: op.operation },
          'ignoring op with an unknown operation',
        );
    }
  }

  private cancel(key: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(key);
    this.o.logger.info({ ...this.log, model: key, cancelled: p.kind }, 'pending op superseded');
  }

  private load(key: string, name: string, mv: ModelVersion): void {
    const uri = mv.model?.modelSpec?.uri ?? '';
    const memory = Number(mv.model?.modelSpec?.memoryBytes ?? 0n);
    const failUri = this.o.failUri;
    if (failUri) failUri.lastIndex = 0; // a /g or /y pattern would otherwise remember the last match
    const available = this.available(key);
    if (failUri?.test(uri)) {
      this.report(
        name,
        mv.version,
        Event.LOAD_FAILED,
        `simulated load failure: uri ${uri} matches --fail-uri`,
      );
    } else if (memory > available) {
      this.report(
        name,
        mv.version,
        Event.LOAD_FAIL_MEMORY,
        `not enough memory on ${this.o.server}-${this.idx}: model needs ${memory} bytes, ${available} available`,
      );
    } else {
      this.held.delete(key); // a reload moves it to the end
      this.held.set(key, { model: mv, name, memory });
      this.report(name, mv.version, Event.LOADED, '');
    }
  }

  private report(modelName: string, modelVersion: number, event: Event, message: string): void {
    const availableMemoryBytes = this.available();
    const info = {
      ...this.log,
      model: modelName,
      version: modelVersion,
      event: nameOf(Event, event),
      availableMemoryBytes,
      ...(message ? { message } : {}),
    };
    const target = this.subscription.target();
    const call = target.client.agentEvent(
      {
        serverName: this.o.server,
        replicaIdx: this.idx,
        modelName,
        modelVersion,
        event,
        message,
        availableMemoryBytes: BigInt(availableMemoryBytes),
      },
      new Metadata(),
      { deadline: Date.now() + EVENT_DEADLINE_MS },
      (err) => {
        this.calls.delete(call);
        if (err && !this.stopped) {
          this.o.logger.warn(
            { ...info, scheduler: target.address, err: err.message },
            'AgentEvent failed (not retried)',
          );
          this.failed(target, err);
        }
      },
    );
    this.calls.add(call);
    this.o.logger.info(info, 'reported');
  }

  /** A call to `target` failed: UNAVAILABLE (refused by a standby, or gone) means move on. */
  private failed(target: Target<AgentServiceClient>, err: ServiceError): void {
    if (err.code === grpcStatus.UNAVAILABLE) this.subscription.unavailable(target);
  }

  drain(): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const target = this.subscription.target();
      const call = target.client.agentDrain(
        { serverName: this.o.server, replicaIdx: this.idx },
        new Metadata(),
        { deadline: Date.now() + DRAIN_DEADLINE_MS },
        (err, res) => {
          this.calls.delete(call);
          if (err) {
            if (!this.stopped) this.failed(target, err);
            reject(err);
          } else resolve(res.success);
        },
      );
      this.calls.add(call);
    });
  }

  stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    for (const c of this.calls) c.cancel();
    return this.subscription.stop();
  }
}

/**
 * Starts the replicas. Each subscribes in the background and keeps reconnecting (with back-off)
 * until `stop()`, so the scheduler need not be up yet. The replicas follow the same scheduler
 * address, and move on together when it refuses them.
 * Rejects when a replica index or a `schedulerHost` entry is not valid.
 */
export function startSimulatedAgent(o: SimulatedAgentOptions): Promise<SimulatedAgent> {
  const bad = o.replicaIdxs.find((idx) => !Number.isInteger(idx) || idx < 0);
  if (bad !== undefined) return Promise.reject(new Error(`replica index ${bad} is not valid`));
  let targets: SchedulerTargets<AgentServiceClient>;
  try {
    targets = new SchedulerTargets(
      parseSchedulerAddresses(o.schedulerHost, o.agentPort),
      (address) =>
        new AgentServiceClient(address, o.credentials ?? credentials.createInsecure(), {
          ...o.channelOptions,
          ...RECONNECT_CHANNEL_OPTIONS,
        }),
    );
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
  const replicas = new Map(o.replicaIdxs.map((idx) => [idx, new Replica(targets, idx, o)]));
  const replica = (idx: number) => {
    const r = replicas.get(idx);
    if (!r) throw new Error(`this agent has no replica ${idx}`);
    return r;
  };
  for (const r of replicas.values()) r.start();

  return Promise.resolve({
    loaded: (idx) => replica(idx).loaded(),
    drain: (idx) => replica(idx).drain(),
    stop: async () => {
      await Promise.all([...replicas.values()].map((r) => r.stop()));
      targets.close();
    },
  });
}
