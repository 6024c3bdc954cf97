import {
  credentials,
  Metadata,
  status as grpcStatus,
  type CallOptions,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
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

/** A connected Scheduler client; rejects with exit code 4 when nothing answers at `address`. */
export async function connect(address: string): Promise<SchedulerClient> {
  if (!/^[^:\s]+:\d+$/.test(address)) {
    throw new CliError(`--scheduler-host: '${address}' must be HOST:PORT`, EXIT.usage);
  }
  const client = new SchedulerClient(address, credentials.createInsecure());
  await new Promise<void>((resolve, reject) => {
    client.waitForReady(Date.now() + CONNECT_TIMEOUT_MS, (err) => {
      if (err) {
        client.close();
        reject(
          new CliError(
            `cannot reach the scheduler at ${address} within ${CONNECT_TIMEOUT_MS / 1000} s; is \`mlsched serve\` running there?`,
            EXIT.unreachable,
          ),
        );
      } else resolve();
    });
  });
  return client;
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
