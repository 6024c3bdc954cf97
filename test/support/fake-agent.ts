import { credentials, type ClientReadableStream } from '@grpc/grpc-js';
import {
  AgentServiceClient,
  ModelEventMessage_Event as Event,
  ModelOperationMessage_Operation as Operation,
  type ModelEventMessage,
  type ModelOperationMessage,
  type ModelVersion,
} from '../../src/gen/mlops/agent/agent.js';

export { Event, Operation };

/** A programmable agent for integration tests: it records ops and replies only when told. */
export class FakeAgent {
  readonly ops: ModelOperationMessage[] = [];
  private consumed = 0;
  private waiters: (() => void)[] = [];
  readonly ended: Promise<void>;
  private readonly stream: ClientReadableStream<ModelOperationMessage>;

  constructor(
    private readonly client: AgentServiceClient,
    readonly server: string,
    readonly replicaIdx: number,
    o: {
      memoryBytes?: number;
      availableMemoryBytes?: number;
      capabilities?: string[];
      shared?: boolean;
      loadedModels?: ModelVersion[];
    },
  ) {
    this.stream = client.subscribe({
      serverName: server,
      shared: o.shared ?? true,
      replicaIdx,
      replicaConfig: {
        inferenceSvc: `${server}-${replicaIdx}`,
        inferenceHttpPort: 9000,
        inferenceGrpcPort: 9500,
        memoryBytes: o.memoryBytes ?? 1000,
        capabilities: o.capabilities ?? ['sklearn', 'xgboost'],
        overCommitPercentage: 10,
      },
      loadedModels: o.loadedModels ?? [],
      availableMemoryBytes: o.availableMemoryBytes ?? o.memoryBytes ?? 1000,
    });
    this.stream.on('data', (op: ModelOperationMessage) => {
      this.ops.push(op);
      for (const w of this.waiters.splice(0)) w();
    });
    this.ended = new Promise((resolve) => {
      this.stream.on('error', () => undefined);
      this.stream.on('close', () => {
        resolve();
      });
    });
  }

  /** The next op not yet taken; waits for it. */
  async nextOp(timeoutMs = 2000): Promise<ModelOperationMessage> {
    const deadline = Date.now() + timeoutMs;
    while (this.consumed >= this.ops.length) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`agent ${this.server}/${this.replicaIdx}: no op within ${timeoutMs} ms`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const op = this.ops[this.consumed++];
    if (!op) throw new Error('unreachable');
    return op;
  }

  /** Fails if an op arrives within `ms`. */
  async expectNoOp(ms: number): Promise<void> {
    const before = this.ops.length;
    await new Promise((r) => setTimeout(r, ms));
    if (this.ops.length > before) {
      throw new Error(
        `agent ${this.server}/${this.replicaIdx}: unexpected op ${describe(this.ops[before])}`,
      );
    }
  }

  send(
    e: Partial<ModelEventMessage> & Pick<ModelEventMessage, 'modelName' | 'modelVersion' | 'event'>,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.agentEvent(
        {
          serverName: this.server,
          replicaIdx: this.replicaIdx,
          message: '',
          availableMemoryBytes: 900,
          ...e,
        },
        (err) => {
          if (err) reject(err);
          else resolve();
        },
      );
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

  loaded(op: ModelOperationMessage, availableMemoryBytes = 900): Promise<void> {
    return this.reply(op, Event.LOADED, { availableMemoryBytes });
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

  /** Cancels the Subscribe stream (the replica leaves). */
  async disconnect(): Promise<void> {
    this.stream.cancel();
    await this.ended;
    this.client.close();
  }
}

/** `load m1:1` / `unload m1:1` for an op. */
export function describe(op: ModelOperationMessage | undefined): string {
  if (!op) return 'none';
  const kind =
    op.operation === Operation.LOAD_MODEL
      ? 'load'
      : op.operation === Operation.UNLOAD_MODEL
        ? 'unload'
        : 'unknown';
  return `${kind} ${op.modelVersion?.model?.meta?.name ?? '?'}:${op.modelVersion?.version ?? '?'}`;
}

export function connectFakeAgent(
  address: string,
  server: string,
  replicaIdx: number,
  o: ConstructorParameters<typeof FakeAgent>[3] = {},
): FakeAgent {
  return new FakeAgent(
    new AgentServiceClient(address, credentials.createInsecure()),
    server,
    replicaIdx,
    o,
  );
}

/** Answers every op of `agent` with success, after `loadMs`; returns a stop function. */
export function autoAgent(agent: FakeAgent, loadMs = 0): () => void {
  const state = { running: true };
  void (async () => {
    while (state.running) {
      let op: ModelOperationMessage;
      try {
        op = await agent.nextOp(60_000);
      } catch {
        continue;
      }
      if (loadMs > 0) await new Promise((r) => setTimeout(r, loadMs));
      const reply = op.operation === Operation.LOAD_MODEL ? agent.loaded(op) : agent.unloaded(op);
      await reply.catch(() => undefined);
    }
  })();
  return () => {
    state.running = false;
  };
}
