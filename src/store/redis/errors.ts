/**
 * Why the Redis store refused something. Every message names the Redis (password redacted) or the
 * record key concerned.
 *
 * - `Unavailable`: Redis could not be reached or did not answer in time (connection refused or
 *   lost, command timeout, still reconnecting); produced by `openRedisStore`, `write` and `load`.
 *   A `write` rejected this way may or may not have been applied (contract of `SnapshotStore`).
 * - `Refused`: Redis answered with an error (OOM, READONLY, MISCONF, NOAUTH, EXECABORT, ...);
 *   produced by `openRedisStore`, `write` and `load`. A refused transaction applied nothing.
 * - `Invalid`: a batch with a bad key, schema or a value that is not JSON, or a bad prefix; produced
 *   by `write` (before anything is sent) and `openRedisStore`.
 * - `Corrupt`: a stored record is not a `{schema, value}` envelope; produced by `load`.
 * - `Closed`: `write` or `load` after `close`.
 * - `Fenced`: a fenced `write` (high availability) whose token is no longer the newest: another
 *   scheduler leads now, and nothing was applied.
 */
export type RedisStoreErrorCode =
  'Unavailable' | 'Refused' | 'Invalid' | 'Corrupt' | 'Closed' | 'Fenced';

/** An error of the Redis store. `cause` has the ioredis error when there is one. */
export class RedisStoreError extends Error {
  override readonly name = 'RedisStoreError';
  constructor(
    readonly code: RedisStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The message of anything thrown. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Whether Redis itself answered with this error (a `ReplyError`: the command reached the server),
 * as opposed to a connection failure or timeout on the client side.
 */
export function isReplyError(e: unknown): boolean {
  return e instanceof Error && e.name === 'ReplyError';
}

/**
 * Classifies an ioredis failure: `Refused` when Redis answered with an error, `Unavailable` for
 * everything else (refused or lost connection, timeout, offline while reconnecting).
 */
export function fromRedisError(e: unknown, what: string, where: string): RedisStoreError {
  if (isReplyError(e) && messageOf(e).startsWith('FENCED')) {
    return new RedisStoreError('Fenced', `redis ${where} refused ${what}: ${messageOf(e)}`, {
      cause: e,
    });
  }
  return isReplyError(e)
    ? new RedisStoreError('Refused', `redis ${where} refused ${what}: ${messageOf(e)}`, {
        cause: e,
      })
    : new RedisStoreError(
        'Unavailable',
        `redis unreachable (${where}): ${what} failed: ${messageOf(e)}`,
        {
          cause: e,
        },
      );
}
