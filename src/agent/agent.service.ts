import { status, type ServerWritableStream } from '@grpc/grpc-js';
import type { AgentGateway, AgentOp, AgentReport, SchedulerSystem } from '../actors/index.js';
import { invalidSpec } from '../domain/errors.js';
import { MAX_VERSION } from '../domain/model.js';
import { checkInt, checkModelName, checkServerName } from '../domain/names.js';
import type { ReplicaConfig } from '../domain/server.js';
import {
  AgentServiceService,
  ModelEventMessage_Event as AgentEventKind,
  ModelOperationMessage,
  ModelOperationMessage_Operation as Operation,
  type AgentServiceServer,
  type AgentSubscribeRequest,
  type ModelEventMessage,
} from '../gen/mlops/agent/agent.js';
import { toServiceError, type ErrorLogger } from '../wire/errors.js';
import { encoded, passEncoded, unary } from '../wire/grpc.js';
import { checkInt64, LIMITS } from '../wire/limits.js';
import { announcedModelFromProto, modelToProto, runtimeInfoFromProto } from '../wire/model.js';

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
/** The largest replica index accepted (a StatefulSet ordinal). */
const MAX_REPLICA_IDX = 100_000;

/**
 * The AgentService: agents subscribe per server replica and receive load/unload ops on that stream;
 * their AgentEvent replies become supervisor commands. Also the supervisor's agent gateway.
 */
export class AgentService {
  private system: SchedulerSystem | undefined;
  /** The active stream of each server replica (`server/idx`). */
  private readonly active = new Map<string, OpStream>();
  /** Later Subscribe calls for a replica that is still connected wait here, in order. */
  private readonly waiting = new Map<string, { call: OpStream; req: AgentSubscribeRequest }[]>();
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
        bytes = encoded(ModelOperationMessage, opToProto(op));
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
          const req = call.request;
          const key = `${checkServerName('serverName', req.serverName)}/${checkInt('replicaIdx', req.replicaIdx, 0, MAX_REPLICA_IDX)}`;
          decodeConfig(req);
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
            queue.push({ call, req });
            this.waiting.set(key, queue);
            call.on('cancelled', () => {
              this.waiting.set(
                key,
                (this.waiting.get(key) ?? []).filter((w) => w.call !== call),
              );
            });
            return;
          }
          this.activate(key, call, req);
        } catch (e) {
          call.emit('error', this.toError(e, `${P}Subscribe`));
        }
      },
      agentEvent: unary(`${P}AgentEvent`, this.deps.log, (req: ModelEventMessage) => {
        this.requireSystem().agentEvent(decodeEvent(req));
        return {};
      }),
      agentDrain: unary(`${P}AgentDrain`, this.deps.log, async (req) => {
        const server = checkServerName('serverName', req.serverName);
        const idx = checkInt('replicaIdx', req.replicaIdx, 0, MAX_REPLICA_IDX);
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

  private activate(key: string, call: OpStream, req: AgentSubscribeRequest): void {
    const system = this.requireSystem();
    const loaded = req.loadedModels.map((mv, i) => ({
      definition: announcedModelFromProto(`loadedModels[${i}].model`, mv.model),
      version: checkInt(`loadedModels[${i}].version`, mv.version, 1, MAX_VERSION),
    }));
    this.active.set(key, call);
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      if (this.active.get(key) !== call) return;
      this.active.delete(key);
      this.deps.log.info({ server: req.serverName, idx: req.replicaIdx }, 'agent disconnected');
      if (!this.closing) {
        try {
          system.replicaLeft(req.serverName, req.replicaIdx);
        } catch (e) {
          this.deps.log.error({ err: e }, 'replica removal failed');
        }
        const next = this.waiting.get(key)?.shift();
        if (next) this.activate(key, next.call, next.req);
      }
    };
    call.on('cancelled', leave);
    call.on('close', leave);
    call.on('error', leave);
    this.deps.log.info(
      { server: req.serverName, idx: req.replicaIdx, loaded: loaded.length },
      'agent subscribed',
    );
    this.deps.announcing?.(loaded.length);
    system.replicaJoined({
      server: req.serverName,
      idx: req.replicaIdx,
      shared: req.shared,
      config: decodeConfig(req),
      availableMemoryBytes: Number(req.availableMemoryBytes),
      loaded,
    });
  }

  private requireSystem(): SchedulerSystem {
    if (!this.system) throw new Error('agent service used before it was attached to a system');
    return this.system;
  }

  private toError(e: unknown, path: string) {
    return toServiceError(e, path, this.deps.log);
  }
}

function decodeConfig(req: AgentSubscribeRequest): ReplicaConfig {
  const c = req.replicaConfig;
  if (!c) throw invalidSpec('replicaConfig', 'is required');
  const memoryBytes = checkInt64(
    'replicaConfig.memoryBytes',
    c.memoryBytes,
    0,
    LIMITS.agentMemoryBytes,
  );
  checkInt64('availableMemoryBytes', req.availableMemoryBytes, 0, LIMITS.agentMemoryBytes);
  return {
    inferenceSvc: c.inferenceSvc,
    inferenceHttpPort: c.inferenceHttpPort,
    inferenceGrpcPort: c.inferenceGrpcPort,
    memoryBytes,
    capabilities: c.capabilities.map((s) => s.trim()).filter((s) => s !== ''),
    overCommitPercentage: checkInt(
      'replicaConfig.overCommitPercentage',
      c.overCommitPercentage,
      0,
      1000,
    ),
  };
}

function decodeEvent(req: ModelEventMessage): AgentReport {
  const report: AgentReport = {
    server: checkServerName('serverName', req.serverName),
    idx: checkInt('replicaIdx', req.replicaIdx, 0, MAX_REPLICA_IDX),
    model: checkModelName('modelName', req.modelName),
    version: checkInt('modelVersion', req.modelVersion, 1, MAX_VERSION),
    event: eventKind(req.event),
    message: req.message.slice(0, LIMITS.stringLength),
    availableMemoryBytes: checkInt64(
      'availableMemoryBytes',
      req.availableMemoryBytes,
      0,
      LIMITS.agentMemoryBytes,
    ),
  };
  const info = req.runtimeInfo && runtimeInfoFromProto(req.runtimeInfo);
  if (info) report.runtimeInfo = info;
  return report;
}

function eventKind(e: AgentEventKind): AgentReport['event'] {
  switch (e) {
    case AgentEventKind.LOADED:
      return 'loaded';
    case AgentEventKind.LOAD_FAILED:
    case AgentEventKind.LOAD_FAIL_MEMORY:
      return 'loadFailed';
    case AgentEventKind.UNLOADED:
      return 'unloaded';
    case AgentEventKind.UNLOAD_FAILED:
      return 'unloadFailed';
    case AgentEventKind.UNKNOWN_EVENT:
    case AgentEventKind.REMOVED:
    case AgentEventKind.REMOVE_FAILED:
    case AgentEventKind.RSYNC:
      return 'other';
    case AgentEventKind.UNRECOGNIZED:
    default:
      // The binary decoder passes numbers outside the enum through as they are.
      throw invalidSpec('event', `unknown event value ${String(e)}`);
  }
}

function opToProto(op: AgentOp): ModelOperationMessage {
  return {
    operation: op.operation === 'load' ? Operation.LOAD_MODEL : Operation.UNLOAD_MODEL,
    modelVersion: { model: modelToProto(op.definition), version: op.version },
    autoscalingEnabled: op.autoscalingEnabled,
  };
}
