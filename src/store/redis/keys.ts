/**
 * The Redis key layout of one store, under its prefix `P`:
 *
 * - `P:r:<encoded key>`: one string per record, the JSON envelope `{"schema":N,"value":...}`;
 * - `P:keys`: a set of the encoded keys of every record, so `load` needs no SCAN of the keyspace;
 * - `P:leader` and `P:epoch`: the leader lease and the fencing token (high availability, src/ha/redis/lease.ts);
 * - `P:changes` and `P:seq`: the stream of which records each fenced write changed, numbered, which
 *   standbys follow to keep the records warm (src/ha/redis/mirror.ts).
 *
 * Record keys are opaque strings, and Redis keys are bytes: a JS string is sent as UTF-8, which
 * cannot represent a lone surrogate (it would become U+FFFD and two keys could collide). Keys are
 * therefore encoded injectively: `%` becomes `%25` and each lone surrogate `%uXXXX`; every other
 * character (`:`, spaces, newlines, emoji) is kept, so the keys stay readable in `redis-cli`.
 * Two stores must use prefixes neither of which extends the other with `:` (e.g. `a` and `a:r`).
 */

/** The characters that are escaped: `%` itself and lone (unpaired) surrogates. */
const ESCAPED = /[%\p{Cs}]/gu;
const ESCAPE = /%(?:25|u([0-9A-F]{4}))/g;

/** Encodes a record key for use in a Redis key or set member (injective, UTF-8 safe). */
export function encodeKey(key: string): string {
  return key.replace(ESCAPED, (c) =>
    c === '%' ? '%25' : `%u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
  );
}

/** Inverts {@link encodeKey}. */
export function decodeKey(encoded: string): string {
  return encoded.replace(ESCAPE, (_, hex: string | undefined) =>
    hex === undefined ? '%' : String.fromCharCode(parseInt(hex, 16)),
  );
}

/** Whether `s` is well-formed UTF-16 (no lone surrogates), so it survives UTF-8 unchanged. */
export function isWellFormed(s: string): boolean {
  return !/\p{Cs}/u.test(s);
}

/** The Redis keys of one store. */
export interface KeySpace {
  /** The set of encoded record keys. */
  readonly index: string;
  /** The Redis key of the record whose encoded key is `member`. */
  record(member: string): string;
  /** The leader lease (high availability): the leader's identity, with a time to live. */
  readonly leader: string;
  /** The fencing token: incremented by each new leader; fenced writes must carry the current one. */
  readonly epoch: string;
  /** A stream with one entry per fenced write: `s` its number, `k` the JSON list of its members. */
  readonly changes: string;
  /** The number of the last entry added to `changes` (a gap in the numbers: entries trimmed). */
  readonly seq: string;
}

/**
 * What every key of a store starts with: its prefix, or on a Redis Cluster the prefix as a hash
 * tag (`{prefix}`), so that all of them are in one hash slot and the batches, the scripts, the
 * lease and the change stream work there unchanged.
 * @throws Error for a cluster prefix starting with `}` (its hash tag would be empty).
 */
export function keyRoot(prefix: string, cluster: boolean): string {
  if (!cluster) return prefix;
  if (prefix.startsWith('}')) {
    throw new Error(`the key prefix '${prefix}' cannot start with '}' on a Redis Cluster`);
  }
  return `{${prefix}}`;
}

/** The key space under `prefix` (a {@link keyRoot}). */
export function keySpace(prefix: string): KeySpace {
  const records = `${prefix}:r:`;
  return {
    index: `${prefix}:keys`,
    record: (member) => records + member,
    leader: `${prefix}:leader`,
    epoch: `${prefix}:epoch`,
    changes: `${prefix}:changes`,
    seq: `${prefix}:seq`,
  };
}
