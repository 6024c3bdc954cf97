/**
 * A simulated model-server agent (`mlsched agent`): one or more replicas of one server, each speaking
 * the real `seldon.mlops.agent.AgentService` protocol. Loads take `loadMs`, may fail by URI pattern or
 * for lack of memory, and are re-announced when the agent reconnects.
 */
import { credentials, type ClientReadableStream } from '@grpc/grpc-js';
import {
  AgentServiceClient,
  ModelEventMessage_Event as Event,
  ModelOperationMessage_Operation as Operation,
  type ModelEventMessage,
  type ModelOperationMessage,
  type ModelVersion,
} from '../gen/mlops/agent/agent.js';

export interface SimLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SimulatedAgentOptions {
  /** Scheduler host (no port). */
  schedulerHost: string;
  /** The scheduler's agent port. */
  agentPort: number;
  server: string;
  replicaIdxs: readonly number[];
  /** Memory of each replica, bytes. */
  memoryBytes: number;
  capabilities: readonly string[];
  overCommitPercentage: number;
  loadMs: number;
  unloadMs?: number;
  /** Loads of models whose storage URI matches fail. */
  failUri?: RegExp;
  logger: SimLogger;
}

export interface SimulatedAgent {
  /** The model versions a replica holds. */
  loaded(replicaIdx: number): { name: string; version: number }[];
  /** Asks the scheduler to drain the replica; resolves with its answer. */
  drain(replicaIdx: number): Promise<boolean>;
  stop(): Promise<void>;
}

const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * Parses a Kubernetes memory quantity ('1Gi', '512Mi', '100M', '1e3', '1500k') to bytes.
 * @throws Error naming the value when it is not a non-negative quantity.
 */
export function parseMemoryQuantity(q: string): number {
  const m = /^(\d+(?:\.\d+)?(?:[eE]\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.exec(q.trim());
  const unit = UNITS[m?.[2] ?? ''];
  if (!m?.[1] || unit === undefined) {
    throw new Error(`'${q}' is not a memory quantity (e.g. 512Mi, 1Gi, 100M)`);
  }
  const bytes = Math.ceil(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new Error(`'${q}' is too large`);
  return bytes;
}

interface Held {
  model: ModelVersion;
  memory: number;
}

/** One simulated replica: its connection, its models and its pending operations. */
class Replica {
  private readonly held = new Map<string, Held>();
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private stream: ClientReadableStream<ModelOperationMessage> | undefined;
  private backoffMs = 100;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  private closed: (() => void) | undefined;

  constructor(
    private readonly client: AgentServiceClient,
    private readonly idx: number,
    private readonly o: SimulatedAgentOptions,
  ) {}

  loaded(): { name: string; version: number }[] {
    return [...this.held.values()].map((h) => ({
      name: h.model.model?.meta?.name ?? '',
      version: h.model.version,
    }));
  }

  private get available(): number {
    const used = [...this.held.values()].reduce((n, h) => n + h.memory, 0);
    const total = this.o.memoryBytes * (1 + this.o.overCommitPercentage / 100);
    return Math.max(0, Math.floor(total - used));
  }

  connect(): void {
    if (this.stopped) return;
    const log = { server: this.o.server, replica: this.idx };
    const stream = this.client.subscribe({
      serverName: this.o.server,
      shared: true,
      replicaIdx: this.idx,
      replicaConfig: {
        inferenceSvc: `${this.o.server}-${this.idx}`,
        inferenceHttpPort: 9000,
        inferenceGrpcPort: 9500,
        memoryBytes: this.o.memoryBytes,
        capabilities: [...this.o.capabilities],
        overCommitPercentage: this.o.overCommitPercentage,
      },
      loadedModels: [...this.held.values()].map((h) => h.model),
      availableMemoryBytes: this.available,
    });
    this.stream = stream;
    stream.on('metadata', () => {
      this.backoffMs = 100;
      this.o.logger.info({ ...log, loaded: this.held.size }, 'connected to scheduler');
    });
    stream.on('data', (op: ModelOperationMessage) => {
      this.backoffMs = 100;
      this.handle(op);
    });
    stream.on('error', () => undefined);
    stream.on('close', () => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      if (this.stopped) {
        this.closed?.();
        return;
      }
      this.o.logger.warn(
        { ...log, retryInMs: this.backoffMs },
        'scheduler stream ended; reconnecting',
      );
      this.retry = setTimeout(() => {
        this.connect();
      }, this.backoffMs);
      this.backoffMs = Math.min(5000, this.backoffMs * 2);
    });
  }

  private handle(op: ModelOperationMessage): void {
    const mv = op.modelVersion;
    const name = mv?.model?.meta?.name;
    if (!mv || !name) {
      this.o.logger.warn({ op }, 'ignoring malformed op');
      return;
    }
    const key = `${name}:${mv.version}`;
    clearTimeout(this.pending.get(key));
    if (op.operation === Operation.LOAD_MODEL) {
      this.pending.set(
        key,
        setTimeout(() => {
          this.pending.delete(key);
          this.load(name, mv);
        }, this.o.loadMs),
      );
    } else if (op.operation === Operation.UNLOAD_MODEL) {
      this.pending.set(
        key,
        setTimeout(() => {
          this.pending.delete(key);
          this.held.delete(key);
          this.report(name, mv.version, Event.UNLOADED, '');
        }, this.o.unloadMs ?? 10),
      );
    }
  }

  private load(name: string, mv: ModelVersion): void {
    const uri = mv.model?.modelSpec?.uri ?? '';
    const memory = mv.model?.modelSpec?.memoryBytes ?? 0;
    if (this.o.failUri?.test(uri)) {
      this.report(
        name,
        mv.version,
        Event.LOAD_FAILED,
        `simulated load failure: uri ${uri} matches --fail-uri`,
      );
    } else if (memory > this.available) {
      this.report(
        name,
        mv.version,
        Event.LOAD_FAIL_MEMORY,
        `not enough memory: model needs ${memory} bytes, ${this.available} available`,
      );
    } else {
      this.held.set(`${name}:${mv.version}`, { model: mv, memory });
      this.report(name, mv.version, Event.LOADED, '');
    }
  }

  private report(modelName: string, modelVersion: number, event: Event, message: string): void {
    const msg: ModelEventMessage = {
      serverName: this.o.server,
      replicaIdx: this.idx,
      modelName,
      modelVersion,
      event,
      message,
      availableMemoryBytes: this.available,
    };
    this.client.agentEvent(msg, (err) => {
      if (err) {
        this.o.logger.warn(
          { model: modelName, version: modelVersion, err: err.message },
          'AgentEvent rejected',
        );
      }
    });
    this.o.logger.info(
      { replica: this.idx, model: modelName, version: modelVersion, event: Event[event] },
      'reported',
    );
  }

  drain(): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.client.agentDrain({ serverName: this.o.server, replicaIdx: this.idx }, (err, res) => {
        if (err) reject(err);
        else resolve(res.success);
      });
    });
  }

  stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    const stream = this.stream;
    if (!stream) return Promise.resolve();
    return new Promise((resolve) => {
      this.closed = resolve;
      stream.cancel();
    });
  }
}

/** Starts the replicas; each connects (and keeps reconnecting) in the background. */
export function startSimulatedAgent(o: SimulatedAgentOptions): Promise<SimulatedAgent> {
  const client = new AgentServiceClient(
    `${o.schedulerHost}:${o.agentPort}`,
    credentials.createInsecure(),
  );
  const replicas = new Map(o.replicaIdxs.map((idx) => [idx, new Replica(client, idx, o)]));
  for (const r of replicas.values()) r.connect();
  const replica = (idx: number) => {
    const r = replicas.get(idx);
    if (!r) throw new Error(`this agent has no replica ${idx}`);
    return r;
  };
  return Promise.resolve({
    loaded: (idx) => replica(idx).loaded(),
    drain: (idx) => replica(idx).drain(),
    stop: async () => {
      await Promise.all([...replicas.values()].map((r) => r.stop()));
      client.close();
    },
  });
}
