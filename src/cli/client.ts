import {
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

/** Exit codes of the client commands (README "The mlsched client"). */
export const EXIT = {
  ok: 0,
  /** The scheduler refused or failed the request (unknown resource, invalid spec, ...). */
  failed: 1,
  /** Bad command line or manifest: nothing was sent. */
  usage: 2,
  /** `-w` did not see the state within `--timeout`. */
  timeout: 3,
  /** The scheduler could not be reached. */
  unreachable: 4,
} as const;

/** A failure the command reports as one line on stderr, exiting with `code`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

const CONNECT_TIMEOUT_MS = 5000;
const CALL_TIMEOUT_MS = 30_000;

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
    );
  }
  return new CliError(`${codeName(e.code)}: ${e.details}`, EXIT.failed);
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

/**
 * A connected Scheduler client (over TLS with `tls`); rejects with exit code 4 when nothing
 * answers at `address`, saying why the last connection attempt failed (refused, a certificate
 * not trusted, ...).
 */
export async function connect(address: string, tls?: ClientTls): Promise<SchedulerClient> {
  if (!/^[^:\s]+:\d+$/.test(address)) {
    throw new CliError(`--scheduler-host: '${address}' must be HOST:PORT`, EXIT.usage);
  }
  const channel = clientChannel(tls);
  const client = new SchedulerClient(address, channel.credentials, channel.options);
  const ready = await new Promise<boolean>((resolve) => {
    client.waitForReady(Date.now() + CONNECT_TIMEOUT_MS, (err) => {
      resolve(!err);
    });
  });
  if (ready) return client;
  const reason = await lastConnectError(client);
  if (reason === undefined) return client; // connected meanwhile
  client.close();
  const hint =
    tls === undefined
      ? 'is `mlsched serve` running there? (if it serves TLS, give --tls-ca)'
      : 'is `mlsched serve` running there with TLS? check --tls-ca, --tls-cert/--tls-key and --tls-server-name';
  throw new CliError(
    `cannot reach the scheduler at ${address} within ${CONNECT_TIMEOUT_MS / 1000} s (${reason}); ${hint}`,
    EXIT.unreachable,
  );
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
