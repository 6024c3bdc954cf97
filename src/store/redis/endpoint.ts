/**
 * Where the Redis of a `--store` URL is, in its three topologies:
 *
 * - one server: `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]` (`rediss://` for TLS);
 * - a primary and its replicas under Redis Sentinel:
 *   `redis-sentinel://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER_NAME[/DB]`, naming the
 *   sentinels; the credentials and TLS (`rediss-sentinel://`) are the data nodes';
 * - a Redis Cluster: `redis-cluster://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]` naming some of its
 *   nodes (`rediss-cluster://` for TLS).
 *
 * Pure parsing: the client is built from it by client.ts.
 */

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

interface Credentials {
  /** A Redis 6 ACL user; the default user when absent. */
  readonly username?: string;
  readonly password?: string;
  /** TLS to the data nodes. */
  readonly tls: boolean;
}

export type RedisEndpoint =
  | ({ readonly kind: 'single'; readonly url: string } & Credentials)
  | ({
      readonly kind: 'sentinel';
      readonly sentinels: readonly HostPort[];
      readonly masterName: string;
      readonly db: number;
    } & Credentials)
  | ({ readonly kind: 'cluster'; readonly nodes: readonly HostPort[] } & Credentials);

/** The accepted forms, for messages. */
export const REDIS_FORMS =
  'redis[s]://[[USER]:PASSWORD@]HOST[:PORT][/DB], ' +
  'redis[s]-sentinel://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER_NAME[/DB] or ' +
  'redis[s]-cluster://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]';

/** Whether `value` is meant as a Redis URL of one of the three forms. */
export const isRedisUrl = (value: string): boolean =>
  /^rediss?(-sentinel|-cluster)?:\/\//i.test(value);

/** Raised for a URL that is not one of {@link REDIS_FORMS}; the message never holds the password. */
export class EndpointError extends Error {}

/**
 * Parses a Redis store URL.
 * @throws EndpointError saying what is wrong (the password redacted).
 */
export function parseRedisEndpoint(url: string): RedisEndpoint {
  const scheme = /^(rediss?)(-sentinel|-cluster)?:\/\//i.exec(url);
  if (!scheme) throw new EndpointError(`'${redactPassword(url)}' is not a Redis URL`);
  const tls = scheme[1]?.toLowerCase() === 'rediss';
  const topology = scheme[2]?.toLowerCase();
  if (topology === undefined) return { kind: 'single', url, tls, ...single(url) };
  const rest = url.slice(scheme[0].length);
  if (/[?#]/.test(rest)) fail(url, 'has a ?query or #fragment; none is supported');
  const [authority = '', ...path] = rest.split('/');
  const at = authority.lastIndexOf('@');
  const credentials = at === -1 ? {} : userInfo(url, authority.slice(0, at));
  const hosts = authority
    .slice(at + 1)
    .split(',')
    .map((h) => hostPort(url, h));
  if (topology === '-cluster') {
    if (path.some((p) => p !== '')) {
      fail(url, 'has a path: a cluster has one database, so name only its nodes');
    }
    return { kind: 'cluster', nodes: hosts, tls, ...credentials };
  }
  const [masterName = '', db = '', ...extra] = path;
  if (masterName === '') fail(url, 'names no master: add /MASTER_NAME after the sentinels');
  if (!/^\d*$/.test(db) || extra.length > 0) {
    fail(url, `has path '/${path.join('/')}': only /MASTER_NAME and a database number /DB`);
  }
  return {
    kind: 'sentinel',
    sentinels: hosts,
    masterName: decode(url, masterName, 'master name'),
    db: db === '' ? 0 : Number(db),
    tls,
    ...credentials,
  };
}

/** The checks of a one-server URL (which ioredis itself reads). */
function single(url: string): { username?: string; password?: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    fail(url, 'is not a URL (is the port a number? percent-encode @, / and : in the password)');
  }
  if (u.hostname === '') fail(url, 'names no host');
  if (!/^\/?\d*$/.test(u.pathname))
    fail(url, `has path '${u.pathname}': only a database number /DB`);
  if (u.search !== '' || u.hash !== '') fail(url, 'has a ?query or #fragment; none is supported');
  return credentialsOf(url, u.username, u.password);
}

function userInfo(url: string, info: string): { username?: string; password?: string } {
  const colon = info.indexOf(':');
  return colon === -1
    ? credentialsOf(url, info, '')
    : credentialsOf(url, info.slice(0, colon), info.slice(colon + 1));
}

function credentialsOf(
  url: string,
  user: string,
  password: string,
): { username?: string; password?: string } {
  return {
    ...(user === '' ? {} : { username: decode(url, user, 'user') }),
    ...(password === '' ? {} : { password: decode(url, password, 'password') }),
  };
}

function decode(url: string, part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    fail(url, `has a ${what} that is not valid percent-encoding`);
  }
}

/** `HOST:PORT` or `[IPv6]:PORT`; every node of a sentinel or cluster URL names its port. */
function hostPort(url: string, text: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) {
    fail(url, `has '${text}' where a HOST:PORT belongs (each node with its port, comma-separated)`);
  }
  return { host: m[1] ?? m[2] ?? '', port };
}

function fail(url: string, problem: string): never {
  throw new EndpointError(`'${redactPassword(url)}' ${problem}; use ${REDIS_FORMS}`);
}

/** `url` with the password of its `user:password@` part replaced by `***`. */
export function redactPassword(url: string): string {
  return url.replace(/^(rediss?(?:-sentinel|-cluster)?:\/\/[^:@/]*:).*@/is, '$1***@');
}
