/**
 * Who may use the HTTP port: the Host header check (DNS rebinding: a page of another site that
 * makes its name resolve to this address must not read the dashboard through the visitor's
 * browser) and the credentials a request presents (client certificate, bearer token, cookie).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { TLSSocket } from 'node:tls';
import { readHttpToken } from '../config/http.js';
import { Reloading, type ReloadLog } from '../config/reloading.js';

/**
 * The host names a request may name besides IP addresses and `localhost`: exact names,
 * `*.example.com` (any name under it) or `*` (any), lower-case.
 */
export type AllowedHosts = readonly string[];

/**
 * The host of a Host header or an address (`name`, `name:port`, `[v6]:port`), lower-case, without
 * a final dot.
 */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  return h.replace(/:\d*$/, '').replace(/\.$/, '');
}

/**
 * Whether a request with this Host header may be answered: IP literals (a rebinding page has a
 * name, never an address), `localhost`, and the names `allowed` lists. A request without one
 * (only HTTP/1.0 allows that) is refused: every client of today sends it.
 */
export function hostAllowed(header: string | undefined, allowed: AllowedHosts): boolean {
  if (header === undefined || header === '') return false;
  const name = hostName(header);
  if (name.startsWith('[')) return isIP(name.slice(1, -1)) === 6;
  if (isIP(name) === 4 || name === 'localhost') return true;
  return allowed.some(
    (a) => a === '*' || a === name || (a.startsWith('*.') && name.endsWith(a.slice(1))),
  );
}

/** The cookie that carries the token after a `?token=` visit. */
export const TOKEN_COOKIE = 'mlsched_token';

const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * The bearer token of `--http-token-file`, read again every few seconds so that a rotated token
 * (a Kubernetes Secret rewritten in place) is the one accepted, without a restart. Only its hash
 * is kept; a token is compared in constant time.
 */
export class TokenFile {
  private readonly hash: Reloading<Buffer>;

  /** @throws Error naming `--http-token-file` when the file is missing or holds no valid token. */
  constructor(file: string, log: ReloadLog) {
    const read = () => digest(readHttpToken(file));
    this.hash = new Reloading<Buffer>(read(), {
      read,
      same: (a, b) => a.equals(b),
      changed: () => {
        log.info({ file }, 'HTTP token reloaded');
      },
      log,
      failed: 'HTTP token file cannot be used; still accepting the previous token',
    });
  }

  /** Whether `candidate` is the token. */
  matches(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.hash.value);
  }

  /** Reads the file again every `everyMs` until {@link stop}. */
  start(everyMs: number): void {
    this.hash.start(everyMs);
  }

  stop(): void {
    this.hash.stop();
  }
}

/** What a request may authenticate with; nothing: the port is open. */
export interface Credentials {
  /** Client certificates signed by `--tls-ca` (the TLS handshake verified them). */
  readonly clientCertificates: boolean;
  readonly token?: TokenFile | undefined;
}

/** Whether the port asks requests to authenticate at all. */
export const authRequired = (c: Credentials): boolean =>
  c.clientCertificates || c.token !== undefined;

/** The value of cookie `name` in a Cookie header, if any. */
function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * Whether `req` presents a credential of `c`: a client certificate the handshake verified, the
 * token as `Authorization: Bearer TOKEN`, or the token cookie a `?token=` visit set.
 */
export function authenticated(req: IncomingMessage, c: Credentials): boolean {
  if (c.clientCertificates && req.socket instanceof TLSSocket && req.socket.authorized) return true;
  const token = c.token;
  if (token === undefined) return false;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  if (bearer !== undefined && token.matches(bearer)) return true;
  const fromCookie = cookie(req.headers.cookie, TOKEN_COOKIE);
  return fromCookie !== undefined && token.matches(fromCookie);
}

/** The one line a 401 answers with: how to authenticate with what `c` accepts. */
export function howToAuthenticate(c: Credentials): string {
  const ways = [
    ...(c.clientCertificates ? ['present a client certificate signed by the --tls-ca CA'] : []),
    ...(c.token
      ? [
          "send the token of --http-token-file as 'Authorization: Bearer TOKEN'",
          'in a browser, open /?token=TOKEN once',
        ]
      : []),
  ];
  return `authentication required: ${ways.join(', or ')}`;
}
