import { readFileSync } from 'node:fs';
import type { Timers } from '../actors/index.js';
import {
  EndpointError,
  isRedisUrl,
  parseRedisEndpoint,
  REDIS_FORMS,
  redactPassword,
} from '../store/redis/endpoint.js';
import type { RedisTls, ServerTls } from './tls.js';

export type StoreSpec =
  { kind: 'memory' } | { kind: 'file'; dir: string } | { kind: 'redis'; url: string };

/** `--ha`: the lease period and the address this instance is reached at when it leads. */
export interface HaConfig {
  /** How long the leader lease lasts without a renewal (ms); take-over happens within about it. */
  readonly leaseMs: number;
  /** `host:port` of this instance's scheduler port, which standbys name to clients (default: the
   * host it listens on, or the machine's name for 0.0.0.0, and the bound scheduler port). */
  readonly advertise?: string;
}

/** The scheduler's settings, frozen after parsing. */
export interface Config {
  readonly host: string;
  readonly schedulerPort: number;
  readonly agentPort: number;
  readonly dataflowPort: number;
  /** Health, metrics and the dashboard; null: no HTTP port (`--http-port off`). */
  readonly httpPort: number | null;
  /** The address the HTTP port listens on (default: `host`). */
  readonly httpHost?: string;
  /**
   * Host names the HTTP port answers to besides IP addresses, `localhost`, this machine's name and
   * the host of `ha.advertise`: exact, `*.example.com`, or `*` for any (DNS rebinding defence).
   */
  readonly httpAllowedHosts?: readonly string[];
  /** A file holding the bearer token that opens the HTTP port (`--http-token-file`). */
  readonly httpTokenFile?: string;
  readonly store: StoreSpec;
  readonly logLevel: string;
  readonly version: string;
  readonly deletedTtlMs?: number;
  /** After a restart, how long restored replicas wait for their agents (ms; default 10 s). */
  readonly reconnectGraceMs?: number;
  /** Key prefix in Redis, so several schedulers or tests can share one (default `mlsched`). */
  readonly redisPrefix?: string;
  readonly drainTimeoutMs?: number;
  /** TLS (mutual TLS with `clientCa`) on every gRPC port and the HTTP port; plaintext when absent. */
  readonly tls?: ServerTls;
  /** How often the TLS files and the token file are read again for rotated ones (ms; default 10 s). */
  readonly tlsReloadMs?: number;
  /** A `rediss://` store's CA to trust (the system's roots when absent) and client certificate. */
  readonly redisTls?: RedisTls;
  /** A `redis-sentinel://` store: the sentinels' own user, password and TLS. */
  readonly redisSentinel?: {
    readonly username?: string;
    readonly password?: string;
    readonly tls?: boolean;
  };
  /** `--redis-min-replicas`: replicas that must have each change before it is acknowledged. */
  readonly redisReplication?: { readonly replicas: number; readonly timeoutMs: number };
  /** High availability: several schedulers on one Redis, one leader at a time (`--ha`). */
  readonly ha?: HaConfig;
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

/** The forms `--store` takes (its help and its errors). */
export const STORE_FORMS = `memory, file:DIR, ${REDIS_FORMS}`;

/**
 * Parses `--store`: `memory`, `file:DIR`, or a Redis URL of one of the three topologies (one
 * server, Sentinel, Cluster: endpoint.ts; AUTH with the password, and the user for a Redis 6 ACL
 * user; special characters of both percent-encoded). @throws Error naming the flag (never the
 * password).
 */
export function parseStore(value: string): StoreSpec {
  if (value === 'memory') return { kind: 'memory' };
  if (value.startsWith('file:') && value.length > 5) return { kind: 'file', dir: value.slice(5) };
  if (isRedisUrl(value)) {
    try {
      parseRedisEndpoint(value);
    } catch (e) {
      if (e instanceof EndpointError) throw new Error(`--store: ${e.message}`);
      throw e;
    }
    return { kind: 'redis', url: value };
  }
  throw new Error(`--store: '${redactPassword(value)}' is not a store; use ${STORE_FORMS}`);
}

/** The `serve` flags of {@link parseSentinelAccess}, as given. */
export interface SentinelFlags {
  readonly redisSentinelUser?: string | undefined;
  readonly redisSentinelPasswordFile?: string | undefined;
  readonly redisSentinelTls?: boolean | undefined;
}

/**
 * How the sentinels of a `redis-sentinel://` store are reached: their ACL user, their password
 * (read from a file, so it is in no process listing), TLS. None without flags.
 * @throws Error naming the flag: not a sentinel store, the file unreadable or empty.
 */
export function parseSentinelAccess(
  flags: SentinelFlags,
  store: StoreSpec,
): Config['redisSentinel'] {
  const { redisSentinelUser, redisSentinelPasswordFile, redisSentinelTls } = flags;
  const given = [
    ['--redis-sentinel-user', redisSentinelUser],
    ['--redis-sentinel-password-file', redisSentinelPasswordFile],
    ['--redis-sentinel-tls', redisSentinelTls],
  ].find(([, v]) => v !== undefined);
  if (given === undefined) return undefined;
  if (store.kind !== 'redis' || !/^rediss?-sentinel:/i.test(store.url)) {
    throw new Error(
      `${String(given[0])}: only a Sentinel store uses it; give --store redis-sentinel://...`,
    );
  }
  let password: string | undefined;
  if (redisSentinelPasswordFile !== undefined) {
    try {
      password = readFileSync(redisSentinelPasswordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new Error(
        `--redis-sentinel-password-file: cannot read ${redisSentinelPasswordFile}: ${(e as Error).message}`,
      );
    }
    if (password === '') {
      throw new Error(`--redis-sentinel-password-file: ${redisSentinelPasswordFile} is empty`);
    }
  }
  return {
    ...(redisSentinelUser === undefined ? {} : { username: redisSentinelUser }),
    ...(password === undefined ? {} : { password }),
    ...(redisSentinelTls ? { tls: true } : {}),
  };
}

/** Parses `--log-level`. @throws Error naming the flag. */
export function parseLogLevel(value: string): string {
  if (!LOG_LEVELS.includes(value)) {
    throw new Error(`--log-level: '${value}' is not one of ${LOG_LEVELS.join(', ')}`);
  }
  return value;
}
