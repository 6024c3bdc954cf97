/**
 * The client side of the `mlsched` client commands: one or more scheduler addresses, the one that
 * leads found and followed (`serve --ha`), and gRPC errors as one line with an exit code.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  connectivityState,
  credentials,
  Metadata,
  status as grpcStatus,
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { parseClientTls, type ClientTls, type ClientTlsFlags } from '../config/tls.js';
import { SchedulerClient } from '../gen/mlops/scheduler/scheduler.js';
import { PlacementClient } from '../gen/mlsched/placement/v1/placement.js';
import { CliError, EXIT } from './errors.js';

/**
 * How long a command waits for a leader while some scheduler answers (a standby saying none leads
 * yet, during a take-over) before exit code 4.
 */
const CONNECT_TIMEOUT_MS = 5000;
/** Of several addresses, how long one may take to connect before the next is tried. */
const ATTEMPT_TIMEOUT_MS = 2000;
/** The pause between two rounds over the addresses while none leads. */
const ROUND_PAUSE_MS = 100;
const CALL_TIMEOUT_MS = 30_000;
/** The channel's own reconnect back-off (default 1 s to 120 s) kept short, as rounds retry. */
const CHANNEL_OPTIONS = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
} as const;

const codeName = (code: number): string => grpcStatus[code] ?? String(code);

const isServiceError = (e: unknown): e is ServiceError =>
  e instanceof Error && typeof (e as Partial<ServiceError>).code === 'number';

/** The gRPC error as the one line a user reads: `FAILED_PRECONDITION: Failed to find model x`. */
export function callError(e: unknown, address: string): CliError {
  if (!isServiceError(e)) return new CliError(e instanceof Error ? e.message : String(e), 1);
  if (e.code === grpcStatus.UNAVAILABLE || e.code === grpcStatus.DEADLINE_EXCEEDED) {
    return new CliError(
      `cannot reach the scheduler at ${address} (${e.details || codeName(e.code)}); is \`mlsched serve\` running there?`,
      EXIT.unreachable,
      e,
    );
  }
  return new CliError(`${codeName(e.code)}: ${e.details}`, EXIT.failed, e);
}

/** The gRPC error behind `e` (a {@link CliError} from {@link unary} or {@link collect}). */
const grpcErrorOf = (e: unknown): ServiceError | undefined => {
  const raw = e instanceof CliError ? e.cause : e;
  return isServiceError(raw) ? raw : undefined;
};

const STANDBY = 'this scheduler is a standby; ';

/**
 * The refusal of a standby scheduler (`serve --ha`): `{ leader }`, the scheduler address of the
 * leader it names, or undefined when it says none leads at the moment. Undefined for any other error.
 */
export function standbyRefusal(e: unknown): { leader: string | undefined } | undefined {
  const err = grpcErrorOf(e);
  if (err?.code !== grpcStatus.UNAVAILABLE || !err.details.startsWith(STANDBY)) return undefined;
  const m = /^the leader is at (\S+)$/.exec(err.details.slice(STANDBY.length));
  return { leader: m?.[1] };
}

/**
 * `--scheduler-host`: `HOST:PORT`, or several comma-separated (`serve --ha`); repeats dropped.
 * @throws CliError (usage) naming an entry that is not HOST:PORT.
 */
export function parseSchedulerHosts(v: string): string[] {
  const out: string[] = [];
  for (const raw of v.split(',')) {
    const address = raw.trim();
    if (!/^(\[[^\]\s]+\]|[^:\s[\]]+):\d+$/.test(address)) {
      const which = v.includes(',') ? `'${address}' in '${v}'` : `'${v}'`;
      throw new CliError(
        `--scheduler-host: ${which} must be HOST:PORT (several: comma-separated)`,
        EXIT.usage,
      );
    }
    if (!out.includes(address)) out.push(address);
  }
  return out;
}

/**
 * The client TLS flags (`--tls-ca`, `--tls-cert`, `--tls-key`, `--tls-server-name`) read and
 * checked; undefined (plaintext) without any. @throws CliError (usage) naming the flag.
 */
export function clientTls(flags: ClientTlsFlags): ClientTls | undefined {
  try {
    return parseClientTls(flags);
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e), EXIT.usage);
  }
}

/** The credentials and channel options of a client of the scheduler: plaintext without `tls`. */
export function clientChannel(tls: ClientTls | undefined): {
  credentials: ChannelCredentials;
  options: ChannelOptions;
} {
  if (tls === undefined) return { credentials: credentials.createInsecure(), options: {} };
  return {
    credentials: credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null),
    options:
      tls.serverName === undefined ? {} : { 'grpc.ssl_target_name_override': tls.serverName },
  };
}

const placementClients = new WeakMap<SchedulerClient, PlacementClient>();

/** mlsched's Placement service on the same connection as `client` (same address, same TLS). */
export function placementOf(client: SchedulerClient): PlacementClient {
  let placement = placementClients.get(client);
  if (!placement) {
    placement = new PlacementClient('unused', credentials.createInsecure(), {
      channelOverride: client.getChannel(),
    });
    placementClients.set(client, placement);
  }
  return placement;
}

/**
 * How the client's connection attempt ends: `ready`; `failed` when it fails (or has failed: the
 * channel is in back-off), e.g. refused; `silent` when nothing has answered by `until`.
 */
function connect(client: SchedulerClient, until: number): Promise<'ready' | 'failed' | 'silent'> {
  const channel = client.getChannel();
  return new Promise((resolve) => {
    const check = () => {
      const state = channel.getConnectivityState(true);
      if (state === connectivityState.READY) resolve('ready');
      else if (
        state === connectivityState.TRANSIENT_FAILURE ||
        state === connectivityState.SHUTDOWN
      ) {
        resolve('failed');
      } else if (Date.now() >= until) resolve('silent');
      else {
        channel.watchConnectivityState(state, until, (err) => {
          if (err) resolve('silent');
          else check();
        });
      }
    };
    check();
  });
}

/**
 * What an address said (or why it did not) in the last round, for the exit-code-4 message: without
 * `reason`, the channel's last connection error says why it could not be reached.
 */
type Miss = { unreachable: true; reason?: string } | { unreachable: false; said: string };

/**
 * The schedulers of `--scheduler-host` (over TLS with `tls`), of which the one that leads gets
 * every call: it is found by trying the addresses in turn, going straight to the leader a standby
 * names (in the list or not) and skipping those that cannot be reached, and followed from then on.
 */
export class Schedulers {
  private readonly clients = new Map<string, SchedulerClient>();
  private current: string | undefined;

  constructor(
    private readonly addresses: readonly string[],
    private readonly tls?: ClientTls,
  ) {}

  /** The address that answered last, if any. */
  get leader(): string | undefined {
    return this.current;
  }

  /**
   * Runs `call` on the leader: first the address that answered last, then every address in turn
   * (a standby naming the leader sends it there), in rounds while a standby answers that none
   * leads yet, for up to 5 s (and not past `until`). A call refused by a standby is repeated
   * elsewhere (it was not run), and so is one failing with any other UNAVAILABLE when `idempotent`
   * (a read).
   * @throws CliError: the call's own failure, or exit code 4 when no scheduler leads in time, or
   *   at once when a round finds none that answers (every connection refused, say).
   */
  async run<T>(
    call: (client: SchedulerClient, address: string) => Promise<T>,
    o: { idempotent: boolean; until?: number },
  ): Promise<T> {
    const deadline = Math.min(o.until ?? Infinity, Date.now() + CONNECT_TIMEOUT_MS);
    const misses = new Map<string, Miss>();
    for (;;) {
      // Waiting only helps while a standby answers: a leader may yet be elected among them.
      let answered = false;
      const queue = [...(this.current === undefined ? [] : [this.current]), ...this.addresses];
      const tried = new Set<string>();
      for (let address = queue.shift(); address !== undefined; address = queue.shift()) {
        if (tried.has(address)) continue;
        tried.add(address);
        const client = this.client(address);
        const started = Date.now();
        const attempt = this.addresses.length > 1 ? started + ATTEMPT_TIMEOUT_MS : Infinity;
        const connected = await connect(client, Math.min(deadline, attempt));
        if (connected !== 'ready') {
          const waited = `no answer within ${((Date.now() - started) / 1000).toFixed(1)} s`;
          misses.set(
            address,
            connected === 'silent' ? { unreachable: true, reason: waited } : { unreachable: true },
          );
          if (this.current === address) this.current = undefined;
          continue;
        }
        try {
          const res = await call(client, address);
          this.current = address;
          return res;
        } catch (e) {
          const refusal = standbyRefusal(e);
          const err = grpcErrorOf(e);
          if (!refusal && !(o.idempotent && err?.code === grpcStatus.UNAVAILABLE)) {
            // It answered, refusing the request itself: it leads.
            if (err !== undefined && err.code !== grpcStatus.UNAVAILABLE) this.current = address;
            throw e;
          }
          if (this.current === address) this.current = undefined;
          const said = err?.details ?? String(e);
          if (!refusal) {
            // The connection failed under the call (it dropped, say): the address did not answer.
            misses.set(address, { unreachable: true, reason: connectError(said) });
            continue;
          }
          answered = true;
          misses.set(address, { unreachable: false, said });
          // Straight to the leader it names, before the rest of the list.
          if (refusal.leader !== undefined && !tried.has(refusal.leader)) {
            queue.unshift(refusal.leader);
          }
        }
      }
      if (!answered || Date.now() >= deadline) throw await this.noLeader(misses);
      await sleep(Math.min(ROUND_PAUSE_MS, Math.max(0, deadline - Date.now())));
    }
  }

  /** Closes every client. */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private client(address: string): SchedulerClient {
    let client = this.clients.get(address);
    if (!client) {
      const channel = clientChannel(this.tls);
      client = new SchedulerClient(address, channel.credentials, {
        ...channel.options,
        ...CHANNEL_OPTIONS,
      });
      this.clients.set(address, client);
    }
    return client;
  }

  /** Exit code 4, saying what each address said or why it could not be reached. */
  private async noLeader(misses: ReadonlyMap<string, Miss>): Promise<CliError> {
    const hint =
      this.tls === undefined
        ? 'is `mlsched serve` running there? (if it serves TLS, give --tls-ca)'
        : 'is `mlsched serve` running there with TLS? check --tls-ca, --tls-cert/--tls-key and --tls-server-name';
    const why = async (address: string, miss: Miss): Promise<string> =>
      miss.unreachable
        ? (miss.reason ?? (await lastConnectError(this.client(address))) ?? 'not connected')
        : miss.said;
    const [only] = this.addresses;
    const onlyMiss = only === undefined ? undefined : misses.get(only);
    if (this.addresses.length === 1 && only !== undefined && onlyMiss && misses.size === 1) {
      const reason = await why(only, onlyMiss);
      return new CliError(
        onlyMiss.unreachable
          ? `cannot reach the scheduler at ${only} (${reason}); ${hint}`
          : `no scheduler leads: ${only} says ${reason}`,
        EXIT.unreachable,
      );
    }
    const lines = await Promise.all(
      [...misses].map(async ([address, miss]) => `${address}: ${await why(address, miss)}`),
    );
    const allUnreachable = [...misses.values()].every((m) => m.unreachable);
    return new CliError(
      allUnreachable
        ? `cannot reach a scheduler at ${this.addresses.join(', ')} (${lines.join('; ')}); ${hint}`
        : `no scheduler leads (${lines.join('; ')})`,
      EXIT.unreachable,
    );
  }
}

/** Why the client's channel is not connected: gRPC names the last error of a failing call. */
function lastConnectError(client: SchedulerClient): Promise<string | undefined> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      () => Buffer.alloc(0),
      (b: Buffer) => b,
      Buffer.alloc(0),
      new Metadata(),
      { deadline: Date.now() + 1000 },
      (err) => {
        resolve(err ? connectError(err.details || codeName(err.code)) : undefined);
      },
    );
  });
}

/**
 * gRPC's "No connection established. Last error: ..." as a short phrase on one line:
 * `TLS: tlsv13 alert certificate required`, `unable to verify the first certificate`.
 */
function connectError(details: string): string {
  return details
    .replace(/^No connection established\. Last error: /, '')
    .replace(/\.? ?Resolution note:[\s\S]*$/, '')
    .replace(/ ?\(\d{4}-\d\d-\d\dT[\d:.]+Z\)/g, '')
    .replace(/^[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]*:([^:]+):[\s\S]*$/, 'TLS: $1')
    .replace(/^Error( \[\w+\])?: /, '')
    .replace(/\s+/g, ' ')
    .trim();
}

type Options = Partial<CallOptions>;
const deadline = (): Options => ({ deadline: Date.now() + CALL_TIMEOUT_MS });

/**
 * A unary call as a promise, with a deadline and the error mapped for the user:
 * `unary(address, (md, o, cb) => client.loadModel(req, md, o, cb))`.
 */
export function unary<Res>(
  address: string,
  call: (
    metadata: Metadata,
    options: Options,
    cb: (err: ServiceError | null, res: Res) => void,
  ) => unknown,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    call(new Metadata(), deadline(), (err, res) => {
      if (err) reject(callError(err, address));
      else resolve(res);
    });
  });
}

/**
 * Every message of a finite server stream (the status calls), with the error mapped:
 * `collect(address, (o) => client.modelStatus(req, o))`.
 */
export function collect<Res>(
  address: string,
  call: (options: Options) => ClientReadableStream<Res>,
): Promise<Res[]> {
  return new Promise((resolve, reject) => {
    const out: Res[] = [];
    call(deadline())
      .on('data', (m: Res) => out.push(m))
      .on('error', (e: unknown) => {
        reject(callError(e, address));
      })
      .on('end', () => {
        resolve(out);
      });
  });
}
