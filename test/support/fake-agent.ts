/**
 * A programmable agent for integration tests: it subscribes like a real model-server replica,
 * records every op the scheduler pushes, and replies only when told (or via `autoAgent`).
 */
import {
  connectivityState,
  credentials,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  AgentServiceClient,
  ModelEventMessage_Event as Event,
  ModelOperationMessage_Operation as Operation,
  type ModelEventMessage,
  type ModelOperationMessage,
  type ModelVersion,
} from '../../src/gen/mlops/agent/agent.js';

export { Event, Operation };

export interface FakeAgentOptions {
  /** host:port of the AgentService. */
  address: string;
  server: string;
  replicaIdx: number;
  /** ReplicaConfig.memoryBytes (default 1000). */
  memoryBytes?: number;
  /** Subscribe's availableMemoryBytes, and the default of later events (default memoryBytes). */
  availableMemoryBytes?: number;
  /** Default ['sklearn', 'xgboost']. */
  capabilities?: string[];
  /** Default 10. */
  overCommitPercentage?: number;
  /** Default true (what the real agent sends). */
  shared?: boolean;
  /** Re-announced models (as after an agent restart). */
  loadedModels?: ModelVersion[];
}

/** The options of the positional form, `connectFakeAgent(address, server, idx, o)`. */
export type FakeAgentExtras = Omit<FakeAgentOptions, 'address' | 'server' | 'replicaIdx'>;

/** What `send` needs: the rest is filled in (serverName, replicaIdx, message, memory). */
export type FakeEvent = Partial<ModelEventMessage> &
  Pick<ModelEventMessage, 'modelName' | 'modelVersion' | 'event'>;

export interface FakeAgent {
  readonly server: string;
  readonly replicaIdx: number;
  /** Every op received, in order. */
  readonly ops: ModelOperationMessage[];
  /** The next op not yet taken (by nextOp or autoAgent); waits for it. Default timeout 2000 ms. */
  nextOp(timeoutMs?: number): Promise<ModelOperationMessage>;
  /** Rejects as soon as an op arrives within `ms`; resolves after `ms` otherwise. */
  expectNoOp(ms: number): Promise<void>;
  /** AgentEvent, with serverName/replicaIdx filled in; rejects with the gRPC error. */
  send(event: FakeEvent): Promise<void>;
  /** LOADED for that op; availableMemoryBytes defaults to the last one this agent reported. */
  loaded(op: ModelOperationMessage, availableMemoryBytes?: number): Promise<void>;
  /** LOAD_FAILED for that op. */
  failed(op: ModelOperationMessage, message: string): Promise<void>;
  /** UNLOADED for that op. */
  unloaded(op: ModelOperationMessage): Promise<void>;
  /** AgentDrain; resolves with `success`. */
  drain(): Promise<boolean>;
  /** Cancels the Subscribe stream and closes the client. Idempotent. */
  disconnect(): Promise<void>;
  /** Resolves when the Subscribe stream ends for any reason. */
  readonly ended: Promise<void>;
  /** How the stream ended, once it has (a cancel by `disconnect` is CANCELLED). */
  readonly error: ServiceError | undefined;
  /** Takes the next unconsumed op without waiting (undefined if none). */
  take(): ModelOperationMessage | undefined;
  /** Calls `listener` after each op is recorded; returns an unsubscribe function. */
  onOp(listener: (op: ModelOperationMessage) => void): () => void;
}

/** `load m1:1` / `unload m1:1` for an op. */
export function describe(op: ModelOperationMessage | undefined): string {
  if (!op) return 'none';
  const kind =
    op.operation === Operation.LOAD_MODEL
      ? 'load'
      : op.operation === Operation.UNLOAD_MODEL
        ? 'unload'
        : `op(${op.operation})`;
  return `${kind} ${op.modelVersion?.model?.meta?.name ?? '?'}:${op.modelVersion?.version ?? '?'}`;
}

class Fake implements FakeAgent {
  readonly ops: ModelOperationMessage[] = [];
  readonly ended: Promise<void>;
  error: ServiceError | undefined;
  private consumed = 0;
  private isEnded = false;
  private readonly listeners = new Set<(op?: ModelOperationMessage) => void>();
  private readonly stream: ClientReadableStream<ModelOperationMessage>;
  private available: number;

  constructor(
    private readonly client: AgentServiceClient,
    readonly server: string,
    readonly replicaIdx: number,
    o: FakeAgentExtras,
  ) {
    const memoryBytes = o.memoryBytes ?? 1000;
    this.available = o.availableMemoryBytes ?? memoryBytes;
    this.stream = client.subscribe({
      serverName: server,
      shared: o.shared ?? true,
      replicaIdx,
      replicaConfig: {
        inferenceSvc: `${server}-${replicaIdx}`,
        inferenceHttpPort: 9000,
        inferenceGrpcPort: 9500,
        memoryBytes: BigInt(memoryBytes),
        capabilities: o.capabilities ?? ['sklearn', 'xgboost'],
        overCommitPercentage: o.overCommitPercentage ?? 10,
      },
      loadedModels: o.loadedModels ?? [],
      availableMemoryBytes: BigInt(this.available),
    });
    this.stream.on('data', (op: ModelOperationMessage) => {
      this.ops.push(op);
      this.notify(op);
    });
    this.ended = new Promise((resolve) => {
      this.stream.on('error', (e: ServiceError) => {
        this.error = e;
      });
      this.stream.on('close', () => {
        this.isEnded = true;
        this.notify();
        resolve();
      });
    });
  }

  private get name(): string {
    return `fake agent ${this.server}/${this.replicaIdx}`;
  }

  private notify(op?: ModelOperationMessage): void {
    for (const l of [...this.listeners]) l(op);
  }

  onOp(listener: (op: ModelOperationMessage) => void): () => void {
    const l = (op?: ModelOperationMessage) => {
      if (op) listener(op);
    };
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  take(): ModelOperationMessage | undefined {
    const op = this.ops[this.consumed];
    if (op) this.consumed++;
    return op;
  }

  private seen(): string {
    return this.ops.length === 0 ? 'none' : this.ops.map(describe).join(', ');
  }

  nextOp(timeoutMs = 2000): Promise<ModelOperationMessage> {
    return new Promise((resolve, reject) => {
      const settle = (): boolean => {
        const op = this.take();
        if (op) {
          resolve(op);
          return true;
        }
        if (this.isEnded) {
          reject(
            new Error(
              `${this.name}: stream ended (${this.error?.message ?? 'OK'}) while waiting for an op; ops so far: ${this.seen()}`,
            ),
          );
          return true;
        }
        return false;
      };
      if (settle()) return;
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(wake);
      };
      const wake = () => {
        if (settle()) done();
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `${this.name}: no op within ${timeoutMs} ms; ops so far (all taken): ${this.seen()}`,
          ),
        );
      }, timeoutMs);
      this.listeners.add(wake);
    });
  }

  expectNoOp(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(l);
        resolve();
      }, ms);
      const l = (op?: ModelOperationMessage) => {
        if (!op) return;
        clearTimeout(timer);
        this.listeners.delete(l);
        reject(new Error(`${this.name}: unexpected op within ${ms} ms: ${describe(op)}`));
      };
      this.listeners.add(l);
    });
  }

  send(e: FakeEvent): Promise<void> {
    const msg: ModelEventMessage = {
      serverName: this.server,
      replicaIdx: this.replicaIdx,
      message: '',
      availableMemoryBytes: BigInt(this.available),
      ...e,
    };
    this.available = Number(msg.availableMemoryBytes);
    return new Promise((resolve, reject) => {
      this.client.agentEvent(msg, (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
  }

  private reply(op: ModelOperationMessage, event: Event, extra: Partial<ModelEventMessage> = {}) {
    return this.send({
      modelName: op.modelVersion?.model?.meta?.name ?? '',
      modelVersion: op.modelVersion?.version ?? 0,
      event,
      ...extra,
    });
  }

  loaded(op: ModelOperationMessage, availableMemoryBytes?: number): Promise<void> {
    return this.reply(
      op,
      Event.LOADED,
      availableMemoryBytes === undefined
        ? {}
        : { availableMemoryBytes: BigInt(availableMemoryBytes) },
    );
  }

  failed(op: ModelOperationMessage, message: string): Promise<void> {
    return this.reply(op, Event.LOAD_FAILED, { message });
  }

  unloaded(op: ModelOperationMessage): Promise<void> {
    return this.reply(op, Event.UNLOADED);
  }

  drain(): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.client.agentDrain(
        { serverName: this.server, replicaIdx: this.replicaIdx },
        (err, res) => {
          if (err) reject(err);
          else resolve(res.success);
        },
      );
    });
  }

  /** Resolves when the channel is READY (the Subscribe call is then on the wire), or the stream
   * ended OK; rejects with the stream's error if it failed first. */
  whenReady(): Promise<void> {
    const channel = this.client.getChannel();
    return new Promise((resolve, reject) => {
      const check = () => {
        const state = channel.getConnectivityState(true);
        if (state === connectivityState.READY) resolve();
        else if (state !== connectivityState.SHUTDOWN) {
          channel.watchConnectivityState(state, Infinity, check);
        }
      };
      void this.ended.then(() => {
        if (this.error) reject(this.error);
        else resolve();
      });
      check();
    });
  }

  async disconnect(): Promise<void> {
    this.stream.cancel();
    await this.ended;
    this.client.close();
  }
}

function create(o: FakeAgentOptions): Fake {
  const { address, server, replicaIdx, ...extras } = o;
  return new Fake(
    new AgentServiceClient(address, credentials.createInsecure()),
    server,
    replicaIdx,
    extras,
  );
}

/**
 * Connects a fake agent. Resolves once the Subscribe call is under way on a ready channel (the
 * scheduler registers the replica when it receives it: poll status to know it joined); rejects
 * if the stream fails first, e.g. nothing listens at `address`.
 */
export function connectFakeAgent(a: FakeAgentOptions): Promise<FakeAgent> {
  const fake = create(a);
  return fake.whenReady().then(
    () => fake,
    (e: unknown) => {
      throw new Error(
        `fake agent ${a.server}/${a.replicaIdx} could not subscribe at ${a.address}: ${String(e)}`,
      );
    },
  );
}

/**
 * Answers every op of `agent` (those already waiting too) automatically: LOADED for each LOAD,
 * UNLOADED for each UNLOAD, after `loadMs` (default 0). The ops are taken, so `nextOp` will not
 * see them. Returns a function that stops answering (pending replies are dropped).
 */
export function autoAgent(agent: FakeAgent, o: { loadMs?: number } = {}): () => void {
  const timers = new Set<NodeJS.Timeout>();
  let running = true;
  const answer = (op: ModelOperationMessage) => {
    const reply = () => {
      const r =
        op.operation === Operation.LOAD_MODEL
          ? agent.loaded(op)
          : op.operation === Operation.UNLOAD_MODEL
            ? agent.unloaded(op)
            : Promise.resolve();
      r.catch(() => undefined);
    };
    if (!o.loadMs) {
      reply();
      return;
    }
    const t = setTimeout(() => {
      timers.delete(t);
      if (running) reply();
    }, o.loadMs);
    timers.add(t);
  };
  const drainQueue = () => {
    for (let op = agent.take(); op && running; op = agent.take()) answer(op);
  };
  const off = agent.onOp(drainQueue);
  drainQueue();
  const stop = () => {
    running = false;
    off();
    for (const t of timers) clearTimeout(t);
    timers.clear();
  };
  void agent.ended.then(stop);
  return stop;
}
