/**
 * Scaffolding for the tests of the simulators (`mlsched agent`, `mlsched dataflow`) against a
 * stand-in scheduler port: a gRPC server on 127.0.0.1 that records the subscriptions it gets and
 * keeps their streams, a logger that records its lines, and cleanups run after each test.
 */
import { afterEach } from 'node:test';
import { Server, ServerCredentials, type ServerWritableStream } from '@grpc/grpc-js';
import { waitFor } from './harness.js';

/** One logged line. */
export interface Line {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg: string;
}

/** A logger that keeps what it is told. */
export function recorder() {
  const lines: Line[] = [];
  const at =
    (level: Line['level']) =>
    (obj: object, msg = '') => {
      lines.push({ level, obj, msg });
    };
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}

export type Cleanup = () => Promise<void> | void;

/**
 * The cleanups of a test file: run after each test, the last pushed first. Call once, at the top
 * level of the file.
 */
export function cleanupsAfterEach(): Cleanup[] {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return cleanups;
}

/** Binds `server` to 127.0.0.1:`port` (0: any free port); resolves with the port. */
export function bind(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) => {
      if (err) reject(err);
      else resolve(p);
    });
  });
}

/**
 * A stand-in scheduler port with one server-streaming subscribe RPC: subclasses add the service,
 * passing {@link subscribe} as its handler. It records every subscribe request, keeps the latest
 * stream of each subscriber (by `keyOf` its request) and counts streams cancelled by the client.
 */
export class StandInServer<Req, Msg, Key> {
  readonly subscribes: Req[] = [];
  readonly streams = new Map<Key, ServerWritableStream<Req, Msg>>();
  cancelled = 0;
  readonly server = new Server();
  port = 0;

  constructor(private readonly keyOf: (req: Req) => Key) {}

  /** The subscribe handler: records the request and keeps the stream open. */
  protected readonly subscribe = (s: ServerWritableStream<Req, Msg>): void => {
    this.subscribes.push(s.request);
    this.streams.set(this.keyOf(s.request), s);
    s.on('cancelled', () => {
      this.cancelled++;
    });
  };

  /** Binds 127.0.0.1:`port` (0: any free port). */
  async listen(port = 0): Promise<this> {
    this.port = await bind(this.server, port);
    return this;
  }

  /** The open stream of a subscriber. @throws Error naming `who` when it has not subscribed. */
  protected streamOf(key: Key, who: string): ServerWritableStream<Req, Msg> {
    const s = this.streams.get(key);
    if (!s) throw new Error(`${who} has not subscribed`);
    return s;
  }

  /** Resolves once `n` subscribes have arrived and a stream is open. */
  subscribed(n: number): Promise<true> {
    return waitFor(
      `${n} subscription(s)`,
      () => (this.subscribes.length >= n && this.streams.size > 0) || undefined,
    );
  }

  /** Drops every connection at once, as a crashed scheduler would. */
  kill(): void {
    this.server.forceShutdown();
  }
}

/** Starts `standIn` on `port` (0: any free port) and kills it after the test. */
export async function startStandIn<
  S extends { listen(port: number): Promise<unknown>; kill(): void },
>(standIn: S, cleanups: Cleanup[], port = 0): Promise<S> {
  await standIn.listen(port);
  cleanups.push(() => {
    standIn.kill();
  });
  return standIn;
}
