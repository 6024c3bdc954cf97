/**
 * The reconnecting subscribe stream the simulators share (`mlsched agent`, `mlsched dataflow`): it
 * opens a server stream to the scheduler, sees it connected, and when it ends opens a new one after
 * a capped, doubling back-off, until `stop()`. Given several scheduler addresses (`serve --ha`), a
 * stream refused or cut with UNAVAILABLE moves on to the next address at once, and the back-off
 * applies once a whole round of them has failed; while a standby answers (a take-over is under
 * way), rounds repeat every 200 ms at most.
 */
import {
  connectivityState,
  status as grpcStatus,
  type Client,
  type ClientReadableStream,
  type StatusObject,
} from '@grpc/grpc-js';
import type { SchedulerTargets, Target } from './targets.js';

/** Where a simulator logs (a pino logger fits). */
export interface SimLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Reconnect back-off: doubles from the first to the last. */
export const RECONNECT_BACKOFF_MS = { initial: 100, max: 5000 } as const;
/**
 * The longest wait between rounds in which a standby answered: one is there, and a leader will be
 * within a lease period (the back-off does not grow meanwhile).
 */
const STANDBY_RETRY_MS = 200;
/** A stream that lived this long after connecting counts as a successful connect (back-off reset). */
const STABLE_MS = 1000;
/**
 * How long after its channel is READY a quiet stream is logged as connected (the scheduler sends
 * nothing until it has a message): a standby's refusal comes well within it, and is then no connect.
 */
const SETTLE_MS = 150;

/** The refusal of a standby scheduler (`serve --ha`), which names the leader if there is one. */
const isStandbyRefusal = (st: Pick<StatusObject, 'code' | 'details'>): boolean =>
  st.code === grpcStatus.UNAVAILABLE && st.details.startsWith('this scheduler is a standby');

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
export interface ReconnectingStreamOptions<T, C extends Client> {
  /** The schedulers to follow; shared by every stream and call of one simulator. */
  targets: SchedulerTargets<C>;
  /** Opens a new stream on `client`: at `start()` and on every reconnect, so the request may change. */
  open: (client: C) => ClientReadableStream<T>;
  /** Each message of the current stream. */
  onMessage: (msg: T) => void;
  logger: SimLogger;
  /** Fields of every line logged, e.g. `{ engine }` (the scheduler address is added). */
  log: object;
  /** More fields of the connected / reconnected line, read when it is logged. */
  connectedLog?: () => object;
}

const codeName = (code: number): string =>
  (grpcStatus as Record<number, string | undefined>)[code] ?? String(code);

/** One subscription to the scheduler, kept open (reopened with back-off) until `stop()`. */
export class ReconnectingStream<T, C extends Client> {
  private stream: ClientReadableStream<T> | undefined;
  /** Where the current (or last) stream went. */
  private at: Target<C> | undefined;
  /** Resolves when the current stream has finished (status received or closed). */
  private streamDone: Promise<void> = Promise.resolve();
  private connectedAt: number | undefined;
  /** The connect of the current stream has been logged. */
  private announced = false;
  private settling: NodeJS.Timeout | undefined;
  private everConnected = false;
  private backoffMs: number = RECONNECT_BACKOFF_MS.initial;
  /** Attempts failed since the last connect or back-off: a round is one per address. */
  private failedInRound = 0;
  /** A standby refused a stream in this round. */
  private standbyInRound = false;
  /** The current stream was cancelled to move on (a call to its scheduler was UNAVAILABLE). */
  private movingOn = false;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: ReconnectingStreamOptions<T, C>) {}

  /** Opens the first stream. */
  start(): void {
    this.connect();
  }

  /** The scheduler the current stream is on (the one followed when there is none): for calls. */
  target(): Target<C> {
    return this.stream && this.at ? this.at : this.o.targets.current();
  }

  /**
   * A call to `target` failed with UNAVAILABLE: with several addresses, follow the next one, and
   * if the stream is on `target`, end it and subscribe there at once. Nothing with one address.
   */
  unavailable(target: Target<C>): void {
    if (!this.o.targets.moveOn(target.index)) return;
    if (this.stream && this.at?.index === target.index) {
      this.movingOn = true;
      this.stream.cancel();
    }
  }

  private connect(): void {
    if (this.stopped) return;
    this.retry = undefined;
    this.connectedAt = undefined;
    this.announced = false;
    this.movingOn = false;
    const target = this.o.targets.current();
    const stream = this.o.open(target.client);
    this.stream = stream;
    this.at = target;
    this.streamDone = new Promise<void>((resolve) => {
      let done = false;
      const finish = (st: Pick<StatusObject, 'code' | 'details'>) => {
        if (done) return;
        done = true;
        this.ended(stream, target, st);
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
    stream.on('data', (msg: T) => {
      this.connected(stream);
      this.o.onMessage(msg);
    });
    this.watch(stream, target.client.getChannel());
  }

  /**
   * The streams are server-streaming and the scheduler sends no headers until it has a message, so
   * a connect is seen through the channel being (or becoming) READY while the stream stays open.
   */
  private watch(stream: ClientReadableStream<T>, channel: ReturnType<Client['getChannel']>): void {
    const check = () => {
      if (this.stopped || this.stream !== stream) return;
      const state = channel.getConnectivityState(false);
      if (state === connectivityState.READY) this.ready(stream);
      if (state === connectivityState.SHUTDOWN) return;
      channel.watchConnectivityState(state, Infinity, check);
    };
    check();
  }

  /**
   * The channel is READY while the stream is open: connected, logged after {@link SETTLE_MS} or
   * when the stream ends, unless a standby refuses it meanwhile.
   */
  private ready(stream: ClientReadableStream<T>): void {
    if (this.stream !== stream || this.connectedAt !== undefined) return;
    this.connectedAt = Date.now();
    this.settling = setTimeout(() => {
      this.announce(stream);
    }, SETTLE_MS);
  }

  /** A message or headers came: connected. */
  private connected(stream: ClientReadableStream<T>): void {
    if (this.stream !== stream) return;
    this.connectedAt ??= Date.now();
    this.announce(stream);
  }

  /** Logs the connect of the current stream, once. */
  private announce(stream: ClientReadableStream<T>): void {
    clearTimeout(this.settling);
    this.settling = undefined;
    if (this.stream !== stream || this.announced) return;
    this.announced = true;
    this.o.logger.info(
      {
        ...this.o.log,
        scheduler: this.at?.address,
        reconnect: this.everConnected,
        ...this.o.connectedLog?.(),
      },
      this.everConnected ? 'reconnected to scheduler' : 'connected to scheduler',
    );
    this.everConnected = true;
  }

  private ended(
    stream: ClientReadableStream<T>,
    target: Target<C>,
    st: Pick<StatusObject, 'code' | 'details'>,
  ): void {
    if (this.stream !== stream) return;
    if (this.connectedAt !== undefined && !this.announced && !this.stopped) {
      if (isStandbyRefusal(st)) this.connectedAt = undefined;
      else this.announce(stream);
    }
    this.stream = undefined;
    clearTimeout(this.settling);
    this.settling = undefined;
    const code = this.movingOn ? grpcStatus.UNAVAILABLE : st.code;
    if (this.stopped) return;
    // A stream that connected starts a new round; one that lasted resets the back-off too.
    if (this.connectedAt !== undefined) this.failedInRound = 0;
    if (this.connectedAt !== undefined && Date.now() - this.connectedAt >= STABLE_MS) {
      this.backoffMs = RECONNECT_BACKOFF_MS.initial;
    }
    this.failedInRound++;
    if (isStandbyRefusal(st)) this.standbyInRound = true;
    // A standby refuses with UNAVAILABLE, and so does a scheduler that is gone: try the next one.
    const movedOn = code === grpcStatus.UNAVAILABLE && this.o.targets.moveOn(target.index);
    let delay = 0;
    if (!movedOn || this.failedInRound >= this.o.targets.size) {
      if (this.standbyInRound) {
        // A take-over is under way: look again soon, as long as it lasts.
        delay = Math.min(this.backoffMs, STANDBY_RETRY_MS);
      } else {
        delay = this.backoffMs;
        this.backoffMs = Math.min(RECONNECT_BACKOFF_MS.max, this.backoffMs * 2);
      }
      this.failedInRound = 0;
      this.standbyInRound = false;
    }
    this.o.logger.warn(
      {
        ...this.o.log,
        scheduler: target.address,
        code: codeName(code),
        details: this.movingOn ? 'a call to this scheduler was UNAVAILABLE' : st.details,
        retryInMs: delay,
        ...(movedOn ? { next: this.o.targets.current().address } : {}),
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
    clearTimeout(this.settling);
    this.settling = undefined;
    this.stream?.cancel();
    return this.streamDone;
  }
}
