/**
 * Transport-security flags (README "Transport security"): the PEM files of `mlsched serve`'s TLS
 * and mutual TLS, of the clients' (`mlsched agent|dataflow|model|...`) and of `rediss://` (CA and
 * client certificate). Files are read and checked at start-up (the server's again when they change,
 * tls-reload.ts); every error is one line naming the flag and the file.
 */
import type { Command } from 'commander';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isRedisUrl, parseRedisEndpoint } from '../store/redis/endpoint.js';

/** What `mlsched serve` serves TLS with, on every gRPC port and the HTTP port. */
export interface ServerTls {
  /** The certificate chain (PEM), the server's own certificate first. */
  readonly cert: Buffer;
  /** The private key (PEM, unencrypted) of the first certificate of `cert`. */
  readonly key: Buffer;
  /** When set, clients must present a certificate signed by one of these CAs (mutual TLS). */
  readonly clientCa?: Buffer;
  /** The files they were read from, read again for rotated certificates (tls-reload.ts). */
  readonly files: ServerTlsFlags;
}

/** The `serve` flags of {@link parseServerTls}, as given (file names). */
export interface ServerTlsFlags {
  readonly tlsCert?: string | undefined;
  readonly tlsKey?: string | undefined;
  readonly tlsCa?: string | undefined;
}

/** How a client (`agent`, `dataflow`, the client commands) talks TLS to the scheduler. */
export interface ClientTls {
  /** The CAs the server's certificate must chain to (PEM); the system's roots when absent. */
  readonly ca?: Buffer;
  /** The client certificate chain (PEM), for a scheduler that requires one (mutual TLS). */
  readonly cert?: Buffer;
  /** The client certificate's private key (PEM, unencrypted). */
  readonly key?: Buffer;
  /** The name the server's certificate must carry, instead of the host dialled. */
  readonly serverName?: string;
}

/** The client flags of {@link parseClientTls}, as given. */
export interface ClientTlsFlags {
  readonly tlsCa?: string | undefined;
  readonly tlsCert?: string | undefined;
  readonly tlsKey?: string | undefined;
  readonly tlsServerName?: string | undefined;
}

/** Declares the {@link ClientTlsFlags} on a command of a client of the scheduler (once, here). */
export function withClientTlsFlags(cmd: Command): Command {
  return cmd
    .option('--tls-ca <file>', "TLS: trust this CA (PEM) for the scheduler's certificate")
    .option('--tls-cert <file>', 'mutual TLS: client certificate (PEM)')
    .option('--tls-key <file>', "mutual TLS: the client certificate's private key (PEM)")
    .option('--tls-server-name <name>', "TLS: the name to check in the scheduler's certificate");
}

/**
 * The server's TLS settings: none without flags; `--tls-cert` and `--tls-key` together turn TLS
 * on, and `--tls-ca` on top requires client certificates signed by that CA (mutual TLS).
 * @throws Error naming the flag: only one of cert/key, `--tls-ca` alone, a file missing,
 *   unreadable or not PEM, an encrypted key, or a key that is not the certificate's.
 */
export function parseServerTls(flags: ServerTlsFlags): ServerTls | undefined {
  const { tlsCert, tlsKey, tlsCa } = flags;
  if (tlsCert === undefined && tlsKey === undefined) {
    if (tlsCa !== undefined) {
      throw new Error(
        '--tls-ca: requires --tls-cert and --tls-key (mutual TLS is TLS plus client certificates)',
      );
    }
    return undefined;
  }
  if (tlsCert === undefined)
    throw new Error('--tls-key: requires --tls-cert (give both or neither)');
  if (tlsKey === undefined)
    throw new Error('--tls-cert: requires --tls-key (give both or neither)');
  const pair = readKeyPair(tlsCert, tlsKey);
  return {
    ...pair,
    ...(tlsCa === undefined ? {} : { clientCa: readCertificates('--tls-ca', tlsCa) }),
    files: flags,
  };
}

/**
 * A client's TLS settings: none (plaintext) without flags; any `--tls-*` flag turns TLS on.
 * `--tls-ca` names the CA to trust (the system's roots without it), `--tls-cert` + `--tls-key` the
 * client certificate for mutual TLS, `--tls-server-name` the name to check in the server's
 * certificate instead of the host dialled.
 * @throws Error naming the flag: only one of cert/key, an empty server name, a file missing,
 *   unreadable or not PEM, an encrypted key, or a key that is not the certificate's.
 */
export function parseClientTls(flags: ClientTlsFlags): ClientTls | undefined {
  const { tlsCa, tlsCert, tlsKey, tlsServerName } = flags;
  if ([tlsCa, tlsCert, tlsKey, tlsServerName].every((f) => f === undefined)) return undefined;
  if (tlsCert !== undefined && tlsKey === undefined) {
    throw new Error(
      '--tls-cert: requires --tls-key (the client certificate and its key go together)',
    );
  }
  if (tlsKey !== undefined && tlsCert === undefined) {
    throw new Error(
      '--tls-key: requires --tls-cert (the client certificate and its key go together)',
    );
  }
  if (tlsServerName !== undefined && !/^[^\s/:]+$/.test(tlsServerName)) {
    throw new Error(`--tls-server-name: '${tlsServerName}' is not a host name`);
  }
  return {
    ...(tlsCa === undefined ? {} : { ca: readCertificates('--tls-ca', tlsCa) }),
    ...(tlsCert === undefined || tlsKey === undefined ? {} : readKeyPair(tlsCert, tlsKey)),
    ...(tlsServerName === undefined ? {} : { serverName: tlsServerName }),
  };
}

/**
 * How a `rediss://` store (and its `--ha` lease) talks TLS to Redis: the CA to trust, and the
 * client certificate for a Redis with `tls-auth-clients yes` (the ioredis `tls` options).
 */
export type RedisTls = Pick<ClientTls, 'ca' | 'cert' | 'key'>;

/** The `serve` flags of {@link parseRedisTls}, as given (file names). */
export interface RedisTlsFlags {
  readonly redisTlsCa?: string | undefined;
  readonly redisTlsCert?: string | undefined;
  readonly redisTlsKey?: string | undefined;
}

/**
 * The TLS settings of a `rediss...://` store (or of its sentinels, `--redis-sentinel-tls`):
 * `--redis-tls-ca` names the CA to trust for Redis's certificate (the system's roots without it),
 * `--redis-tls-cert` + `--redis-tls-key` the client certificate for a Redis that requires one
 * (`tls-auth-clients yes`). None without flags.
 * @throws Error naming the flag: not a `rediss://` store, only one of cert/key, a file missing,
 *   unreadable or not PEM, an encrypted key, or a key that is not the certificate's.
 */
export function parseRedisTls(
  flags: RedisTlsFlags,
  storeUrl: string | undefined,
  sentinelTls = false,
): RedisTls | undefined {
  const { redisTlsCa, redisTlsCert, redisTlsKey } = flags;
  if ([redisTlsCa, redisTlsCert, redisTlsKey].every((f) => f === undefined)) return undefined;
  const tlsStore =
    storeUrl !== undefined && isRedisUrl(storeUrl) && parseRedisEndpoint(storeUrl).tls;
  if (!sentinelTls && !tlsStore) {
    const flag =
      redisTlsCa !== undefined
        ? '--redis-tls-ca'
        : redisTlsCert !== undefined
          ? '--redis-tls-cert'
          : '--redis-tls-key';
    throw new Error(`${flag}: only a TLS store uses it; give --store rediss://HOST:PORT`);
  }
  if (redisTlsCert !== undefined && redisTlsKey === undefined) {
    throw new Error('--redis-tls-cert: requires --redis-tls-key (give both or neither)');
  }
  if (redisTlsKey !== undefined && redisTlsCert === undefined) {
    throw new Error('--redis-tls-key: requires --redis-tls-cert (give both or neither)');
  }
  return {
    ...(redisTlsCa === undefined ? {} : { ca: readCertificates('--redis-tls-ca', redisTlsCa) }),
    ...(redisTlsCert === undefined || redisTlsKey === undefined
      ? {}
      : readKeyPair(redisTlsCert, redisTlsKey, '--redis-tls-cert', '--redis-tls-key')),
  };
}

/** A certificate and its key (`--tls-cert` and `--tls-key` unless named), checked to belong together. */
function readKeyPair(
  certFile: string,
  keyFile: string,
  certFlag = '--tls-cert',
  keyFlag = '--tls-key',
): { cert: Buffer; key: Buffer } {
  const { pem: cert, parsed } = certificates(certFlag, certFile);
  const { pem: key, object } = readPrivateKey(keyFlag, keyFile);
  if (!parsed[0]?.checkPrivateKey(object)) {
    throw new Error(
      `${keyFlag}: ${keyFile} is not the private key of the certificate in ${certFlag} ${certFile}`,
    );
  }
  return { cert, key };
}

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** The PEM certificates of `file`. @throws Error naming `flag` and `file`. */
function readCertificates(flag: string, file: string): Buffer {
  return certificates(flag, file).pem;
}

/** The PEM certificates of `file`, each parsed. @throws Error naming `flag` and `file`. */
function certificates(flag: string, file: string): { pem: Buffer; parsed: X509Certificate[] } {
  const text = read(flag, file);
  const blocks = text.match(CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    throw new Error(
      `${flag}: ${file} is not a PEM certificate (no -----BEGIN CERTIFICATE----- block)`,
    );
  }
  const parsed = blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (e) {
      throw new Error(
        `${flag}: ${file}: certificate ${i + 1} is not valid PEM (${e instanceof Error ? e.message : String(e)})`,
      );
    }
  });
  return { pem: Buffer.from(text), parsed };
}

/** The unencrypted PEM private key of `file`. @throws Error naming `flag` and `file`. */
function readPrivateKey(flag: string, file: string): { pem: Buffer; object: KeyObject } {
  const text = read(flag, file);
  if (text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || text.includes('4,ENCRYPTED')) {
    throw new Error(`${flag}: ${file} is encrypted; give an unencrypted PEM private key`);
  }
  if (!/-----BEGIN (?:RSA |EC |)PRIVATE KEY-----/.test(text)) {
    throw new Error(
      `${flag}: ${file} is not a PEM private key (no -----BEGIN PRIVATE KEY----- block)`,
    );
  }
  try {
    return { pem: Buffer.from(text), object: createPrivateKey(text) };
  } catch (e) {
    throw new Error(
      `${flag}: ${file} is not a valid PEM private key (${e instanceof Error ? e.message : String(e)})`,
    );
  }
}

/** The text of `file`. @throws Error naming `flag` and `file`, with the system's reason. */
function read(flag: string, file: string): string {
  if (file === '') throw new Error(`${flag}: the file name is empty`);
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const reason = e instanceof Error ? e.message.replace(/, (open|read) .*$/, '') : String(e);
    throw new Error(`${flag}: cannot read ${file} (${reason})`);
  }
}
