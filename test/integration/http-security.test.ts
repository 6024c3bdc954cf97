/**
 * The HTTP port locked down (issue 18, item 3): a model's rclone config (storage credentials)
 * shows on no HTTP view and in no log while gRPC still returns it; the file store's files are
 * private; `--http-host` and `--http-port off`; HTTPS with the gRPC certificate, a client
 * certificate or a bearer token (header, or cookie after `?token=`) required except on /health;
 * the Host header checked (DNS rebinding); and the dashboard in headless Chromium over HTTPS with
 * a token (screenshot in test/artifacts/dashboard-https.png).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { startApp, type App } from '../../src/app.js';
import { parseServerTls } from '../../src/config/tls.js';
import { SchedulerClient, type LoadModelRequest } from '../../src/gen/mlops/scheduler/scheduler.js';
import { createLogger } from '../../src/observability/logger.js';
import { startSimulatedAgent } from '../../src/sim/agent.js';
import { launchChromium } from '../support/chromium.js';
import { call, collect, model, testConfig, waitFor } from '../support/harness.js';
import { httpsGet, makePki, type Pki } from '../support/pki.js';
import { killAll, mlsched, runMlsched, serve } from '../support/processes.js';
import { startRedisServer } from '../support/redis.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url);
const SECRET = `hunter2-${randomBytes(8).toString('hex')}`;
const RCLONE = JSON.stringify({
  type: 's3',
  provider: 'AWS',
  access_key_id: 'AKIAEXAMPLE',
  secret_access_key: SECRET,
});
const TOKEN = randomBytes(24).toString('hex');
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

let dir: string;
let pki: Pki;
const apps: App[] = [];
const clients: SchedulerClient[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlsched-http-security-'));
  pki = makePki(mkdtempSync(join(dir, 'pki-')));
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all(apps.map((a) => a.stop(500)));
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** A LoadModel request whose storage config is an rclone config holding {@link SECRET}. */
function withSecret(name: string): LoadModelRequest {
  const req = model(name);
  assert.ok(req.model?.modelSpec);
  req.model.modelSpec.storageConfig = { config: { $case: 'storageRcloneConfig', value: RCLONE } };
  return req;
}

function client(address: string, creds: ChannelCredentials = credentials.createInsecure()) {
  const c = new SchedulerClient(address, creds);
  clients.push(c);
  return c;
}

/** The scheduler in this process (logs at LOG_LEVEL, default silent). */
async function startInProcess(more: Parameters<typeof testConfig>[0] = {}) {
  const app = await startApp(testConfig(more), createLogger(process.env['LOG_LEVEL'] ?? 'silent'));
  apps.push(app);
  return { app, http: app.ports.http ?? assert.fail('no HTTP port') };
}

/**
 * `mlsched ARGS` (a serve): resolves with its listening line, parsed, and what it logged so far
 * (kept up to date); rejects with its stderr when it exits first.
 */
async function started(...args: string[]) {
  const child = mlsched(...args);
  assert.ok(child.stdout && child.stderr && child.pid);
  const out = {
    child,
    pid: child.pid,
    stderr: '',
    line: '',
    ports: {} as Record<string, number | null>,
  };
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = once(child, 'exit').then(() => {
    throw new Error(`mlsched exited before listening: ${out.stderr}`);
  });
  const [line] = (await Promise.race([
    once(createInterface({ input: child.stdout }), 'line'),
    exited,
  ])) as [string];
  exited.catch(() => undefined);
  out.line = line;
  out.ports = JSON.parse(line) as Record<string, number | null>;
  return out;
}

/** GET over plain HTTP with these headers (Host among them): status, headers and body. */
async function get(port: number, path: string, headers: Record<string, string> = {}) {
  const req = request({ host: '127.0.0.1', port, path, headers, agent: false });
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  let body = '';
  for await (const chunk of res) body += String(chunk);
  return { status: res.statusCode ?? 0, headers: res.headers, body };
}

/** The first server-sent event of `url`. */
async function firstEvent(url: string): Promise<string> {
  const abort = new AbortController();
  const res = await fetch(url, { signal: abort.signal });
  assert.equal(res.status, 200);
  assert.ok(res.body);
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of res.body) {
    text += decoder.decode(chunk as Uint8Array, { stream: true });
    if (text.includes('\n\n')) break;
  }
  abort.abort();
  return text.slice(0, text.indexOf('\n\n'));
}

describe('secrets stay in the process', () => {
  let app: App;
  let http: number;
  let store: string;
  let umask: number;

  before(async () => {
    // The usual umask: without explicit modes the store's files would be world-readable.
    umask = process.umask(0o022);
    store = join(dir, 'store');
    ({ app, http } = await startInProcess({ store: { kind: 'file', dir: store } }));
    const c = client(`127.0.0.1:${app.ports.scheduler}`);
    await call(c.loadModel.bind(c), withSecret('iris-s3'));
    const named = model('iris-named');
    assert.ok(named.model?.modelSpec);
    named.model.modelSpec.storageConfig = {
      config: { $case: 'storageSecretName', value: 'seldon-s3-credentials' },
    };
    await call(c.loadModel.bind(c), named);
  });

  after(() => {
    process.umask(umask);
  });

  it('no HTTP view shows the rclone config: state, models, resource, summary, events, metrics, health', async () => {
    const base = `http://127.0.0.1:${http}`;
    const bodies: Record<string, string> = {};
    for (const path of [
      '/api/state',
      '/api/models',
      '/api/resource?kind=model&name=iris-s3',
      '/api/summary',
      '/metrics',
      '/health',
    ]) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 200, path);
      bodies[path] = await res.text();
    }
    bodies['/api/events'] = await firstEvent(`${base}/api/events`);
    for (const [path, body] of Object.entries(bodies)) {
      assert.ok(!body.includes(SECRET), `${path} shows the secret`);
      assert.ok(!body.includes('AKIAEXAMPLE'), `${path} shows the access key`);
    }
    // The key stays, so a reader sees a config exists; a Secret's name is not a secret.
    const resource = JSON.parse(bodies['/api/resource?kind=model&name=iris-s3'] ?? '') as {
      view: { versions: { definition: { spec: { storageConfig: unknown } } }[] };
    };
    assert.deepEqual(resource.view.versions[0]?.definition.spec.storageConfig, {
      kind: 'rcloneConfig',
      value: '[redacted]',
    });
    assert.match(bodies['/api/state'] ?? '', /"value": "seldon-s3-credentials"/);
    assert.match(bodies['/api/models'] ?? '', /"value":"\[redacted\]"/);
  });

  it('gRPC ModelStatus still returns the definition whole', async () => {
    const c = client(`127.0.0.1:${app.ports.scheduler}`);
    const [status] = await collect(
      c.modelStatus({ subscriberName: 't', model: { name: 'iris-s3' }, allVersions: false }),
    );
    assert.deepEqual(status?.versions[0]?.modelDefn?.modelSpec?.storageConfig?.config, {
      $case: 'storageRcloneConfig',
      value: RCLONE,
    });
  });

  it('the file store is private: the directory 0700, no file readable by group or others', () => {
    assert.equal(statSync(store).mode & 0o777, 0o700);
    const files = readdirSync(store);
    assert.ok(files.some((f) => f.startsWith('log.')));
    for (const f of files) {
      assert.equal(statSync(join(store, f)).mode & 0o077, 0, `${f} is readable by others`);
    }
    // It is there, for the scheduler's restart.
    assert.ok(files.some((f) => readFileSync(join(store, f), 'utf8').includes(SECRET)));
  });
});

describe('HTTPS, client certificates and the token (serve --tls-cert --tls-ca --http-token-file)', () => {
  let app: App;
  let base: string;
  let tokenFile: string;
  const ca = () => ({ ca: pki.ca });
  const clientCert = () => ({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });

  before(async () => {
    tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const tls = parseServerTls({ tlsCert: pki.serverCert, tlsKey: pki.serverKey, tlsCa: pki.ca });
    ({ app } = await startInProcess({
      ...(tls ? { tls } : {}),
      httpTokenFile: tokenFile,
      tlsReloadMs: 100,
    }));
    base = `https://127.0.0.1:${app.ports.http}`;
  });

  it('without a certificate or a token: 401 saying how, except /health', async () => {
    for (const path of ['/', '/metrics', '/api/state', '/api/events']) {
      const res = await httpsGet(`${base}${path}`, ca());
      assert.equal(res.status, 401, path);
      assert.equal(
        res.body,
        "authentication required: present a client certificate signed by the --tls-ca CA, or send the token of --http-token-file as 'Authorization: Bearer TOKEN', or in a browser, open /?token=TOKEN once\n",
      );
    }
    assert.equal((await httpsGet(`${base}/health`, ca())).status, 200);
  });

  it('a client certificate its CA signed opens it; one of another CA does not', async () => {
    assert.equal((await httpsGet(`${base}/api/state`, clientCert())).status, 200);
    const other = { ca: pki.ca, cert: pki.otherClientCert, key: pki.otherClientKey };
    assert.equal((await httpsGet(`${base}/api/state`, other)).status, 401);
  });

  it('the bearer token opens it; a wrong one does not', async () => {
    const bearer = (t: string) => ({ ...ca(), headers: { authorization: `Bearer ${t}` } });
    assert.equal((await httpsGet(`${base}/metrics`, bearer(TOKEN))).status, 200);
    assert.equal((await httpsGet(`${base}/metrics`, bearer(`${TOKEN}0`))).status, 401);
    assert.equal((await httpsGet(`${base}/metrics`, bearer(TOKEN.slice(1)))).status, 401);
  });

  it('?token= sets a Secure cookie and redirects to the same address without it', async () => {
    const visit = await httpsGet(`${base}/api/models?limit=5&token=${TOKEN}&q=iris`, ca());
    assert.equal(visit.status, 303);
    assert.equal(visit.headers['location'], '/api/models?limit=5&q=iris');
    assert.deepEqual(visit.headers['set-cookie'], [
      `mlsched_token=${TOKEN}; HttpOnly; SameSite=Strict; Path=/; Secure`,
    ]);
    const next = await httpsGet(`${base}/api/models?limit=5&q=iris`, {
      ...ca(),
      headers: { cookie: `theme=dark; mlsched_token=${TOKEN}` },
    });
    assert.equal(next.status, 200);
    assert.equal((await httpsGet(`${base}/?token=${TOKEN}x`, ca())).status, 401);
  });

  it('a rewritten token file is followed without a restart', async () => {
    const next = randomBytes(24).toString('hex');
    const bearer = (t: string) => ({ ...ca(), headers: { authorization: `Bearer ${t}` } });
    writeFileSync(tokenFile, next);
    await waitFor(
      'the new token accepted',
      async () => (await httpsGet(`${base}/metrics`, bearer(next))).status === 200,
      5_000,
    );
    assert.equal((await httpsGet(`${base}/metrics`, bearer(TOKEN))).status, 401);
    writeFileSync(tokenFile, TOKEN);
    await waitFor(
      'the token back',
      async () => (await httpsGet(`${base}/metrics`, bearer(TOKEN))).status === 200,
      5_000,
    );
  });

  it(
    'the dashboard in Chromium over HTTPS with the token: loads and shows a model',
    { timeout: 60_000 },
    async () => {
      const tls = credentials.createSsl(
        readFileSync(pki.ca),
        readFileSync(pki.clientKey),
        readFileSync(pki.clientCert),
      );
      const c = client(`127.0.0.1:${app.ports.scheduler}`, tls);
      const agent = await startSimulatedAgent({
        schedulerHost: '127.0.0.1',
        agentPort: app.ports.agent,
        server: 'mlserver',
        replicaIdxs: [0, 1],
        memoryBytes: 2 ** 30,
        capabilities: ['mlserver', 'sklearn'],
        overCommitPercentage: 10,
        loadMs: 10,
        credentials: tls,
        logger: silent,
      });
      const browser = await launchChromium();
      try {
        for (const name of ['iris-https', 'mnist-https', 'income-https']) {
          await call(c.loadModel.bind(c), withSecret(name));
        }
        const context = await browser.newContext({
          ignoreHTTPSErrors: true,
          viewport: { width: 1600, height: 1300 },
        });
        const page = await context.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        const res = await page.goto(`${base}/?token=${TOKEN}`);
        // Redirected to the page itself, the token out of the address bar and in a cookie.
        assert.equal(res?.status(), 200);
        assert.equal(page.url(), `${base}/`);
        const [cookie] = await context.cookies();
        assert.equal(cookie?.name, 'mlsched_token');
        assert.equal(cookie.httpOnly, true);
        assert.equal(cookie.secure, true);
        assert.equal(cookie.sameSite, 'Strict');
        // Its fetches and its event stream carry the cookie: the models appear, live.
        await page.waitForSelector('tr[data-model="iris-https"] [data-state="available"]', {
          timeout: 15_000,
        });
        await page.waitForSelector('tr[data-model="income-https"]');
        assert.ok(!(await page.content()).includes(SECRET));
        mkdirSync(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: new URL('dashboard-https.png', ARTIFACTS).pathname });
        assert.deepEqual(errors, []);
      } finally {
        await browser.close();
        await agent.stop();
      }
    },
  );
});

describe('the Host header (DNS rebinding)', () => {
  it('answers IP addresses, localhost and the allowed names; 403 naming the flag for others', async () => {
    const { http } = await startInProcess({
      httpAllowedHosts: ['sched.example.com', '*.corp.example'],
    });
    const status = async (host: string, path = '/api/summary') =>
      (await get(http, path, { host })).status;
    assert.equal(await status(`127.0.0.1:${http}`), 200);
    assert.equal(await status(`localhost:${http}`), 200);
    assert.equal(await status(`[::1]:${http}`), 200);
    assert.equal(await status('sched.example.com'), 200);
    assert.equal(await status(`ui.corp.example:${http}`), 200);
    const refused = await get(http, '/api/summary', { host: `evil.example:${http}` });
    assert.equal(refused.status, 403);
    assert.match(
      refused.body,
      /^host 'evil\.example:\d+' is not allowed on the HTTP port: add it to --http-allowed-hosts\n$/,
    );
    // /health too: probes dial the pod's address, which is always answered.
    assert.equal(await status('evil.example', '/health'), 403);
  });
});

/** The TCP addresses (`ip:port`) process `pid` listens on, from /proc. */
function listening(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const out: string[] = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const [local, state, inode] = [f[1], f[3], f[9]];
      if (state !== '0A' || !local || !inode || !inodes.has(inode)) continue;
      const [ipHex = '', portHex = ''] = local.split(':');
      const ip =
        ipHex.length === 8
          ? (ipHex.match(/../g) ?? [])
              .reverse()
              .map((b) => parseInt(b, 16))
              .join('.')
          : ipHex === '0'.repeat(32)
            ? '::'
            : ipHex;
      out.push(`${ip}:${parseInt(portHex, 16)}`);
    }
  }
  return out.sort();
}

describe('mlsched serve: the HTTP port flags', () => {
  it('--http-host binds the HTTP port apart from --host', async () => {
    const { server, ports } = await serve({
      args: ['--host', '0.0.0.0', '--http-host', '127.0.0.1'],
    });
    assert.ok(server.pid);
    assert.deepEqual(
      listening(server.pid),
      [
        `0.0.0.0:${ports.scheduler}`,
        `0.0.0.0:${ports.agent}`,
        `0.0.0.0:${ports.dataflow}`,
        `127.0.0.1:${ports.http}`,
      ].sort(),
    );
    server.kill('SIGKILL');
  });

  it('--http-port off serves no HTTP and says "http":null', async () => {
    const { child, pid, ports, line } = await started(
      ...['serve', '--host', '127.0.0.1', '--store', 'memory', '--http-port', 'off'],
      ...['--scheduler-port', '0', '--agent-port', '0', '--dataflow-port', '0'],
    );
    assert.equal(ports['http'], null);
    assert.match(line, /"http":null/);
    assert.deepEqual(
      listening(pid),
      [ports['scheduler'], ports['agent'], ports['dataflow']].map((p) => `127.0.0.1:${p}`).sort(),
    );
    child.kill('SIGKILL');
  });

  it('--http-token-file and --http-allowed-hosts: bad values stop the start in one line naming the flag', async () => {
    const short = join(dir, 'short-token');
    writeFileSync(short, 'abc\n');
    const serveArgs = ['serve', '--store', 'memory', '--scheduler-port', '0'];
    for (const [args, message] of [
      [['--http-port', 'none'], /--http-port: 'none' is not a port number \(0-65535\) or off/],
      [
        ['--http-token-file', join(dir, 'missing')],
        /^mlsched: --http-token-file: cannot read .*missing/,
      ],
      [['--http-token-file', short], /^mlsched: --http-token-file: .* holds 3 characters/],
      [
        ['--http-allowed-hosts', 'a.example:80'],
        /--http-allowed-hosts: 'a\.example:80' is not a host name/,
      ],
    ] as const) {
      const run = await runMlsched([...serveArgs, ...args]);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr.split('\n')[0] ?? '', message);
      assert.ok(!run.stderr.includes('abc'));
    }
  });

  it('with a token over plain HTTP: warns, and the flags reach the port', async () => {
    const tokenFile = join(dir, 'serve-token');
    writeFileSync(tokenFile, TOKEN);
    const serving = await started(
      ...['serve', '--host', '127.0.0.1', '--store', 'memory', '--http-token-file', tokenFile],
      ...['--http-allowed-hosts', 'sched.example.com', '--http-port', '0'],
      ...['--scheduler-port', '0', '--agent-port', '0', '--dataflow-port', '0'],
    );
    const http = serving.ports['http'] ?? assert.fail('no HTTP port');
    assert.equal((await get(http, '/api/state', { host: 'sched.example.com' })).status, 401);
    const authorization = `Bearer ${TOKEN}`;
    assert.equal(
      (await get(http, '/api/state', { host: 'sched.example.com', authorization })).status,
      200,
    );
    assert.equal(
      (await get(http, '/api/state', { host: 'evil.example', authorization })).status,
      403,
    );
    assert.match(
      serving.stderr,
      /--http-token-file without --tls-cert: the token crosses the network in clear text/,
    );
    assert.ok(!serving.stderr.includes(TOKEN));
    serving.child.kill('SIGKILL');
  });

  it(
    'a Redis that refuses a write: the log says so without the records it held',
    { timeout: 30_000 },
    async () => {
      // One byte of memory: every write is refused (OOM), reads still work.
      const redis = await startRedisServer({
        args: ['--maxmemory', '1', '--maxmemory-policy', 'noeviction'],
      });
      let serving: Awaited<ReturnType<typeof started>> | undefined;
      try {
        serving = await started(
          ...['serve', '--host', '127.0.0.1', '--store', redis.url, '--http-port', '0'],
          ...['--scheduler-port', '0', '--agent-port', '0', '--dataflow-port', '0'],
        );
        const c = client(`127.0.0.1:${serving.ports['scheduler'] ?? 0}`);
        await call(c.loadModel.bind(c), withSecret('iris-redis'));
        const logged = serving;
        await waitFor('the refusal logged', () => logged.stderr.includes('redis refuses'), 10_000);
        assert.match(logged.stderr, /OOM|EXECABORT/);
        assert.ok(!logged.stderr.includes(SECRET), 'the log shows the refused record');
      } finally {
        serving?.child.kill('SIGKILL');
        await redis.stop();
      }
    },
  );
});
