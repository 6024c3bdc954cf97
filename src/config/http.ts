/**
 * The flags of the HTTP port's access (README "Security"): `--http-port` (`off` for none),
 * `--http-allowed-hosts` and `--http-token-file`. Every error is one line naming the flag.
 */
import { readFileSync } from 'node:fs';
import { parsePort } from './config.js';

/**
 * Parses `--http-port`: a port (0 = any free one), or `off` for no HTTP port (`'off'`, not null:
 * commander reads a parser's null as a missing value).
 */
export function parseHttpPort(value: string): number | 'off' {
  if (value === 'off') return 'off';
  try {
    return parsePort('--http-port', value);
  } catch {
    throw new Error(`--http-port: '${value}' is not a port number (0-65535) or off`);
  }
}

/** A host name, or `*.` and one, as `--http-allowed-hosts` takes them. */
const HOST_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/**
 * Parses `--http-allowed-hosts`: comma-separated host names (no port), each exact or
 * `*.example.com` (any name under it), or `*` (any Host header). Lower-cased.
 * @throws Error naming the flag and the entry.
 */
export function parseAllowedHosts(value: string): readonly string[] {
  const hosts = value
    .split(',')
    .map((h) => h.trim().toLowerCase().replace(/\.$/, ''))
    .filter((h) => h !== '');
  if (hosts.length === 0) throw new Error('--http-allowed-hosts: names no host');
  for (const h of hosts) {
    if (h !== '*' && !HOST_PATTERN.test(h)) {
      throw new Error(
        `--http-allowed-hosts: '${h}' is not a host name, *.DOMAIN or * (give names without ports)`,
      );
    }
  }
  return hosts;
}

/** Shortest token `--http-token-file` accepts: guessing it must be out of reach. */
const MIN_TOKEN_LENGTH = 16;

/**
 * The bearer token in `file` (`--http-token-file`): its content without surrounding whitespace.
 * It must be one word of printable ASCII (it travels in a header and a cookie), at least 16
 * characters long (`openssl rand -hex 32` makes one).
 * @throws Error naming the flag and the file (never the token).
 */
export function readHttpToken(file: string): string {
  if (file === '') throw new Error('--http-token-file: the file name is empty');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const reason = e instanceof Error ? e.message.replace(/, (open|read) .*$/, '') : String(e);
    throw new Error(`--http-token-file: cannot read ${file} (${reason})`);
  }
  const token = text.trim();
  if (!/^[\x21-\x7e]*$/.test(token)) {
    throw new Error(
      `--http-token-file: ${file} must hold one word of printable ASCII (no spaces inside)`,
    );
  }
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new Error(
      `--http-token-file: ${file} holds ${token.length} characters; at least ${MIN_TOKEN_LENGTH} are needed (openssl rand -hex 32)`,
    );
  }
  return token;
}
