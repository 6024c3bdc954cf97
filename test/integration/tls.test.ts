/**
 * Transport security (issue 9, part 5): TLS and mutual TLS on the scheduler's gRPC ports, the
 * client flags of `mlsched agent|dataflow|model ...`, `rediss://` with `--redis-tls-ca` and client
 * certificates (`--redis-tls-cert`/`--redis-tls-key`), Redis AUTH in the store URL, and the one-line
 * start-up errors of bad flags; the HTTP port serving HTTPS with the same certificate. A throwaway
 * PKI (two CAs, a server certificate for 127.0.0.1 and localhost, client certificates) is made
 * with `openssl` in a temporary directory for each run (test/support/pki.ts).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  credentials,
  status as grpcStatus,
  type ChannelCredentials,
  type ServiceError,
} from '@grpc/grpc-js';
import { pino } from 'pino';
import { startApp, type App } from '../../src/app.js';
import { clientChannel } from '../../src/cli/client.js';
import { parseStore, type Config, type StoreSpec } from '../../src/config/config.js';
import {
  parseClientTls,
  parseRedisTls,
  parseServerTls,
  type ServerTls,
} from '../../src/config/tls.js';
import {
  ModelStatus_ModelState,
  SchedulerClient,
  type ModelStatusResponse,
} from '../../src/gen/mlops/scheduler/scheduler.js';
import { createLogger } from '../../src/observability/logger.js';
import { startSimulatedAgent } from '../../src/sim/agent.js';
import { startSimulatedDataflow } from '../../src/sim/dataflow.js';
import { call, collect, model, testConfig, waitFor } from '../support/harness.js';
import { SAMPLES_DIR } from '../support/manifests.js';
import { freePort, killAll, mlsched as spawnMlsched, serve } from '../support/processes.js';
import { httpsGet, makePki, type Pki } from '../support/pki.js';
import { startRedisServer, type RedisServer } from '../support/redis.js';

const BIN = fileURLToPath(new URL('../../bin/mlsched.js', import.meta.url));
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
/** `mlsched serve` flags for free ports everywhere. */
const ANY_PORTS = [
  ...['--scheduler-port', '0', '--agent-port', '0'],
  ...['--dataflow-port', '0', '--http-port', '0'],
];

let pki: Pki;
const apps: App[] = [];
const clients: SchedulerClient[] = [];

before(() => {
  pki = makePki(mkdtempSync(join(tmpdir(), 'mlsched-tls-')));
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all(apps.map((a) => a.stop(500)));
  killAll();
  rmSync(pki.dir, { recursive: true, force: true });
});

/** The scheduler in-process on free loopback ports, serving TLS as `tls` says. */
async function startTlsScheduler(
  tls: ServerTls | undefined,
  more: Partial<Config> = {},
): Promise<App> {
  const app = await startApp(
    testConfig({ ...(tls ? { tls } : {}), ...more }),
    createLogger(process.env['LOG_LEVEL'] ?? 'silent'),
  );
  apps.push(app);
  return app;
}

/** A Scheduler client of `app` with `creds` (and channel options, e.g. a server-name override). */
function client(app: App, creds: ChannelCredentials, options = {}): SchedulerClient {
  const c = new SchedulerClient(`127.0.0.1:${app.ports.scheduler}`, creds, options);
  clients.push(c);
  return c;
}

/** A client of `app` with the credentials the client flags give. */
function clientWith(app: App, flags: Parameters<typeof parseClientTls>[0]): SchedulerClient {
  const channel = clientChannel(parseClientTls(flags));
  return client(app, channel.credentials, channel.options);
}

/** ServerStatus of every server: a call that needs nothing loaded. */
function serverStatus(c: SchedulerClient): Promise<unknown[]> {
  return collect(c.serverStatus({ subscriberName: 'tls-test' }, { deadline: Date.now() + 5_000 }));
}

/** Asserts that `p` fails with UNAVAILABLE (the TLS handshake failed), returning the details. */
async function refused(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => assert.fail('the call succeeded'),
    (err: unknown) => err as ServiceError,
  );
  assert.equal(e.code, grpcStatus.UNAVAILABLE, e.message);
  return e.details;
}

async function modelStatus(c: SchedulerClient, name: string): Promise<ModelStatusResponse> {
  const [s] = await collect(
    c.modelStatus({ subscriberName: 'tls-test', model: { name }, allVersions: false }),
  );
  assert.ok(s, `no status for ${name}`);
  return s;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `mlsched ARGS` as a user does, in the samples directory. */
function mlsched(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: SAMPLES_DIR, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
          stdout,
          stderr,
        });
      },
    );
  });
}

describe('TLS on the scheduler port', () => {
  let app: App;
  before(async () => {
    app = await startTlsScheduler(
      parseServerTls({ tlsCert: pki.serverCert, tlsKey: pki.serverKey }),
    );
  });

  it('refuses a plaintext client', async () => {
    await refused(serverStatus(client(app, credentials.createInsecure())));
  });

  it('refuses a client that does not trust its CA (another CA, or the system roots)', async () => {
    const details = await refused(serverStatus(clientWith(app, { tlsCa: pki.otherCa })));
    assert.match(details, /certificate/);
    await refused(serverStatus(client(app, credentials.createSsl())));
  });

  it('serves a client that trusts its CA: LoadModel and ModelStatus', async () => {
    const c = clientWith(app, { tlsCa: pki.ca });
    await call(c.loadModel.bind(c), model('iris-tls'));
    const s = await modelStatus(c, 'iris-tls');
    assert.equal(s.modelName, 'iris-tls');
    assert.equal(s.versions[0]?.version, 1);
  });

  it('checks the name in the certificate: localhost is in it, another name is not', async () => {
    await serverStatus(clientWith(app, { tlsCa: pki.ca, tlsServerName: 'localhost' }));
    const details = await refused(
      serverStatus(clientWith(app, { tlsCa: pki.ca, tlsServerName: 'elsewhere.example' })),
    );
    assert.match(details, /elsewhere\.example/);
  });

  it('serves HTTPS on the HTTP port with the same certificate, and no plain HTTP', async () => {
    const res = await httpsGet(`https://127.0.0.1:${app.ports.http}/health`, { ca: pki.ca });
    assert.equal(res.status, 200);
    await assert.rejects(fetch(`http://127.0.0.1:${app.ports.http}/health`));
  });
});

describe('mutual TLS (serve --tls-ca)', () => {
  let app: App;
  before(async () => {
    app = await startTlsScheduler(
      parseServerTls({ tlsCert: pki.serverCert, tlsKey: pki.serverKey, tlsCa: pki.ca }),
    );
  });

  it('refuses a client without a certificate', async () => {
    const details = await refused(serverStatus(clientWith(app, { tlsCa: pki.ca })));
    assert.match(details, /certificate required/);
  });

  it('refuses a client whose certificate another CA signed', async () => {
    await refused(
      serverStatus(
        clientWith(app, {
          tlsCa: pki.ca,
          tlsCert: pki.otherClientCert,
          tlsKey: pki.otherClientKey,
        }),
      ),
    );
  });

  it('serves a client with a certificate its CA signed: LoadModel and ModelStatus', async () => {
    const c = clientWith(app, { tlsCa: pki.ca, tlsCert: pki.clientCert, tlsKey: pki.clientKey });
    await call(c.loadModel.bind(c), model('iris-mtls'));
    assert.equal((await modelStatus(c, 'iris-mtls')).modelName, 'iris-mtls');
  });

  it('the simulated agent and dataflow engine connect over mutual TLS; a model becomes Available', async () => {
    const channel = clientChannel(
      parseClientTls({ tlsCa: pki.ca, tlsCert: pki.clientCert, tlsKey: pki.clientKey }),
    );
    const tls = { credentials: channel.credentials, channelOptions: channel.options };
    const agent = await startSimulatedAgent({
      schedulerHost: '127.0.0.1',
      agentPort: app.ports.agent,
      server: 'mlserver',
      replicaIdxs: [0],
      memoryBytes: 2 ** 30,
      capabilities: ['mlserver', 'sklearn'],
      overCommitPercentage: 10,
      loadMs: 10,
      ...tls,
      logger: silent,
    });
    const engine = startSimulatedDataflow({
      schedulerHost: '127.0.0.1',
      dataflowPort: app.ports.dataflow,
      name: 'dataflow-tls',
      ...tls,
      logger: silent,
    });
    try {
      const c = clientWith(app, { tlsCa: pki.ca, tlsCert: pki.clientCert, tlsKey: pki.clientKey });
      await call(c.loadModel.bind(c), model('iris-agent'));
      await waitFor(
        'iris-agent Available',
        async () =>
          (await modelStatus(c, 'iris-agent')).versions[0]?.state?.state ===
          ModelStatus_ModelState.ModelAvailable,
        10_000,
      );
      assert.ok(agent.loaded(0).some((m) => m.name === 'iris-agent'));
      await waitFor('the dataflow engine subscribed', () =>
        app.system.listEngines().includes('dataflow-tls'),
      );
    } finally {
      await Promise.all([agent.stop(), engine.stop()]);
    }
  });

  it('an agent without a client certificate never joins', async () => {
    const agent = await startSimulatedAgent({
      schedulerHost: '127.0.0.1',
      agentPort: app.ports.agent,
      server: 'no-cert',
      replicaIdxs: [0],
      memoryBytes: 2 ** 30,
      capabilities: ['sklearn'],
      overCommitPercentage: 10,
      loadMs: 10,
      credentials: clientChannel(parseClientTls({ tlsCa: pki.ca })).credentials,
      logger: silent,
    });
    try {
      const c = clientWith(app, { tlsCa: pki.ca, tlsCert: pki.clientCert, tlsKey: pki.clientKey });
      // Long enough for several subscribe attempts (back-off 100, 200, 400 ms).
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const servers = (await serverStatus(c)) as { serverName: string }[];
      assert.ok(!servers.some((s) => s.serverName === 'no-cert'));
    } finally {
      await agent.stop();
    }
  });
});

describe('rotated certificates are served without a restart', () => {
  /** The scheduler on copies of the PKI's files, read again every 100 ms, and what it logs. */
  async function rotating(files: { cert: string; key: string; ca?: string }) {
    const dir = mkdtempSync(join(pki.dir, 'live-'));
    const live = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key'), ca: join(dir, 'ca.crt') };
    const put = (f: { cert?: string; key?: string; ca?: string }) => {
      if (f.cert) copyFileSync(f.cert, live.cert);
      if (f.key) copyFileSync(f.key, live.key);
      if (f.ca) copyFileSync(f.ca, live.ca);
    };
    put(files);
    const logs: { msg: string; err?: string }[] = [];
    const log = pino(
      { level: 'info' },
      {
        write: (line: string) => logs.push(JSON.parse(line) as { msg: string }),
      },
    );
    const tls = parseServerTls({
      tlsCert: live.cert,
      tlsKey: live.key,
      ...(files.ca ? { tlsCa: live.ca } : {}),
    });
    const app = await startApp(testConfig({ ...(tls ? { tls } : {}), tlsReloadMs: 100 }), log);
    apps.push(app);
    return { app, put, logs };
  }

  it('a renewed certificate (another CA here) serves new connections; a half-written pair is not used', async () => {
    const { app, put, logs } = await rotating({ cert: pki.serverCert, key: pki.serverKey });
    await serverStatus(clientWith(app, { tlsCa: pki.ca }));
    await refused(serverStatus(clientWith(app, { tlsCa: pki.otherCa })));

    // Halfway through a rotation: the new certificate, the old key. Nothing changes.
    put({ cert: pki.otherServerCert });
    await waitFor(
      'the failed reload logged',
      () => logs.some((l) => l.msg.includes('cannot be used')),
      5_000,
    );
    assert.match(
      logs.find((l) => l.msg.includes('cannot be used'))?.err ?? '',
      /^--tls-key: .* is not the private key of the certificate in --tls-cert/,
    );
    await serverStatus(clientWith(app, { tlsCa: pki.ca }));

    put({ key: pki.otherServerKey });
    await waitFor(
      'the reload logged',
      () => logs.some((l) => l.msg === 'TLS certificate reloaded'),
      5_000,
    );
    await serverStatus(clientWith(app, { tlsCa: pki.otherCa }));
    await refused(serverStatus(clientWith(app, { tlsCa: pki.ca })));
    // The HTTPS port follows.
    const health = `https://127.0.0.1:${app.ports.http}/health`;
    assert.equal((await httpsGet(health, { ca: pki.otherCa })).status, 200);
    await assert.rejects(httpsGet(health, { ca: pki.ca }), /certificate/);
    // Logged once per failure, not every 100 ms.
    assert.equal(logs.filter((l) => l.msg.includes('cannot be used')).length, 1);
  });

  it('mutual TLS: a new client CA admits the clients it signed, and no longer those of the old one', async () => {
    const { app, put, logs } = await rotating({
      cert: pki.serverCert,
      key: pki.serverKey,
      ca: pki.ca,
    });
    const ours = { tlsCa: pki.ca, tlsCert: pki.clientCert, tlsKey: pki.clientKey };
    const theirs = { tlsCa: pki.ca, tlsCert: pki.otherClientCert, tlsKey: pki.otherClientKey };
    await serverStatus(clientWith(app, ours));
    await refused(serverStatus(clientWith(app, theirs)));
    put({ ca: pki.otherCa });
    await waitFor(
      'the reload logged',
      () => logs.some((l) => l.msg === 'TLS certificate reloaded'),
      5_000,
    );
    await serverStatus(clientWith(app, theirs));
    await refused(serverStatus(clientWith(app, ours)));
  });
});

describe('mlsched serve, agent and the client commands with the TLS flags', () => {
  it('model load, status -w, list, explain and plan work over mutual TLS; without the flags they fail in one line', async () => {
    const { ports } = await serve({
      args: ['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey, '--tls-ca', pki.ca],
    });
    const host = `127.0.0.1:${ports.scheduler}`;
    const cert = ['--tls-cert', pki.clientCert, '--tls-key', pki.clientKey];
    const tls = ['--tls-ca', pki.ca, ...cert, '--scheduler-host', host];
    spawnMlsched(
      ...['agent', '--agent-port', String(ports.agent), '--server', 'mlserver', '--load-ms', '10'],
      ...['--tls-ca', pki.ca, ...cert, '--tls-server-name', 'localhost'],
    );

    const load = await mlsched('model', 'load', '-f', 'models/sklearn-iris-gs.yaml', ...tls);
    assert.equal(load.code, 0, load.stderr);
    const watch = await mlsched('model', 'status', 'iris', '-w', 'Available', ...tls);
    assert.equal(watch.code, 0, watch.stderr);
    const list = await mlsched('model', 'list', ...tls);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stderr, '', 'no warning on stderr');
    const lines = list.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    assert.equal((JSON.parse(lines[0] ?? '') as { modelName: string }).modelName, 'iris');
    // mlsched's Placement service shares the port, its TLS and the client's channel.
    const explain = await mlsched('model', 'explain', 'iris', '-o', 'json', ...tls);
    assert.equal(explain.code, 0, explain.stderr);
    assert.equal((JSON.parse(explain.stdout) as { state: string }).state, 'ModelAvailable');
    const plan = await mlsched('plan', '-f', 'models/sklearn2.yaml', ...tls);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /^plan of 1 model\(s\), in order:\n {2}iris2 {2}placed on mlserver/);

    const plain = await mlsched('model', 'list', '--scheduler-host', host);
    assert.equal(plain.code, 4);
    assert.match(
      plain.stderr,
      /^mlsched: cannot reach the scheduler at 127\.0\.0\.1:\d+ .*--tls-ca.*\n$/,
    );
    const noCert = await mlsched('model', 'list', '--tls-ca', pki.ca, '--scheduler-host', host);
    assert.equal(noCert.code, 4);
    assert.match(noCert.stderr, /^mlsched: cannot reach .*\(TLS: .*certificate required\).*\n$/);
  });

  it('model list works over TLS with --tls-ca only', async () => {
    const app = await startTlsScheduler(
      parseServerTls({ tlsCert: pki.serverCert, tlsKey: pki.serverKey }),
    );
    const host = `127.0.0.1:${app.ports.scheduler}`;
    const run = await mlsched('model', 'list', '--tls-ca', pki.ca, '--scheduler-host', host);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    const untrusted = await mlsched(
      'model',
      'list',
      '--tls-ca',
      pki.otherCa,
      '--scheduler-host',
      host,
    );
    assert.equal(untrusted.code, 4);
    assert.match(untrusted.stderr, /^mlsched: cannot reach .*certificate.*\n$/);
  });

  it('start-up errors of bad TLS flags are one line naming the flag (exit code 2)', async () => {
    const notPem = join(pki.dir, 'not.pem');
    writeFileSync(notPem, 'hello\n');
    const badPem = join(pki.dir, 'bad.pem');
    writeFileSync(badPem, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const missing = join(pki.dir, 'missing.pem');
    const serveArgs = ['serve', '--store', 'memory', '--host', '127.0.0.1'];
    // Nothing listens on port 1: the flags are checked before the store is opened.
    const rediss = ['--store', 'rediss://127.0.0.1:1'];
    const cases: [string[], RegExp][] = [
      [['--tls-cert', pki.serverCert], /^--tls-cert: requires --tls-key/],
      [['--tls-key', pki.serverKey], /^--tls-key: requires --tls-cert/],
      [['--tls-ca', pki.ca], /^--tls-ca: requires --tls-cert and --tls-key/],
      [
        ['--tls-cert', missing, '--tls-key', pki.serverKey],
        /^--tls-cert: cannot read .*missing\.pem \(ENOENT/,
      ],
      [['--tls-cert', notPem, '--tls-key', pki.serverKey], /^--tls-cert: .*not a PEM certificate/],
      [['--tls-cert', badPem, '--tls-key', pki.serverKey], /^--tls-cert: .*not valid PEM/],
      [
        ['--tls-cert', pki.serverCert, '--tls-key', pki.serverCert],
        /^--tls-key: .*not a PEM private key/,
      ],
      [
        ['--tls-cert', pki.serverCert, '--tls-key', pki.clientKey],
        /^--tls-key: .*client\.key is not the private key of the certificate in --tls-cert/,
      ],
      [
        ['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey, '--tls-ca', notPem],
        /^--tls-ca: .*not a PEM certificate/,
      ],
      [['--redis-tls-ca', pki.ca], /^--redis-tls-ca: only a TLS store uses it/],
      [
        ['--store', 'redis://127.0.0.1:1', '--redis-tls-cert', pki.clientCert],
        /^--redis-tls-cert: only a TLS store uses it/,
      ],
      [
        [...rediss, '--redis-tls-cert', pki.clientCert],
        /^--redis-tls-cert: requires --redis-tls-key/,
      ],
      [
        [...rediss, '--redis-tls-key', pki.clientKey],
        /^--redis-tls-key: requires --redis-tls-cert/,
      ],
      [
        [...rediss, '--redis-tls-cert', notPem, '--redis-tls-key', pki.clientKey],
        /^--redis-tls-cert: .*not a PEM certificate/,
      ],
      [
        [...rediss, '--redis-tls-cert', pki.clientCert, '--redis-tls-key', pki.serverKey],
        /^--redis-tls-key: .*server\.key is not the private key of the certificate in --redis-tls-cert/,
      ],
      [['--store', 'redis://:secret@127.0.0.1:x'], /^--store: 'redis:\/\/:\*\*\*@127\.0\.0\.1:x'/],
    ];
    for (const [args, message] of cases) {
      const run = await mlsched(...serveArgs, ...ANY_PORTS, ...args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      const lines = run.stderr.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0]?.replace(/^mlsched: /, '') ?? '', message);
      assert.doesNotMatch(run.stderr, /secret/);
    }
    const clientCases: [string[], RegExp][] = [
      [['--tls-cert', pki.clientCert], /^--tls-cert: requires --tls-key/],
      [['--tls-ca', missing], /^--tls-ca: cannot read/],
      [['--tls-ca', pki.ca, '--tls-server-name', 'a b'], /^--tls-server-name: 'a b'/],
    ];
    for (const [args, message] of clientCases) {
      for (const cmd of [['model', 'list'], ['agent', '--server', 'x'], ['dataflow']]) {
        const run = await mlsched(...cmd, ...args);
        assert.equal(run.code, 2, `${cmd.join(' ')} ${args.join(' ')}: ${run.stderr}`);
        assert.match(run.stderr, /^mlsched: [^\n]*\n$/);
        assert.match(run.stderr.replace(/^mlsched: /, ''), message);
      }
    }
  });
});

describe('--store: Redis URLs', () => {
  it('accepts redis:// and rediss:// with a password, a user and a db', () => {
    for (const url of [
      'redis://127.0.0.1:6379',
      'redis://localhost',
      'redis://127.0.0.1:6379/2',
      'redis://:p%40ss%3Aw%2Frd@127.0.0.1:6379/0',
      'redis://user:secret@redis.example:6380/15',
      'rediss://127.0.0.1:6380',
      'rediss://:secret@redis.example:6380/1',
      'redis://[::1]:6379',
    ]) {
      assert.deepEqual(parseStore(url), { kind: 'redis', url } satisfies StoreSpec, url);
    }
  });

  it('refuses other forms, naming --store and never the password', () => {
    for (const [url, why] of [
      ['redis://:secret@127.0.0.1:port', /is not a URL/],
      ['redis://127.0.0.1:6379/db', /only a database number/],
      ['redis://127.0.0.1:6379/0?tls=true', /query/],
      ['rediss://:%zz@127.0.0.1', /percent-encoding/],
      ['redis:127.0.0.1', /is not a store/],
      ['http://127.0.0.1:6379', /is not a store/],
    ] as const) {
      assert.throws(
        () => parseStore(url),
        (e: Error) => {
          assert.match(e.message, /^--store: /);
          assert.match(e.message, why);
          assert.doesNotMatch(e.message, /secret/);
          return true;
        },
        url,
      );
    }
  });
});

describe('rediss:// (TLS to Redis) with AUTH', () => {
  let redis: RedisServer | undefined;
  /** A second one that requires client certificates its CA signed (`tls-auth-clients yes`). */
  let mtlsRedis: RedisServer | undefined;
  let tlsPort = 0;
  let mtlsPort = 0;
  let unsupported: string | undefined;
  const password = 's3cr:t@/x';

  before(async () => {
    const tlsArgs = (port: number, authClients: 'yes' | 'no') => [
      ...['--tls-port', String(port), '--tls-cert-file', pki.serverCert],
      ...['--tls-key-file', pki.serverKey, '--tls-ca-cert-file', pki.ca],
      ...['--tls-auth-clients', authClients],
    ];
    try {
      tlsPort = await freePort();
      redis = await startRedisServer({ password, args: tlsArgs(tlsPort, 'no') });
      mtlsPort = await freePort();
      mtlsRedis = await startRedisServer({ password, args: tlsArgs(mtlsPort, 'yes') });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      // A redis-server built without TLS does not know --tls-port; anything else is a failure.
      if (!/tls|Bad directive|not supported/i.test(message)) throw e;
      unsupported = message.split('\n')[0];
    }
  });

  after(async () => {
    await Promise.all([redis?.stop(), mtlsRedis?.stop()]);
  });

  const url = (auth: string, port = tlsPort) => `rediss://${auth}127.0.0.1:${port}/3`;
  const auth = `:${encodeURIComponent(password)}@`;
  const ca = () => readFileSync(pki.ca);
  const mtlsUrl = () => url(auth, mtlsPort);

  it('the scheduler keeps its state in Redis over TLS (--redis-tls-ca) and restores it', async (t) => {
    if (unsupported !== undefined) {
      t.skip(`redis-server has no TLS: ${unsupported}`);
      return;
    }
    const store: StoreSpec = { kind: 'redis', url: url(auth) };
    const prefix = `t:tls:${randomInt(2 ** 30)}`;
    const first = await startTlsScheduler(undefined, {
      store,
      redisTls: { ca: ca() },
      redisPrefix: prefix,
    });
    const c = client(first, credentials.createInsecure());
    await call(c.loadModel.bind(c), model('iris-rediss'));
    const health = (await (await fetch(`http://127.0.0.1:${first.ports.http}/health`)).json()) as {
      store: { ok: boolean; detail: string };
    };
    assert.equal(health.store.ok, true, health.store.detail);
    assert.match(health.store.detail, /rediss:\/\/:\*\*\*@127\.0\.0\.1/);
    await first.stop(500);

    const second = await startTlsScheduler(undefined, {
      store,
      redisTls: { ca: ca() },
      redisPrefix: prefix,
    });
    const c2 = client(second, credentials.createInsecure());
    assert.equal((await modelStatus(c2, 'iris-rediss')).modelName, 'iris-rediss');
  });

  it('refuses a Redis certificate it does not trust, and a wrong password', async (t) => {
    if (unsupported !== undefined) {
      t.skip(`redis-server has no TLS: ${unsupported}`);
      return;
    }
    const store = (u: string): Partial<Config> => ({ store: { kind: 'redis', url: u } });
    await assert.rejects(startTlsScheduler(undefined, store(url(auth))), /certificate/);
    await assert.rejects(
      startTlsScheduler(undefined, { ...store(url(':wrong@')), redisTls: { ca: ca() } }),
      /refused the connection: WRONGPASS/,
    );
  });

  it('mlsched serve --store rediss://... --redis-tls-ca FILE starts', async (t) => {
    if (unsupported !== undefined) {
      t.skip(`redis-server has no TLS: ${unsupported}`);
      return;
    }
    const { ports } = await serve({
      store: url(auth),
      args: ['--redis-tls-ca', pki.ca, '--redis-prefix', `t:tls:${randomInt(2 ** 30)}`],
    });
    assert.equal(ports.event, 'listening');
    const health = (await (await fetch(`http://127.0.0.1:${ports.http}/health`)).json()) as {
      store: { ok: boolean };
    };
    assert.equal(health.store.ok, true);
  });

  it('with --redis-tls-cert/--redis-tls-key its CA signed, the scheduler keeps its state in a Redis that requires client certificates and restores it', async (t) => {
    if (unsupported !== undefined) {
      t.skip(`redis-server has no TLS: ${unsupported}`);
      return;
    }
    const store: StoreSpec = { kind: 'redis', url: mtlsUrl() };
    const redisTls = parseRedisTls(
      { redisTlsCa: pki.ca, redisTlsCert: pki.clientCert, redisTlsKey: pki.clientKey },
      store.url,
    );
    assert.ok(redisTls?.ca && redisTls.cert && redisTls.key);
    const prefix = `t:tls:${randomInt(2 ** 30)}`;
    const first = await startTlsScheduler(undefined, { store, redisTls, redisPrefix: prefix });
    const c = client(first, credentials.createInsecure());
    await call(c.loadModel.bind(c), model('iris-rediss-mtls'));
    const health = (await (await fetch(`http://127.0.0.1:${first.ports.http}/health`)).json()) as {
      store: { ok: boolean; detail: string };
    };
    assert.equal(health.store.ok, true, health.store.detail);
    await first.stop(500);

    const second = await startTlsScheduler(undefined, { store, redisTls, redisPrefix: prefix });
    const c2 = client(second, credentials.createInsecure());
    assert.equal((await modelStatus(c2, 'iris-rediss-mtls')).modelName, 'iris-rediss-mtls');
  });

  it('a Redis that requires client certificates refuses the scheduler without one, or with one another CA signed, saying so', async (t) => {
    if (unsupported !== undefined) {
      t.skip(`redis-server has no TLS: ${unsupported}`);
      return;
    }
    const store: StoreSpec = { kind: 'redis', url: mtlsUrl() };
    const other = {
      cert: readFileSync(pki.otherClientCert),
      key: readFileSync(pki.otherClientKey),
    };
    // Redis drops the connection after the TLS handshake, with an alert or a bare reset (a race):
    // the error says which Redis and why, either way, and never the password.
    for (const redisTls of [{ ca: ca() }, { ca: ca(), ...other }]) {
      await assert.rejects(startTlsScheduler(undefined, { store, redisTls }), (e: Error) => {
        assert.match(
          e.message,
          /^redis rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+\/3 refused the connection after the TLS handshake \(.+\): it may require a client certificate signed by a CA it trusts/,
        );
        assert.doesNotMatch(e.message, /s3cr/);
        return true;
      });
    }
  });

  it(
    'mlsched serve --ha --store rediss://... --redis-tls-cert/--redis-tls-key leads on a Redis that requires client certificates; without them it stops in one line',
    { timeout: 30_000 },
    async (t) => {
      if (unsupported !== undefined) {
        t.skip(`redis-server has no TLS: ${unsupported}`);
        return;
      }
      const redisPrefix = ['--redis-prefix', `t:tls:${randomInt(2 ** 30)}`];
      // --ha: the lease has its own connection, which needs the client certificate too. (When
      // the lease cannot connect, serve() waits for a listening line that never comes: hence the
      // timeout.)
      const { ports } = await serve({
        store: mtlsUrl(),
        args: [
          ...['--ha', '--lease-ms', '1000', '--redis-tls-ca', pki.ca],
          ...['--redis-tls-cert', pki.clientCert, '--redis-tls-key', pki.clientKey, ...redisPrefix],
        ],
      });
      const health = await waitFor(
        'the scheduler leads',
        async () => {
          const res = await fetch(`http://127.0.0.1:${ports.http}/health`);
          return res.status === 200 && ((await res.json()) as { store: { ok: boolean } });
        },
        10_000,
      );
      assert.equal(health.store.ok, true);

      const run = await mlsched(
        ...['serve', '--host', '127.0.0.1', '--store', mtlsUrl(), '--redis-tls-ca', pki.ca],
        ...ANY_PORTS,
        ...redisPrefix,
      );
      assert.equal(run.code, 1, run.stderr);
      assert.match(
        run.stderr,
        /^mlsched: redis rediss:\/\/:\*\*\*@[^ ]+ refused the connection after the TLS handshake .*client certificate.*\n$/,
      );
      assert.doesNotMatch(run.stderr, /s3cr/);
    },
  );
});
