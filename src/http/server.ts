/**
 * The HTTP port's listener: plain HTTP, or HTTPS with the gRPC ports' certificate (following its
 * rotation); every request checked for its Host header, then for a credential when one is
 * configured (a client certificate of `--tls-ca`, the token of `--http-token-file`), except
 * `/health`; every response a {@link RedactingResponse}.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { hostname } from 'node:os';
import type { SecureContextOptions } from 'node:tls';
import type { ServerCertificates } from '../config/tls-reload.js';
import type { ReloadLog } from '../config/reloading.js';
import type { ServerTls } from '../config/tls.js';
import {
  authenticated,
  hostAllowed,
  hostName,
  howToAuthenticate,
  authRequired,
  TOKEN_COOKIE,
  TokenFile,
  type Credentials,
} from './access.js';
import { RedactingResponse } from './redact.js';

export interface HttpPortOptions {
  readonly host: string;
  readonly port: number;
  /** HTTPS with these (mutual TLS when they have a client CA); plain HTTP without. */
  readonly certificates?: ServerCertificates | undefined;
  /** `--http-token-file`: the file of the bearer token that opens the port. */
  readonly tokenFile?: string | undefined;
  /** How often the token file is read again (ms). */
  readonly reloadMs: number;
  /** `--http-allowed-hosts`, lower-case. */
  readonly allowedHosts: readonly string[];
  /** `--advertise` (`host:port`): its host is allowed too. */
  readonly advertise?: string | undefined;
  readonly log: ReloadLog;
}

export interface HttpPort {
  /** Starts listening; resolves with the port bound. */
  listen(): Promise<number>;
  /** Stops listening and closes every connection (server-sent event streams too). */
  close(): Promise<void>;
}

/** Answered whoever asks (with an allowed Host): Kubernetes probes present no credential. */
const OPEN_PATHS = new Set(['/health']);

/**
 * The HTTP port for `handle` (not listening yet).
 * @throws Error naming `--http-token-file` when the token file cannot be used.
 */
export function createHttpPort(o: HttpPortOptions, handle: RequestListener): HttpPort {
  const token = o.tokenFile === undefined ? undefined : new TokenFile(o.tokenFile, o.log);
  const certificates = o.certificates;
  const credentials: Credentials = { clientCertificates: certificates?.mutual === true, token };
  if (token && !certificates) {
    o.log.warn(
      { file: o.tokenFile },
      '--http-token-file without --tls-cert: the token crosses the network in clear text',
    );
  }
  const allowed = [
    ...o.allowedHosts,
    hostname().toLowerCase(),
    ...(o.advertise === undefined ? [] : [hostName(o.advertise)]),
  ];
  const secure = certificates !== undefined;

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    if (!hostAllowed(req.headers.host, allowed)) {
      const name = (req.headers.host ?? '').replace(/[^\x21-\x7e]/g, '').slice(0, 100);
      refuse(
        res,
        403,
        `host '${name}' is not allowed on the HTTP port: add it to --http-allowed-hosts`,
      );
      return;
    }
    const url = new URL(req.url ?? '/', 'http://mlsched');
    const given = url.searchParams.get('token');
    if (token && given !== null) {
      if (!token.matches(given)) {
        refuse(res, 401, 'the token is not the one of --http-token-file');
        return;
      }
      // Into a cookie, and out of the address bar (and of the history and Referer headers).
      url.searchParams.delete('token');
      res.writeHead(303, {
        // One leading slash: `//host` would send the browser to another site.
        location: `/${url.pathname.replace(/^\/+/, '')}${url.search}`,
        'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(given)}; HttpOnly; SameSite=Strict; Path=/${secure ? '; Secure' : ''}`,
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
      });
      res.end();
      return;
    }
    if (
      !OPEN_PATHS.has(url.pathname) &&
      authRequired(credentials) &&
      !authenticated(req, credentials)
    ) {
      refuse(res, 401, howToAuthenticate(credentials));
      return;
    }
    handle(req, res);
  };

  let server: Server;
  if (certificates) {
    const mutual = certificates.mutual;
    const https = createHttpsServer(
      {
        ServerResponse: RedactingResponse,
        ...contextOf(certificates.tls),
        // A browser with the token but no certificate must get through the handshake: the
        // certificate is checked per request (`authorized`), as one credential of two.
        ...(mutual ? { requestCert: true, rejectUnauthorized: false } : {}),
      },
      listener,
    );
    certificates.onReload((tls) => {
      https.setSecureContext(contextOf(tls));
    });
    server = https;
  } else {
    server = createHttpServer({ ServerResponse: RedactingResponse }, listener);
  }
  token?.start(o.reloadMs);

  return {
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', (e) => {
          reject(new Error(`cannot listen on ${o.host}:${o.port}: ${e.message}`));
        });
        server.listen(o.port, o.host, () => {
          const a = server.address();
          resolve(typeof a === 'object' && a ? a.port : o.port);
        });
      }),
    close: () => {
      token?.stop();
      return new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
    },
  };
}

/** The secure context of the HTTPS port for the files `tls`. */
function contextOf(tls: ServerTls): SecureContextOptions {
  return { cert: tls.cert, key: tls.key, ...(tls.clientCa ? { ca: tls.clientCa } : {}) };
}

/** Answers with `code` and one line of text. */
function refuse(res: ServerResponse, code: 401 | 403, line: string): void {
  res.writeHead(code, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...(code === 401 ? { 'www-authenticate': 'Bearer realm="mlsched"' } : {}),
  });
  res.end(`${line}\n`);
}
