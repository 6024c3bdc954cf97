/** The store the configuration names, opened once for the process, and how a term borrows it. */
import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import { openFileStore } from '../store/file/file-store.js';
import { MemoryStore } from '../store/memory/memory-store.js';
import type { SnapshotStore } from '../store/ports.js';

/** Opens the store the configuration names. */
export async function openStore(config: Config, log: Logger): Promise<SnapshotStore> {
  switch (config.store.kind) {
    case 'memory':
      return new MemoryStore();
    case 'file':
      return openFileStore(config.store.dir, { logger: log });
    case 'redis': {
      // Loaded only when used: the embedded stores need no Redis client.
      const { openRedisStore } = await import('../store/redis/redis-store.js');
      return openRedisStore({
        url: config.store.url,
        prefix: config.redisPrefix ?? 'mlsched',
        ...redisAccess(config),
        logger: log,
      });
    }
  }
}

/** How the store and the lease reach Redis besides its URL: TLS, the sentinels, replication. */
export function redisAccess(config: Config) {
  return {
    ...(config.redisTls ? { tls: config.redisTls } : {}),
    ...(config.redisSentinel ? { sentinel: config.redisSentinel } : {}),
    ...(config.redisReplication ? { replication: config.redisReplication } : {}),
  };
}

/**
 * The store as a leader's term uses it: its persistence does not close it (the app does, once,
 * whoever leads meanwhile), and `onWriteError` sees every failed write.
 */
export function borrowed(store: SnapshotStore, onWriteError?: (e: unknown) => void): SnapshotStore {
  return {
    load: () => store.load(),
    write: (batch) =>
      store.write(batch).catch((e: unknown) => {
        onWriteError?.(e);
        throw e;
      }),
    health: () => store.health(),
    close: () => Promise.resolve(),
  };
}
