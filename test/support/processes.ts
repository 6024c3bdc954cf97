/** Runs `mlsched` commands as child processes, as a user would, and cleans them up. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { credentials } from '@grpc/grpc-js';
import { SchedulerClient } from '../../src/gen/mlops/scheduler/scheduler.js';

const BIN = fileURLToPath(new URL('../../bin/mlsched.js', import.meta.url));
const children: ChildProcess[] = [];

/** Starts `mlsched <args>`; stderr (the logs) is drained, stdout left to the caller. */
export function mlsched(...args: string[]): ChildProcess {
  const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  p.stderr.resume();
  children.push(p);
  return p;
}

/** What a finished `mlsched` client command did. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as one JSON object per line (parsed when read: text output has none). */
  readonly lines: Record<string, unknown>[];
}

/**
 * Runs `mlsched <args>` to its end (in `cwd`, with `input` on stdin), resolving with its exit code
 * and output.
 */
export function runMlsched(
  args: readonly string[],
  o: { cwd?: string; input?: string } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { timeout: 60_000, ...(o.cwd ? { cwd: o.cwd } : {}) },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({
          code,
          stdout,
          stderr,
          get lines() {
            return stdout
              .split('\n')
              .filter((l) => l.trim() !== '')
              .map((l) => JSON.parse(l) as Record<string, unknown>);
          },
        });
      },
    );
    if (o.input !== undefined) child.stdin?.end(o.input);
  });
}

/** The latest version's state in a ModelStatusResponse JSON line. */
export const modelState = (line: Record<string, unknown> | undefined): unknown =>
  (line?.['versions'] as { state?: { state?: string } }[] | undefined)?.at(-1)?.state?.state;

/** Whether the process has neither exited nor been killed. */
export const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;

/** Kills every process these helpers started that is still running (for `after`). */
export function killAll(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const c of children) if (alive(c)) c.kill(signal);
}

export interface Ports {
  event: string;
  scheduler: number;
  agent: number;
  dataflow: number;
  http: number;
}

/** What to serve: the store (default memory), ports (default chosen by the system), more flags. */
interface ServeOptions {
  store?: string;
  ports?: Omit<Ports, 'event'>;
  args?: readonly string[];
}

/** The arguments of `mlsched serve` on loopback for `o`. */
function serveArgs(o: ServeOptions): string[] {
  const port = (p: number | undefined) => String(p ?? 0);
  return [
    'serve',
    '--host',
    '127.0.0.1',
    '--store',
    o.store ?? 'memory',
    '--scheduler-port',
    port(o.ports?.scheduler),
    '--agent-port',
    port(o.ports?.agent),
    '--dataflow-port',
    port(o.ports?.dataflow),
    '--http-port',
    port(o.ports?.http),
    ...(o.args ?? []),
  ];
}

/**
 * `mlsched serve` on loopback: the memory store and free ports unless given (a restart reuses the
 * same ports and store); resolves with its listening line.
 */
export async function serve(o: ServeOptions = {}): Promise<{ server: ChildProcess; ports: Ports }> {
  const server = mlsched(...serveArgs(o));
  if (!server.stdout) throw new Error('no stdout');
  let stderr = '';
  server.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = once(server, 'exit').then(() => {
    throw new Error(`mlsched serve exited before listening: ${stderr.trim()}`);
  });
  const [line] = (await Promise.race([
    once(createInterface({ input: server.stdout }), 'line'),
    exited,
  ])) as [string];
  exited.catch(() => undefined);
  return { server, ports: JSON.parse(line) as Ports };
}

/**
 * `mlsched serve` (loopback, the given store and free ports) as the child of a parent that never
 * reaps it (`sh` running it in the background, then `exec sleep`): once it dies it stays a zombie
 * until `parent` is killed. Resolves once it listens, with its pid; rejects with its stderr when it
 * exits first.
 */
export async function serveUnreaped(store: string): Promise<{ pid: number; parent: ChildProcess }> {
  const args = serveArgs({ store, args: ['--log-level', 'warn'] });
  const parent = spawn(
    'sh',
    ['-c', '"$0" "$@" & echo "pid $!"; exec sleep 600', process.execPath, BIN, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(parent);
  let stderr = '';
  parent.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let pid = 0;
  const lines = createInterface({ input: parent.stdout });
  const exited = setInterval(() => {
    if (pid > 0 && processState(pid) !== 'running') lines.close();
  }, 50);
  try {
    for await (const line of lines) {
      if (line.startsWith('pid ')) pid = Number(line.slice(4));
      else if (line.includes('"listening"')) return { pid, parent };
    }
  } finally {
    clearInterval(exited);
  }
  parent.kill('SIGKILL');
  throw new Error(`mlsched serve (pid ${pid}) exited before listening: ${stderr.trim()}`);
}

/** Whether a process of this machine runs, has exited but is not reaped yet (a zombie), or is gone. */
export function processState(pid: number): 'running' | 'zombie' | 'gone' {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)?.[0];
    return state === 'Z' || state === 'X' ? 'zombie' : 'running';
  } catch {
    return 'gone';
  }
}

/**
 * `mlsched serve --ha` on the Redis `store` under `prefix` with a `leaseMs` lease, logging warnings
 * only; `args` are added (as {@link serve}'s, with `ports` to restart one where it was).
 */
export function serveHa(o: {
  store: string;
  prefix: string;
  leaseMs: number;
  ports?: Omit<Ports, 'event'> | undefined;
  args?: readonly string[];
}): Promise<{ server: ChildProcess; ports: Ports }> {
  const ha = ['--ha', '--lease-ms', String(o.leaseMs), '--redis-prefix', o.prefix];
  return serve({
    store: o.store,
    ...(o.ports ? { ports: o.ports } : {}),
    args: [...ha, '--log-level', 'warn', ...(o.args ?? [])],
  });
}

/** {@link serveHa}, with the instance's scheduler address and a Scheduler client of it. */
export async function serveHaWithClient(o: Parameters<typeof serveHa>[0]): Promise<{
  server: ChildProcess;
  ports: Ports;
  address: string;
  client: SchedulerClient;
}> {
  const { server, ports } = await serveHa(o);
  const address = `127.0.0.1:${ports.scheduler}`;
  return {
    server,
    ports,
    address,
    client: new SchedulerClient(address, credentials.createInsecure()),
  };
}

/** GET /health of the scheduler on `httpPort`: its status code and JSON body (within 2 s). */
export async function healthOf(
  httpPort: number,
): Promise<{ code: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/health`, {
    signal: AbortSignal.timeout(2000),
  });
  return { code: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
