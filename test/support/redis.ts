/**
 * Redis for the integration tests: the shared server at `REDIS_URL` (default
 * redis://127.0.0.1:6379) with a unique key prefix per test, deleted afterwards, and private
 * `redis-server` processes on free loopback ports for the tests that stop, pause or restart Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from './processes.js';

/** The Redis the shared-server tests use: `REDIS_URL`, or redis://127.0.0.1:6379. */
export function redisUrl(): string {
  return process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
}

/** A Redis to keep keys in, and how to let go of it. */
export interface TestRedis {
  readonly url: string;
  /** Stops the server when this helper started one; does nothing for a shared one. */
  release(): Promise<void>;
}

/**
 * The Redis for tests that only need keys (under a {@link uniquePrefix}): `REDIS_URL` when set;
 * otherwise redis://127.0.0.1:6379 when a Redis answers there without a password; otherwise a
 * private `redis-server` from PATH (rejecting, with how to install it, when there is none).
 */
export async function testRedis(): Promise<TestRedis> {
  const fromEnv = process.env['REDIS_URL'];
  if (fromEnv !== undefined) return { url: fromEnv, release: () => Promise.resolve() };
  if (await answersPing(6379, undefined)) {
    return { url: redisUrl(), release: () => Promise.resolve() };
  }
  const server = await startRedisServer();
  return { url: server.url, release: () => server.stop() };
}

/** A key prefix no other test (or test run) uses: `t:<uuid>:<name>`. */
export function uniquePrefix(name: string): string {
  return `t:${randomUUID()}:${name}`;
}

/** Escapes the glob characters of a SCAN MATCH pattern. */
function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * Deletes every key under `prefix` (`<prefix>:*`) on the Redis at `url`, SCANning (never KEYS) so
 * it does not block a shared server. Resolves with the number of keys deleted.
 */
export async function deletePrefix(url: string, prefix: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(
        cursor,
        'MATCH',
        `${globEscape(prefix)}:*`,
        'COUNT',
        1000,
      );
      cursor = next;
      if (keys.length > 0) deleted += await client.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    client.disconnect();
  }
}

/** A private `redis-server` (no persistence) on a free loopback port. */
export interface RedisServer {
  /** redis://127.0.0.1:<port> (with `:password@` when started with one). */
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM, then waits for it to exit). Its data is gone. */
  stop(): Promise<void>;
  /** Starts a fresh (empty) server on the same port, stopping the old one first if needed. */
  restart(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open but nothing is answered. */
  pause(): void;
  /** Unfreezes it (SIGCONT): queued commands are then answered, and the data is intact. */
  resume(): void;
  /** Kills it (SIGKILL) and resolves once it has exited. */
  kill(): Promise<void>;
  /** Whether it runs. */
  readonly running: boolean;
}

const running = new Set<ChildProcess>();
/** Where the private servers keep their files (a replica writes the RDB it syncs from): gone at exit. */
const root = mkdtempSync(join(tmpdir(), 'mlsched-redis-'));
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

/** Whether something on `port` answers PING (with AUTH first when there is a password). */
async function answersPing(port: number, password: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => {
      done(false);
    });
    socket.on('error', () => {
      done(false);
    });
    socket.on('connect', () => {
      socket.write(password === undefined ? 'PING\r\n' : `AUTH ${password}\r\nPING\r\n`);
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('+PONG')) done(true);
      else if (reply.includes('-LOADING')) done(false);
    });
  });
}

/**
 * Starts `redis-server --port <free> --bind 127.0.0.1 --save '' --appendonly no` (plus `args`, e.g.
 * `['--requirepass', 'secret']`) and resolves once it answers PING. Rejects, saying how to install
 * it, when `redis-server` is not on PATH: integration tests never pass silently without Redis.
 */
export async function startRedisServer(
  options: { password?: string; args?: readonly string[]; port?: number } = {},
): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const { password } = options;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    // A replica's first sync starts at once, not after waiting 5 s for more replicas.
    '--repl-diskless-sync-delay',
    '0',
    '--dir',
    mkdtempSync(join(root, `${port}-`)),
    ...(password === undefined ? [] : ['--requirepass', password]),
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const failed = new Promise<never>((_, reject) => {
      proc.once('error', (e: NodeJS.ErrnoException) => {
        reject(
          e.code === 'ENOENT'
            ? new Error(
                'redis-server is not on PATH: install it (Debian/Ubuntu: `apt-get install ' +
                  'redis-server`, macOS: `brew install redis`) or point REDIS_URL at a Redis',
                { cause: e },
              )
            : e,
        );
      });
      proc.once('exit', (code, signal) => {
        reject(
          new Error(`redis-server on port ${port} exited (${code ?? signal}) at start: ${stderr}`),
        );
      });
    });
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    child = proc;
    const deadline = performance.now() + 10_000;
    const ready = (async () => {
      while (!(await answersPing(port, password))) {
        if (performance.now() > deadline) {
          throw new Error(`redis-server on port ${port} did not answer PING within 10 s`);
        }
        await sleep(20);
      }
    })();
    try {
      await Promise.race([ready, failed]);
    } catch (e) {
      proc.kill('SIGKILL');
      throw e;
    }
    failed.catch(() => undefined);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined) return;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGCONT');
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  const signal = (name: NodeJS.Signals) => {
    if (child === undefined) throw new Error(`redis-server on port ${port} is not running`);
    child.kill(name);
  };

  await start();
  const auth = password === undefined ? '' : `:${encodeURIComponent(password)}@`;
  return {
    url: `redis://${auth}127.0.0.1:${port}`,
    port,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    pause: () => {
      signal('SIGSTOP');
    },
    resume: () => {
      signal('SIGCONT');
    },
    kill: async () => {
      const proc = child;
      child = undefined;
      if (proc?.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGKILL');
      await exited;
    },
    get running() {
      return child !== undefined;
    },
  };
}
