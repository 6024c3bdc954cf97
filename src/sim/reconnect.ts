/**
 * The reconnecting subscribe stream the simulators share (`mlsched agent`, `mlsched dataflow`): it
 * opens a server stream to the scheduler, sees it connected, and when it ends opens a new one after
 * a capped, doubling back-off, until `stop()`.
 */
import {
  connectivityState,
  status as grpcStatus,
  type Client,
  type ClientReadableStream,
  type StatusObject,
} from '@grpc/grpc-js';

/** Where a simulator logs (a pino logger fits). */
export interface SimLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Reconnect back-off: doubles from the first to the last. */
export const RECONNECT_BACKOFF_MS = { initial: 100, max: 5000 } as const;
/** A stream that lived this long after connecting counts as a successful connect (back-off reset). */
const STABLE_MS = 1000;

/**
 * Client options for the channel a {@link ReconnectingStream} uses. The channel's own reconnect
 * back-off (default 1 s × 1.6 up to 120 s) would otherwise make every subscribe retry fail fast for
 * minutes after a long scheduler outage.
 */
export const RECONNECT_CHANNEL_OPTIONS = {
  'grpc.initial_reconnect_backoff_ms': RECONNECT_BACKOFF_MS.initial,
  'grpc.max_reconnect_backoff_ms': RECONNECT_BACKOFF_MS.max,
} as const;

/** Options of a {@link ReconnectingStream}. */
export interface ReconnectingStreamOptions<T> {
  /** Opens a new stream: at `start()` and on every reconnect, so the request may change. */
  open: () => ClientReadableStream<T>;
  /** The client `open` calls: its channel being READY while a stream is open means connected. */
  client: Client;
  /** Each message of the current stream. */
  onMessage: (msg: T) => void;
  logger: SimLogger;
  /** Fields of every line logged, e.g. `{ engine, scheduler }`. */
  log: object;
  /** More fields of the connected / reconnected line, read when it is logged. */
  connectedLog?: () => object;
}

/** One subscription to the scheduler, kept open (reopened with back-off) until `stop()`. */
export class ReconnectingStream<T> {
  private stream: ClientReadableStream<T> | undefined;
  /** Resolves when the current stream has finished (status received or closed). */
  private streamDone: Promise<void> = Promise.resolve();
  private connectedAt: number | undefined;
  private everConnected = false;
  private backoffMs: number = RECONNECT_BACKOFF_MS.initial;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: ReconnectingStreamOptions<T>) {}

  /** Opens the first stream and watches the channel. */
  start(): void {
    // The streams are server-streaming and the scheduler sends no headers until it has a message,
    // so a connect is seen through the channel being (or becoming) READY while the stream is open.
    const channel = this.o.client.getChannel();
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
    const stream = this.o.open();
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
    if (this.o.client.getChannel().getConnectivityState(false) === connectivityState.READY) {
      this.connected(stream);
    }
    stream.on('data', (msg: T) => {
      this.connected(stream);
      this.o.onMessage(msg);
    });
  }

  private connected(stream: ClientReadableStream<T>): void {
    if (this.stream !== stream || this.connectedAt !== undefined) return;
    this.connectedAt = Date.now();
    this.o.logger.info(
      { ...this.o.log, reconnect: this.everConnected, ...this.o.connectedLog?.() },
      this.everConnected ? 'reconnected to scheduler' : 'connected to scheduler',
    );
    this.everConnected = true;
  }

  private ended(stream: ClientReadableStream<T>, st: Pick<StatusObject, 'code' | 'details'>): void {
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
        ...this.o.log,
        code: (grpcStatus as Record<number, string | undefined>)[st.code] ?? String(st.code),
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

  /** Cancels the stream and any pending reconnect; resolves when the stream has finished. */
  stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    this.stream?.cancel();
    return this.streamDone;
  }
}
