/**
 * The ioredis client of a {@link RedisEndpoint}: one connection to a server, a connection to
 * whichever server the sentinels name as the primary (followed through a failover), or a Cluster
 * client. The store, the lease and the lease's thread all build theirs here, so they follow the
 * same Redis the same way.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisEndpoint } from './endpoint.js';

/** A client of any of the three topologies: they speak the same commands. */
export type RedisClient = Redis | Cluster;

/** TLS to Redis (ioredis's `tls` options): the CA to trust and the client certificate. */
export interface RedisTlsOptions {
  /** CA certificates (PEM) the server's certificate must chain to; the system's roots without. */
  readonly ca?: Buffer;
  /** Client certificate chain (PEM), for a Redis with `tls-auth-clients yes`; with `key`. */
  readonly cert?: Buffer;
  /** The client certificate's private key (PEM). */
  readonly key?: Buffer;
}

/** How the sentinels themselves are reached (their own credentials and TLS). */
export interface SentinelAccess {
  readonly username?: string;
  readonly password?: string;
  /** TLS to the sentinels, with the same CA and client certificate as to the data nodes. */
  readonly tls?: boolean;
}

/** What every client of this package is built with. */
export interface ClientSettings {
  readonly connectionName: string;
  readonly commandTimeout: number;
  /** A connection silent that long while a command waits is dropped and reopened. */
  readonly socketTimeout: number;
  readonly connectTimeout: number;
  /** The reconnect delay after `attempt` failed attempts (ms). */
  readonly retryDelay: (attempt: number) => number;
  readonly tls?: RedisTlsOptions;
  readonly sentinel?: SentinelAccess;
}

/** A client that has not connected yet (`connect()` it). */
export function createClient(endpoint: RedisEndpoint, s: ClientSettings): RedisClient {
  const tls = endpoint.tls ? { tls: { ...s.tls } } : {};
  // Fail fast instead of queueing while disconnected, and reject commands in flight when the
  // connection drops (they may or may not have been applied) instead of resending them: every call
  // settles promptly, and the caller, not ioredis, decides what to retry.
  const offline = { lazyConnect: true, enableOfflineQueue: false } as const;
  const common = {
    connectionName: s.connectionName,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: s.commandTimeout,
    socketTimeout: s.socketTimeout,
    connectTimeout: s.connectTimeout,
    ...(endpoint.username === undefined ? {} : { username: endpoint.username }),
    ...(endpoint.password === undefined ? {} : { password: endpoint.password }),
  } satisfies RedisOptions;
  switch (endpoint.kind) {
    case 'single':
      // ioredis turns TLS on for a lower-case `rediss://` only; say it for any spelling.
      return new Redis(endpoint.url, {
        ...offline,
        ...common,
        ...tls,
        retryStrategy: s.retryDelay,
      });
    case 'sentinel': {
      const sentinel = s.sentinel ?? {};
      return new Redis({
        ...offline,
        ...common,
        ...tls,
        sentinels: endpoint.sentinels.map(({ host, port }) => ({ host, port })),
        name: endpoint.masterName,
        role: 'master',
        db: endpoint.db,
        ...(sentinel.username === undefined ? {} : { sentinelUsername: sentinel.username }),
        ...(sentinel.password === undefined ? {} : { sentinelPassword: sentinel.password }),
        // ioredis's names: `enableTLSForSentinelMode` is TLS to the primary the sentinels name
        // (a rediss-sentinel:// URL), `sentinelTLS` TLS to the sentinels themselves.
        ...(endpoint.tls ? { enableTLSForSentinelMode: true } : {}),
        ...(sentinel.tls ? { sentinelTLS: { ...s.tls } } : {}),
        sentinelCommandTimeout: s.commandTimeout,
        // Every sentinel unreachable: keep asking, as for a lost connection.
        sentinelRetryStrategy: s.retryDelay,
        retryStrategy: s.retryDelay,
        // A primary demoted while this connection stayed open refuses writes (READONLY): reconnect,
        // asking the sentinels for the new one (the failed command is not resent).
        reconnectOnError: (e: Error) => e.message.startsWith('READONLY'),
      });
    }
    case 'cluster':
      return new Cluster(
        endpoint.nodes.map(({ host, port }) => ({ host, port })),
        {
          ...offline,
          clusterRetryStrategy: s.retryDelay,
          // A failed-over slot answers MOVED or CLUSTERDOWN for a moment: retried, briefly.
          retryDelayOnFailover: 100,
          retryDelayOnClusterDown: 100,
          slotsRefreshTimeout: s.commandTimeout,
          redisOptions: { ...common, ...tls },
        },
      );
  }
}
