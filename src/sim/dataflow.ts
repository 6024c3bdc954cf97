/**
 * A simulated dataflow engine (`mlsched dataflow`): it speaks the real `seldon.mlops.chainer.Chainer`
 * protocol, as Seldon's dataflow engines speak it, without Kafka. It
 * subscribes by name and acknowledges every Create (a failure for pipelines whose name matches
 * `failPipeline`) and every Delete, echoing the message's timestamp and naming itself as the stream.
 * Given several scheduler addresses (`serve --ha`), it follows the leader: refused or cut off with
 * UNAVAILABLE, it moves on to the next address and subscribes there.
 */
import {
  credentials,
  Metadata,
  status as grpcStatus,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientUnaryCall,
} from '@grpc/grpc-js';
import {
  ChainerClient,
  PipelineUpdateMessage_PipelineOperation as Operation,
  pipelineUpdateMessage_PipelineOperationToJSON as operationName,
  type PipelineUpdateMessage,
} from '../gen/mlops/chainer/chainer.js';
import { RECONNECT_CHANNEL_OPTIONS, ReconnectingStream, type SimLogger } from './reconnect.js';
import { parseSchedulerAddresses, SchedulerTargets } from './targets.js';

/** Options of {@link startSimulatedDataflow}. */
export interface SimulatedDataflowOptions {
  /**
   * The scheduler's host, e.g. '127.0.0.1', or comma-separated dataflow addresses of several
   * (`serve --ha`), each `HOST` (port `dataflowPort`) or `HOST:PORT`: '10.0.0.1,10.0.0.2:9108'.
   */
  schedulerHost: string;
  /** The scheduler's dataflow (Chainer) port (of the entries of `schedulerHost` that name none). */
  dataflowPort: number;
  /** The engine's name: its subscription name and the `stream` of its acknowledgements. */
  name: string;
  /** Creates of pipelines whose name matches are acknowledged as failed, with a reason. */
  failPipeline?: RegExp;
  /** Time from receiving a message to acknowledging it (default 10 ms). */
  ackDelayMs?: number;
  /** How to reach the scheduler: TLS / mutual TLS credentials; plaintext when absent. */
  credentials?: ChannelCredentials;
  /** More channel options, e.g. `grpc.ssl_target_name_override` for `--tls-server-name`. */
  channelOptions?: ChannelOptions;
  logger: SimLogger;
}

/** A running simulated dataflow engine. */
export interface SimulatedDataflow {
  /** Cancels the stream, pending acknowledgements and calls; resolves when closed. No reconnect. */
  stop(): Promise<void>;
}

/** Deadline of each PipelineUpdateEvent call. */
const ACK_DEADLINE_MS = 10_000;
const DEFAULT_ACK_DELAY_MS = 10;

class Engine implements SimulatedDataflow {
  private readonly targets: SchedulerTargets<ChainerClient>;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly calls = new Set<ClientUnaryCall>();
  private readonly subscription: ReconnectingStream<PipelineUpdateMessage, ChainerClient>;
  private stopped = false;

  /** @throws Error when an entry of `schedulerHost` is not valid. */
  constructor(private readonly o: SimulatedDataflowOptions) {
    this.targets = new SchedulerTargets(
      parseSchedulerAddresses(o.schedulerHost, o.dataflowPort),
      (address) =>
        new ChainerClient(address, o.credentials ?? credentials.createInsecure(), {
          ...o.channelOptions,
          ...RECONNECT_CHANNEL_OPTIONS,
        }),
    );
    this.subscription = new ReconnectingStream({
      targets: this.targets,
      open: (client) => client.subscribePipelineUpdates({ name: o.name }),
      onMessage: (msg) => {
        this.handle(msg);
      },
      logger: o.logger,
      log: { engine: o.name },
    });
  }

  start(): void {
    this.subscription.start();
  }

  private handle(msg: PipelineUpdateMessage): void {
    this.o.logger.info(
      {
        engine: this.o.name,
        op: operationName(msg.op),
        pipeline: msg.pipeline,
        version: msg.version,
        timestamp: msg.timestamp,
      },
      'received',
    );
    switch (msg.op) {
      case Operation.Create: {
        const fail = this.o.failPipeline;
        if (fail) fail.lastIndex = 0; // a /g or /y pattern would otherwise remember the last match
        if (fail?.test(msg.pipeline)) {
          this.ackLater(
            msg,
            false,
            `simulated failure: pipeline ${msg.pipeline} matches --fail-pipeline`,
          );
        } else {
          this.ackLater(msg, true, '');
        }
        return;
      }
      case Operation.Delete:
        this.ackLater(msg, true, '');
        return;
      case Operation.Unknown:
      case Operation.Rebalance:
      case Operation.Ready:
      case Operation.UNRECOGNIZED:
      default:
        this.o.logger.warn(
          { engine: this.o.name, pipeline: msg.pipeline, op: operationName(msg.op) },
          'ignoring a message that is neither Create nor Delete',
        );
    }
  }

  private ackLater(msg: PipelineUpdateMessage, success: boolean, reason: string): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.ack(msg, success, reason);
    }, this.o.ackDelayMs ?? DEFAULT_ACK_DELAY_MS);
    this.timers.add(timer);
  }

  private ack(msg: PipelineUpdateMessage, success: boolean, reason: string): void {
    const info = {
      engine: this.o.name,
      op: operationName(msg.op),
      pipeline: msg.pipeline,
      version: msg.version,
      timestamp: msg.timestamp,
      success,
      ...(reason ? { reason } : {}),
    };
    const target = this.subscription.target();
    const call = target.client.pipelineUpdateEvent(
      {
        update: {
          op: msg.op,
          pipeline: msg.pipeline,
          version: msg.version,
          uid: msg.uid,
          updates: [],
          pipelineOutputTopic: '',
          pipelineErrorTopic: '',
          allowCycles: false,
          maxStepRevisits: 0,
          timestamp: msg.timestamp,
          stream: this.o.name,
        },
        success,
        reason,
      },
      new Metadata(),
      { deadline: Date.now() + ACK_DEADLINE_MS },
      (err) => {
        this.calls.delete(call);
        if (err && !this.stopped) {
          this.o.logger.warn(
            { ...info, scheduler: target.address, err: err.message },
            'PipelineUpdateEvent failed (not retried)',
          );
          // Refused by a standby, or the scheduler is gone: move on.
          if (err.code === grpcStatus.UNAVAILABLE) this.subscription.unavailable(target);
        }
      },
    );
    this.calls.add(call);
    this.o.logger.info(info, 'acknowledged');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.calls) c.cancel();
    await this.subscription.stop();
    this.targets.close();
  }
}

/**
 * Starts a simulated dataflow engine. It subscribes in the background and keeps reconnecting (with
 * capped back-off) until `stop()`, so the scheduler need not be up yet.
 * @throws Error when `name` is empty or an entry of `schedulerHost` is not valid.
 */
export function startSimulatedDataflow(o: SimulatedDataflowOptions): SimulatedDataflow {
  if (o.name === '') throw new Error('the dataflow engine name must not be empty');
  const engine = new Engine(o);
  engine.start();
  return engine;
}
