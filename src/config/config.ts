import type { Timers } from '../actors/index.js';

export type StoreSpec =
  { kind: 'memory' } | { kind: 'file'; dir: string } | { kind: 'redis'; url: string };

/** The scheduler's settings, frozen after parsing. */
export interface Config {
  readonly host: string;
  readonly schedulerPort: number;
  readonly agentPort: number;
  readonly dataflowPort: number;
  readonly httpPort: number;
  readonly store: StoreSpec;
  readonly logLevel: string;
  readonly version: string;
  readonly deletedTtlMs?: number;
  /** After a restart, how long restored replicas wait for their agents (ms; default 10 s). */
  readonly reconnectGraceMs?: number;
  /** Key prefix in Redis, so several schedulers or tests can share one (default `mlsched`). */
  readonly redisPrefix?: string;
  readonly drainTimeoutMs?: number;
  /** Tests inject a clock; production uses the real one. */
  readonly timers?: Timers;
}

export const DEFAULTS = {
  host: '0.0.0.0',
  schedulerPort: 9004,
  agentPort: 9005,
  dataflowPort: 9008,
  httpPort: 9007,
  store: 'file:./.mlsched',
  logLevel: 'info',
} as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Parses a TCP port flag (0 = any free port). @throws Error naming the flag. */
export function parsePort(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) {
    throw new Error(`${flag}: '${value}' is not a port number (0-65535)`);
  }
  return n;
}

/** Parses `--store`: `memory`, `file:DIR` or `redis://HOST:PORT[/DB]`. @throws Error naming the flag. */
export function parseStore(value: string): StoreSpec {
  if (value === 'memory') return { kind: 'memory' };
  if (value.startsWith('file:') && value.length > 5) return { kind: 'file', dir: value.slice(5) };
  if (/^rediss?:\/\/[^/]+(\/\d+)?$/.test(value)) return { kind: 'redis', url: value };
  throw new Error(
    `--store: '${value}' is not a store; use memory, file:DIR or redis://HOST:PORT[/DB]`,
  );
}

/** Parses `--log-level`. @throws Error naming the flag. */
export function parseLogLevel(value: string): string {
  if (!LOG_LEVELS.includes(value)) {
    throw new Error(`--log-level: '${value}' is not one of ${LOG_LEVELS.join(', ')}`);
  }
  return value;
}
