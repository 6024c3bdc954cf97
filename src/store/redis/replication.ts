/**
 * Acknowledged means replicated, where asked for (`--redis-min-replicas`): a write or a lease
 * take-over is followed, in the same round trip and on the same connection, by `WAIT replicas
 * timeout`, and counts only when that many replicas have everything the connection wrote so far.
 * Redis replication stays asynchronous: WAIT makes a failover lose nothing acknowledged as long as
 * the replica promoted is one that had it (Sentinel and Cluster promote the most up to date).
 */
import { Cluster, type ChainableCommander } from 'ioredis';
import type { RedisClient } from './client.js';
import { RedisStoreError } from './errors.js';

export interface Replication {
  /** Replicas that must have a write before it counts (0: the primary's word is enough). */
  readonly replicas: number;
  /** How long WAIT waits for them (ms). */
  readonly timeoutMs: number;
}

export const NO_REPLICATION: Replication = { replicas: 0, timeoutMs: 0 };

/**
 * Sends the commands `build` adds to a pipeline of `client`, with a WAIT after them when replicas
 * are asked for, and resolves with the replies of its own commands.
 * @throws the first command's error, or RedisStoreError `Unavailable` when fewer replicas than
 *   asked acknowledged `what` within the timeout (it is then on the primary, maybe not on them).
 */
export async function replicated(
  client: RedisClient,
  build: (pipeline: ChainableCommander) => void,
  replication: Replication,
  what: string,
): Promise<unknown[]> {
  const { replicas, timeoutMs } = replication;
  const pipeline = client.pipeline();
  build(pipeline);
  if (replicas > 0) pipeline.call('WAIT', replicas, Math.max(1, Math.floor(timeoutMs)));
  const replies = (await pipeline.exec()) ?? [];
  if (replies.length === 0) throw new Error('the transaction was aborted');
  const values = replies.map(([error, value]) => {
    if (error) {
      // A slot moved by a failover: ioredis learns it from a MOVED reply to a lone command, not
      // from one of a pipeline whose WAIT succeeded elsewhere, so the map is refreshed here.
      if (client instanceof Cluster && /^(MOVED|ASK|CLUSTERDOWN)\b/.test(error.message)) {
        client.refreshSlotsCache();
      }
      throw error;
    }
    return value;
  });
  if (replicas === 0) return values;
  const acknowledged = Number(values.pop());
  if (acknowledged < replicas) {
    throw new RedisStoreError(
      'Unavailable',
      `${what} reached ${acknowledged} of the ${replicas} replicas asked for within ${timeoutMs} ms ` +
        '(--redis-min-replicas): not acknowledged',
    );
  }
  return values;
}
