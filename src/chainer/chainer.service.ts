import { status, type ServerWritableStream } from '@grpc/grpc-js';
import type { DataflowGateway, SchedulerSystem } from '../actors/index.js';
import type {
  ChainerServer,
  PipelineSubscriptionRequest,
  PipelineUpdateMessage,
  PipelineUpdateStatusMessage,
} from '../gen/mlops/chainer/chainer.js';
import { toServiceError, type ErrorLogger } from '../wire/errors.js';
import { unary } from '../wire/grpc.js';
import { engineNameFromProto, fromStatusMessage, toUpdateMessage } from '../wire/chainer.js';

type UpdateStream = ServerWritableStream<PipelineSubscriptionRequest, PipelineUpdateMessage>;

/** What the Chainer service needs: a logger (a pino child logger in the app). */
export interface ChainerServiceDeps {
  log: ErrorLogger & {
    info(obj: object, msg?: string): void;
    warn(obj: object, msg?: string): void;
  };
}

const P = '/seldon.mlops.chainer.Chainer/';

/**
 * The Chainer service: dataflow engines subscribe by name and receive pipeline create/delete
 * messages on that stream; their PipelineUpdateEvent acknowledgements become system reports. Also
 * the system's dataflow gateway.
 */
export class ChainerService {
  private system: SchedulerSystem | undefined;
  /** The active stream of each engine, by name. */
  private readonly active = new Map<string, UpdateStream>();
  /** Later subscriptions of an engine that is still connected wait here, in order. */
  private readonly waiting = new Map<string, UpdateStream[]>();
  private closing = false;

  constructor(private readonly deps: ChainerServiceDeps) {}

  /** Connects the service to the system it reports to (the system needs the gateway first). */
  attach(system: SchedulerSystem): void {
    this.system = system;
  }

  /** Sends ops on the engines' streams; an error text when the engine has no open stream. */
  readonly gateway: DataflowGateway = {
    send: (engine, op) => {
      const call = this.active.get(engine);
      if (!call || call.cancelled || call.writableEnded || call.destroyed) {
        return `no open stream to dataflow engine ${engine}`;
      }
      try {
        call.write(toUpdateMessage(op));
        return undefined;
      } catch (e) {
        return e instanceof Error ? e.message : String(e);
      }
    },
  };

  /** The grpc-js implementation of Chainer. */
  implementation(): ChainerServer {
    return {
      subscribePipelineUpdates: (call: UpdateStream) => {
        try {
          const name = engineNameFromProto(call.request);
          if (this.closing) {
            call.emit('error', { code: status.UNAVAILABLE, details: 'scheduler is shutting down' });
            return;
          }
          if (this.active.has(name)) {
            // Seldon parity: a second subscription of the same name waits until the first ends.
            this.waiting.set(name, [...(this.waiting.get(name) ?? []), call]);
            call.on('cancelled', () => {
              const rest = (this.waiting.get(name) ?? []).filter((c) => c !== call);
              if (rest.length > 0) this.waiting.set(name, rest);
              else this.waiting.delete(name);
            });
            this.deps.log.info({ engine: name }, 'dataflow engine already connected; waiting');
            return;
          }
          this.activate(name, call);
        } catch (e) {
          call.emit('error', toServiceError(e, `${P}SubscribePipelineUpdates`, this.deps.log));
        }
      },
      pipelineUpdateEvent: unary(
        `${P}PipelineUpdateEvent`,
        this.deps.log,
        (req: PipelineUpdateStatusMessage) => {
          this.requireSystem().dataflowEvent(fromStatusMessage(req));
          return {};
        },
      ),
    };
  }

  /** Ends every engine stream (scheduler shutdown); engines reconnect to the next scheduler. */
  close(): void {
    this.closing = true;
    for (const queue of this.waiting.values()) for (const call of queue) call.end();
    this.waiting.clear();
    for (const call of this.active.values()) call.end();
    this.active.clear();
  }

  /** Registers the stream, then tells the system (which may send on it at once). */
  private activate(name: string, call: UpdateStream): void {
    const system = this.requireSystem();
    this.active.set(name, call);
    let joined = false;
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      if (this.active.get(name) !== call) return;
      this.active.delete(name);
      this.deps.log.info({ engine: name }, 'dataflow engine disconnected');
      if (this.closing) return;
      if (joined) {
        try {
          system.engineLeft(name);
        } catch (e) {
          this.deps.log.error({ err: e, engine: name }, 'dataflow engine removal failed');
        }
      }
      const next = this.nextWaiting(name);
      if (next) this.activate(name, next);
    };
    call.on('cancelled', leave);
    call.on('close', leave);
    call.on('error', leave);
    this.deps.log.info({ engine: name }, 'dataflow engine subscribed');
    try {
      system.engineJoined(name);
      joined = true;
    } catch (e) {
      // The stream ends with the mapped error, which runs `leave` (without engineLeft).
      call.emit('error', toServiceError(e, `${P}SubscribePipelineUpdates`, this.deps.log));
    }
  }

  /** The first waiting subscription of `name` that is still open, taken off the queue. */
  private nextWaiting(name: string): UpdateStream | undefined {
    const queue = this.waiting.get(name) ?? [];
    let next = queue.shift();
    while (next && (next.cancelled || next.destroyed || next.writableEnded)) next = queue.shift();
    if (queue.length === 0) this.waiting.delete(name);
    return next;
  }

  private requireSystem(): SchedulerSystem {
    if (!this.system) throw new Error('chainer service used before it was attached to a system');
    return this.system;
  }
}
