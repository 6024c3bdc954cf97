/**
 * Access to the HTTP port: which Host headers are answered, the token file (its checks, constant-
 * time comparison, reloading), the flags' one-line errors, and the listener's order of checks
 * (Host, then credentials except on /health) with a trivial handler behind it.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseAllowedHosts, parseHttpPort, readHttpToken } from '../../../src/config/http.js';
import { hostAllowed, TokenFile } from '../../../src/http/access.js';
import { createHttpPort, type HttpPort } from '../../../src/http/server.js';
import { waitFor } from '../../support/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'mlsched-http-access-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
const TOKEN = 'f00dfeed'.repeat(4);
let files = 0;
/** A new file holding `text`. */
function file(text: string): string {
  const path = join(dir, `token-${files++}`);
  writeFileSync(path, text);
  return path;
}

function logs() {
  const lines: { level: 'info' | 'warn'; msg: string; obj: object }[] = [];
  return {
    lines,
    info: (obj: object, msg: string) => lines.push({ level: 'info', msg, obj }),
    warn: (obj: object, msg: string) => lines.push({ level: 'warn', msg, obj }),
  };
}

describe('hostAllowed', () => {
  const allowed = ['scheduler.internal', '*.example.com'];
  for (const [host, ok] of [
    ['127.0.0.1:9007', true],
    ['10.1.2.3', true],
    ['[::1]:9007', true],
    ['[fe80::1]', true],
    ['localhost:9007', true],
    ['LocalHost.', true],
    ['scheduler.internal:9007', true],
    ['a.example.com', true],
    ['b.a.example.com:443', true],
    ['example.com', false],
    ['evilexample.com', false],
    ['evil.example', false],
    ['localhost.evil.example', false],
    ['[not-an-ip]:9007', false],
    ['127.0.0.1.evil.example', false],
    ['', false],
  ] as const) {
    it(`${host === '' ? '(none)' : host}: ${ok ? 'answered' : 'refused'}`, () => {
      assert.equal(hostAllowed(host === '' ? undefined : host, allowed), ok);
    });
  }

  it('* allows any name', () => {
    assert.equal(hostAllowed('evil.example', ['*']), true);
  });
});

describe('the flags', () => {
  it('--http-port: a port or off', () => {
    assert.equal(parseHttpPort('off'), 'off');
    assert.equal(parseHttpPort('0'), 0);
    assert.equal(parseHttpPort('9007'), 9007);
    assert.throws(() => parseHttpPort('none'), {
      message: "--http-port: 'none' is not a port number (0-65535) or off",
    });
  });

  it('--http-allowed-hosts: names, *.DOMAIN or *, lower-cased', () => {
    assert.deepEqual(parseAllowedHosts('Sched.Example.com, *.corp.example.,*'), [
      'sched.example.com',
      '*.corp.example',
      '*',
    ]);
    assert.throws(() => parseAllowedHosts('sched.example.com:9007'), {
      message:
        "--http-allowed-hosts: 'sched.example.com:9007' is not a host name, *.DOMAIN or * (give names without ports)",
    });
    assert.throws(() => parseAllowedHosts(' , '), /--http-allowed-hosts: names no host/);
  });

  it('--http-token-file: one word of 16 characters or more, never echoed', () => {
    assert.equal(readHttpToken(file(`${TOKEN}\n`)), TOKEN);
    assert.throws(
      () => readHttpToken(join(dir, 'missing')),
      /^Error: --http-token-file: cannot read .*missing \(ENOENT: no such file or directory\)$/,
    );
    assert.throws(() => readHttpToken(file('short-one')), {
      message: /^--http-token-file: .* holds 9 characters; at least 16 are needed/,
    });
    const spaced = file(`${TOKEN} ${TOKEN}`);
    assert.throws(
      () => readHttpToken(spaced),
      (e: Error) => {
        assert.match(e.message, /must hold one word of printable ASCII/);
        assert.ok(!e.message.includes(TOKEN));
        return true;
      },
    );
  });
});

describe('TokenFile', () => {
  it('accepts its token only, and follows the file', async () => {
    const path = file(TOKEN);
    const log = logs();
    const token = new TokenFile(path, log);
    token.start(20);
    try {
      assert.equal(token.matches(TOKEN), true);
      assert.equal(token.matches(`${TOKEN}x`), false);
      assert.equal(token.matches(''), false);

      // Half-written or emptied: the previous token stays, and that is said once.
      writeFileSync(path, '');
      await waitFor('the failed reload logged', () => log.lines.some((l) => l.level === 'warn'));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(log.lines.filter((l) => l.level === 'warn').length, 1);
      assert.equal(token.matches(TOKEN), true);

      const next = 'c0ffee00'.repeat(4);
      writeFileSync(path, next);
      await waitFor('the new token', () => token.matches(next));
      assert.equal(token.matches(TOKEN), false);
      assert.deepEqual(
        log.lines.map((l) => l.msg),
        [
          'HTTP token file cannot be used; still accepting the previous token',
          'HTTP token reloaded',
        ],
      );
    } finally {
      token.stop();
    }
  });
});

describe('the listener', () => {
  const ports: HttpPort[] = [];
  after(async () => {
    await Promise.all(ports.map((p) => p.close()));
  });

  async function start(o: { tokenFile?: string; advertise?: string }) {
    const log = logs();
    const port = createHttpPort(
      { host: '127.0.0.1', port: 0, reloadMs: 1000, allowedHosts: [], log, ...o },
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      },
    );
    ports.push(port);
    return { port: await port.listen(), log };
  }

  /** GET `path` with these headers: status, headers and body. */
  async function get(port: number, path: string, headers: Record<string, string> = {}) {
    const req = request({ host: '127.0.0.1', port, path, headers });
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    let body = '';
    for await (const chunk of res) body += String(chunk);
    return { status: res.statusCode, headers: res.headers, body };
  }

  it('answers the Host of --advertise and this machine; others get 403 naming the flag', async () => {
    const { port } = await start({ advertise: 'sched-0.sched.svc:9004' });
    assert.equal((await get(port, '/', { host: 'sched-0.sched.svc:1234' })).status, 200);
    assert.equal((await get(port, '/', { host: hostname() })).status, 200);
    const refused = await get(port, '/health', { host: 'evil.example' });
    assert.equal(refused.status, 403);
    assert.equal(
      refused.body,
      "host 'evil.example' is not allowed on the HTTP port: add it to --http-allowed-hosts\n",
    );
  });

  it('with a token: 401 saying how, except /health; a plain-HTTP token is warned about', async () => {
    const { port, log } = await start({ tokenFile: file(TOKEN) });
    assert.match(log.lines[0]?.msg ?? '', /crosses the network in clear text/);
    const refused = await get(port, '/metrics');
    assert.equal(refused.status, 401);
    assert.equal(refused.headers['www-authenticate'], 'Bearer realm="mlsched"');
    assert.equal(
      refused.body,
      "authentication required: send the token of --http-token-file as 'Authorization: Bearer TOKEN', or in a browser, open /?token=TOKEN once\n",
    );
    assert.equal((await get(port, '/health')).status, 200);
    assert.equal((await get(port, '/metrics', { authorization: `Bearer ${TOKEN}` })).status, 200);
    assert.equal((await get(port, '/metrics', { authorization: 'Bearer nope' })).status, 401);
    // Plain HTTP: the cookie cannot be Secure.
    const visit = await get(port, `/api/summary?token=${TOKEN}`);
    assert.equal(visit.status, 303);
    assert.deepEqual(visit.headers['set-cookie'], [
      `mlsched_token=${TOKEN}; HttpOnly; SameSite=Strict; Path=/`,
    ]);
    assert.equal(visit.headers.location, '/api/summary');
    // Never to another site, whatever the path.
    const odd = await get(port, `/.//evil.example/x?token=${TOKEN}`);
    assert.equal(odd.headers.location, '/evil.example/x');
  });
});
