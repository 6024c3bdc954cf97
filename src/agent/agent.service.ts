import { status, type ServerWritableStream } from '@grpc/grpc-js';
import type { AgentGateway, ReplicaJoin, SchedulerSystem } from '../actors/index.js';
import {
  AgentServiceService,
  ModelOperationMessage,
  type AgentServiceServer,
  type AgentSubscribeRequest,
  type ModelEventMessage,
} from '../gen/mlops/agent/agent.js';
import { toServiceError, type ErrorLogger } from '../wire/errors.js';
import { encoded, passEncoded, unary } from '../wire/grpc.js';
import {
  agentOpToProto,
  agentReportFromProto,
  replicaFromProto,
  replicaJoinFromProto,
} from '../wire/agent.js';

type OpStream = ServerWritableStream<AgentSubscribeRequest, ModelOperationMessage | Buffer>;

/** The AgentService definition to register: ops are written encoded, which it passes through. */
export const agentServiceDefinition = passEncoded(AgentServiceService);

export interface AgentServiceDeps {
  log: ErrorLogger & {
    info(obj: object, msg?: string): void;
    warn(obj: object, msg?: string): void;
  };
  /**
   * Told before an agent's re-announcement of `models` models is taken in, which keeps this
   * process busy for a while (tenths of a millisecond per model): with `--ha`, the lease is kept
   * through it.
   */
  announcing?: (models: number) => void;
}

const P = '/seldon.mlops.agent.AgentService/';

/**
 * The AgentService: agents subscribe per server replica and receive load/unload ops on that stream;
 * their AgentEvent replies become supervisor commands. Also the supervisor's agent gateway.
 */
export class AgentService {
  private system: SchedulerSystem | undefined;
  /** The active stream of each server replica (`server/idx`). */
  private readonly active = new Map<string, OpStream>();
  /** Later Subscribe calls for a replica that is still connected wait here, in order. */
  private readonly waiting = new Map<string, { call: OpStream; join: ReplicaJoin }[]>();
  private closing = false;

  constructor(private readonly deps: AgentServiceDeps) {}

  /** Connects the service to the system it reports to (the system needs the gateway first). */
  attach(system: SchedulerSystem): void {
    this.system = system;
  }

  readonly gateway: AgentGateway = {
    isConnected: (server, idx) => this.active.has(`${server}/${idx}`),
    send: (server, idx, op) => {
      const call = this.active.get(`${server}/${idx}`);
      if (!call || call.cancelled || call.writableEnded || call.destroyed) {
        return `no open stream to agent ${server}/${idx}`;
      }
      // Encoded here, so an op that cannot be encoded fails alone instead of the agent's stream.
      let bytes: Buffer;
      try {
        bytes = encoded(ModelOperationMessage, agentOpToProto(op));
      } catch (e) {
        const why = `cannot encode ${op.operation} of ${op.definition.meta.name}:${op.version}: ${e instanceof Error ? e.message : String(e)}`;
        this.deps.log.error({ server, idx }, why);
        return why;
      }
      try {
        call.write(bytes);
        return undefined;
      } catch (e) {
        return e instanceof Error ? e.message : String(e);
      }
    },
  };

  /** The grpc-js implementation of AgentService. */
  implementation(): AgentServiceServer {
    return {
      subscribe: (call: OpStream) => {
        try {
          const join = replicaJoinFromProto(call.request);
          const key = `${join.server}/${join.idx}`;
          if (this.closing) {
            call.emit('error', {
              code: status.UNAVAILABLE,
              details: 'scheduler is shutting down',
            });
            return;
          }
          if (this.active.has(key)) {
            // Seldon parity: a second stream for a connected replica waits until the first ends.
            const queue = this.waiting.get(key) ?? [];
            queue.push({ call, join });
            this.waiting.set(key, queue);
            call.on('cancelled', () => {
              this.waiting.set(
                key,
                (this.waiting.get(key) ?? []).filter((w) => w.call !== call),
              );
            });
            return;
          }
          this.activate(key, call, join);
        } catch (e) {
          call.emit('error', this.toError(e, `${P}Subscribe`));
        }
      },
      agentEvent: unary(`${P}AgentEvent`, this.deps.log, (req: ModelEventMessage) => {
        this.requireSystem().agentEvent(agentReportFromProto(req));
        return {};
      }),
      agentDrain: unary(`${P}AgentDrain`, this.deps.log, async (req) => {
        const { server, idx } = replicaFromProto(req);
        const outcome = await this.requireSystem().drain(server, idx);
        if (!outcome.success) {
          this.deps.log.warn(
            { server, idx, unmoved: outcome.unmoved },
            'drain left models unmoved',
          );
        }
        return { success: outcome.success };
      }),
      modelScalingTrigger: (call, callback) => {
        call.on('data', () => undefined);
        callback({
          code: status.UNIMPLEMENTED,
          details: 'autoscaling models is disabled',
        });
      },
    };
  }

  /** Ends every agent stream (scheduler shutdown); agents reconnect to the next scheduler. */
  close(): void {
    this.closing = true;
    for (const queue of this.waiting.values()) for (const w of queue) w.call.end();
    this.waiting.clear();
    for (const call of this.active.values()) call.end();
    this.active.clear();
  }

  private activate(key: string, call: OpStream, join: ReplicaJoin): void {
    const system = this.requireSystem();
    this.active.set(key, call);
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      if (this.active.get(key) !== call) return;
      this.active.delete(key);
      this.deps.log.info({ server: join.server, idx: join.idx }, 'agent disconnected');
      if (!this.closing) {
        try {
          system.replicaLeft(join.server, join.idx);
        } catch (e) {
          this.deps.log.error({ err: e }, 'replica removal failed');
        }
        const next = this.waiting.get(key)?.shift();
        if (next) this.activate(key, next.call, next.join);
      }
    };
    call.on('cancelled', leave);
    call.on('close', leave);
    call.on('error', leave);
    this.deps.log.info(
      { server: join.server, idx: join.idx, loaded: join.loaded.length },
      'agent subscribed',
    );
    this.deps.announcing?.(join.loaded.length);
    system.replicaJoined(join);
  }

  private requireSystem(): SchedulerSystem {
    if (!this.system) throw new Error('agent service used before it was attached to a system');
    return this.system;
  }

  private toError(e: unknown, path: string) {
    return toServiceError(e, path, this.deps.log);
  }
}
