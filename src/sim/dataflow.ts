/**
 * A simulated dataflow engine (`mlsched dataflow`): it speaks the real `seldon.mlops.chainer.Chainer`
 * protocol (seldon-chainer-protocol.md, seldon-pipelines-experiments.md §1.12) without Kafka. It
 * subscribes by name and acknowledges every Create (a failure for pipelines whose name matches
 * `failPipeline`) and every Delete, echoing the message's timestamp and naming itself as the stream.
 */
import {
  connectivityState,
  credentials,
  Metadata,
  status as grpcStatus,
  type ClientReadableStream,
  type ClientUnaryCall,
  type StatusObject,
} from '@grpc/grpc-js';
import {
  ChainerClient,
  PipelineUpdateMessage_PipelineOperation as Operation,
  pipelineUpdateMessage_PipelineOperationToJSON as operationName,
  type PipelineUpdateMessage,
} from '../gen/mlops/chainer/chainer.js';
import { RECONNECT_BACKOFF_MS, type SimLogger } from './agent.js';

/** Options of {@link startSimulatedDataflow}. */
export interface SimulatedDataflowOptions {
  /** Scheduler host only, e.g. '127.0.0.1'. */
  schedulerHost: string;
  /** The scheduler's dataflow (Chainer) port. */
  dataflowPort: number;
  /** The engine's name: its subscription name and the `stream` of its acknowledgements. */
  name: string;
  /** Creates of pipelines whose name matches are acknowledged as failed, with a reason. */
  failPipeline?: RegExp;
  /** Time from receiving a message to acknowledging it (default 10 ms). */
  ackDelayMs?: number;
  logger: SimLogger;
}

/** A running simulated dataflow engine. */
export interface SimulatedDataflow {
  /** Cancels the stream, pending acknowledgements and calls; resolves when closed. No reconnect. */
  stop(): Promise<void>;
}

/** A stream that lived this long after connecting counts as a successful connect (back-off reset). */
const STABLE_MS = 1000;
/** Deadline of each PipelineUpdateEvent call. */
const ACK_DEADLINE_MS = 10_000;
const DEFAULT_ACK_DELAY_MS = 10;

type UpdateStream = ClientReadableStream<PipelineUpdateMessage>;

class Engine implements SimulatedDataflow {
  private readonly address: string;
  private readonly client: ChainerClient;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly calls = new Set<ClientUnaryCall>();
  private stream: UpdateStream | undefined;
  /** Resolves when the current stream has finished (status received or closed). */
  private streamDone: Promise<void> = Promise.resolve();
  private connectedAt: number | undefined;
  private everConnected = false;
  private backoffMs: number = RECONNECT_BACKOFF_MS.initial;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: SimulatedDataflowOptions) {
    this.address = `${o.schedulerHost}:${o.dataflowPort}`;
    this.client = new ChainerClient(this.address, credentials.createInsecure(), {
      // The channel's own reconnect back-off (default 1 s × 1.6 up to 120 s) would otherwise make
      // every subscribe retry fail fast for minutes after a long scheduler outage.
      'grpc.initial_reconnect_backoff_ms': RECONNECT_BACKOFF_MS.initial,
      'grpc.max_reconnect_backoff_ms': RECONNECT_BACKOFF_MS.max,
    });
  }

  start(): void {
    // The scheduler sends no headers until it has a message, so a connect is seen through the
    // channel being (or becoming) READY while the stream is open.
    const channel = this.client.getChannel();
    const watch = () => {
      if (this.stopped) return;
      const state = channel.getConnectivityState(false);
      if (state === connectivityState.READY && this.stream) this.connected(this.stream);
      if (state === connectivityState.SHUTDOWN) return;
      channel.watchConnectivityState(state, Infinity, watch);
    };
    this.connect();
    watch();
  }

  private connect(): void {
    if (this.stopped) return;
    this.retry = undefined;
    this.connectedAt = undefined;
    const stream = this.client.subscribePipelineUpdates({ name: this.o.name });
    this.stream = stream;
    this.streamDone = new Promise<void>((resolve) => {
      let done = false;
      const finish = (st: Pick<StatusObject, 'code' | 'details'>) => {
        if (done) return;
        done = true;
        this.ended(stream, st);
        resolve();
      };
      stream.on('status', finish);
      stream.on('error', (e: Error & Partial<StatusObject>) => {
        finish({ code: e.code ?? grpcStatus.UNKNOWN, details: e.details ?? e.message });
      });
      stream.on('close', () => {
        finish({ code: grpcStatus.UNKNOWN, details: 'stream closed' });
      });
    });
    stream.on('metadata', () => {
      this.connected(stream);
    });
    if (this.client.getChannel().getConnectivityState(false) === connectivityState.READY) {
      this.connected(stream);
    }
    stream.on('data', (msg: PipelineUpdateMessage) => {
      this.connected(stream);
      this.handle(msg);
    });
  }

  private connected(stream: UpdateStream): void {
    if (this.stream !== stream || this.connectedAt !== undefined) return;
    this.connectedAt = Date.now();
    this.o.logger.info(
      { engine: this.o.name, scheduler: this.address, reconnect: this.everConnected },
      this.everConnected ? 'reconnected to scheduler' : 'connected to scheduler',
    );
    this.everConnected = true;
  }

  private ended(stream: UpdateStream, st: Pick<StatusObject, 'code' | 'details'>): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    if (this.stopped) return;
    if (this.connectedAt !== undefined && Date.now() - this.connectedAt >= STABLE_MS) {
      this.backoffMs = RECONNECT_BACKOFF_MS.initial;
    }
    const delay = this.backoffMs;
    this.backoffMs = Math.min(RECONNECT_BACKOFF_MS.max, this.backoffMs * 2);
    this.o.logger.warn(
      {
        engine: this.o.name,
        scheduler: this.address,
        code: grpcStatus[st.code],
        details: st.details,
        retryInMs: delay,
      },
      this.connectedAt === undefined
        ? 'could not subscribe to scheduler; retrying'
        : 'scheduler stream ended; reconnecting',
    );
    this.retry = setTimeout(() => {
      this.connect();
    }, delay);
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
    const call = this.client.pipelineUpdateEvent(
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
            { ...info, err: err.message },
            'PipelineUpdateEvent failed (not retried)',
          );
        }
      },
    );
    this.calls.add(call);
    this.o.logger.info(info, 'acknowledged');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.calls) c.cancel();
    this.stream?.cancel();
    await this.streamDone;
    this.client.close();
  }
}

/**
 * Starts a simulated dataflow engine. It subscribes in the background and keeps reconnecting (with
 * capped back-off) until `stop()`, so the scheduler need not be up yet.
 * @throws Error when `name` is empty.
 */
export function startSimulatedDataflow(o: SimulatedDataflowOptions): SimulatedDataflow {
  if (o.name === '') throw new Error('the dataflow engine name must not be empty');
  const engine = new Engine(o);
  engine.start();
  return engine;
}
