/**
 * Redis as production runs it, started by the tests on free loopback ports: a primary with replicas
 * under three `redis-sentinel` processes, and a Redis Cluster of three primaries with a replica
 * each (built with `redis-cli --cluster create`). Each server is a {@link RedisServer}, so a test
 * can SIGKILL or restart exactly the one it means; `stop()` ends every process it started.
 *
 * With a {@link Pki} every process also speaks TLS, requiring client certificates, and the URL names
 * only TLS ports: replication, the sentinels' links and the cluster bus are TLS too. The plaintext
 * ports stay for the helpers' own checks (`ask`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from './harness.js';
import type { Pki } from './pki.js';
import { freePort } from './processes.js';
import { startRedisServer, type RedisServer } from './redis.js';

const MASTER = 'mymaster';

/**
 * The TLS directives (as `--name value` flags, or config-file lines) of a server or sentinel
 * listening for TLS on `port`: its certificate, the CA clients' certificates must chain to, and
 * the client certificate it presents itself when it replicates or watches another.
 */
function tlsDirectives(pki: Pki, port: number): [string, string][] {
  return [
    ['tls-port', String(port)],
    ['tls-cert-file', pki.serverCert],
    ['tls-key-file', pki.serverKey],
    ['tls-client-cert-file', pki.clientCert],
    ['tls-client-key-file', pki.clientKey],
    ['tls-ca-cert-file', pki.ca],
    ['tls-auth-clients', 'yes'],
    ['tls-replication', 'yes'],
  ];
}

const asFlags = (directives: [string, string][]) =>
  directives.flatMap(([name, value]) => [`--${name}`, value]);

/** Polls Redis (a connection per check) ten times a second, for up to 20 s. */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  await waitFor(what, check, timeoutMs, 100);
}

/** One command on a short-lived connection to 127.0.0.1:`port`. */
export async function ask(port: number, ...command: (string | number)[]): Promise<unknown> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const [name = '', ...args] = command;
    return await client.call(String(name), ...args);
  } finally {
    client.disconnect();
  }
}

/** The `field:value` lines of an INFO reply as a map. */
function infoOf(text: unknown): Map<string, string> {
  return new Map(
    String(text)
      .split(/\r?\n/)
      .map((line) => line.split(':'))
      .filter((kv): kv is [string, string] => kv.length === 2),
  );
}

/** A primary, its replicas and the sentinels that watch them. */
export interface SentinelGroup {
  /** `redis-sentinel://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/mymaster` (`rediss-` with TLS). */
  readonly url: string;
  /** With TLS: the `rediss-sentinel://` URL naming the sentinels' plaintext ports instead. */
  readonly plainSentinelsUrl: string;
  readonly servers: readonly RedisServer[];
  /** The server the sentinels name as the primary now. */
  primary(): Promise<RedisServer>;
  /** Waits until the sentinels name a running primary with `replicas` replicas in sync. */
  settled(replicas: number): Promise<RedisServer>;
  stop(): Promise<void>;
}

/**
 * Starts a primary, `replicas` replicas of it and three sentinels (quorum 2, a server is down after
 * `downAfterMs`), and resolves once the sentinels know each other and every replica. With `tls`,
 * every link is TLS and the URL is `rediss-sentinel://` naming the sentinels' TLS ports.
 */
export async function startSentinelGroup(
  o: { replicas?: number; downAfterMs?: number; tls?: Pki } = {},
): Promise<SentinelGroup> {
  const replicas = o.replicas ?? 2;
  const { tls } = o;
  /** The port the others reach each process on: its TLS port with `tls`, else its own. */
  const reachedOn = new Map<RedisServer, number>();
  const startServer = async (args: string[] = []) => {
    const tlsPort = tls && (await freePort());
    const server = await startRedisServer({
      args: [...args, ...(tls && tlsPort ? asFlags(tlsDirectives(tls, tlsPort)) : [])],
    });
    reachedOn.set(server, tlsPort ?? server.port);
    return server;
  };
  const primary = await startServer();
  const primaryPort = reachedOn.get(primary) ?? primary.port;
  const servers = [primary];
  for (let k = 0; k < replicas; k++) {
    servers.push(await startServer(['--replicaof', '127.0.0.1', String(primaryPort)]));
  }
  const dir = await mkdtemp(join(tmpdir(), 'mlsched-sentinel-'));
  const sentinels: { port: number; reachedOn: number; proc: ChildProcess }[] = [];
  for (let k = 0; k < 3; k++) {
    const port = await freePort();
    const tlsPort = tls && (await freePort());
    const file = join(dir, `sentinel-${port}.conf`);
    await writeFile(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        ...(tls && tlsPort ? tlsDirectives(tls, tlsPort).map((d) => d.join(' ')) : []),
        `sentinel monitor ${MASTER} 127.0.0.1 ${primaryPort} 2`,
        `sentinel down-after-milliseconds ${MASTER} ${o.downAfterMs ?? 1000}`,
        `sentinel failover-timeout ${MASTER} 10000`,
        `sentinel parallel-syncs ${MASTER} 2`,
        '',
      ].join('\n'),
    );
    sentinels.push({
      port,
      reachedOn: tlsPort ?? port,
      proc: spawnTracked('redis-sentinel', [file]),
    });
  }
  const urlOf = (port: (s: (typeof sentinels)[number]) => number) =>
    `${tls ? 'rediss' : 'redis'}-sentinel://${sentinels.map((s) => `127.0.0.1:${port(s)}`).join(',')}/${MASTER}`;
  const byPort = (port: number) => servers.find((s) => reachedOn.get(s) === port);
  const named = async (): Promise<RedisServer | undefined> => {
    const [, port] = (await ask(
      sentinels[0]?.port ?? 0,
      'SENTINEL',
      'get-master-addr-by-name',
      MASTER,
    )) as [string, string];
    return byPort(Number(port));
  };
  const group: SentinelGroup = {
    url: urlOf((s) => s.reachedOn),
    plainSentinelsUrl: urlOf((s) => s.port),
    servers,
    primary: async () => {
      const p = await named();
      if (p === undefined) throw new Error('the sentinels name no server of this group');
      return p;
    },
    settled: async (n) => {
      let found: RedisServer | undefined;
      await until(`a primary with ${n} replicas, known to every sentinel`, async () => {
        const p = await named();
        if (!p?.running) return false;
        // Replicas in sync (`state=online`), not merely connected and waiting for their first sync.
        const text = String(await ask(p.port, 'INFO', 'replication'));
        if (infoOf(text).get('role') !== 'master') return false;
        if ((text.match(/state=online/g) ?? []).length < n) return false;
        for (const s of sentinels) {
          const [, port] = (await ask(s.port, 'SENTINEL', 'get-master-addr-by-name', MASTER)) as [
            string,
            string,
          ];
          if (Number(port) !== reachedOn.get(p)) return false;
          const known = (await ask(s.port, 'SENTINEL', 'sentinels', MASTER)) as unknown[];
          if (known.length < 2) return false;
        }
        found = p;
        return true;
      });
      if (found === undefined) throw new Error('no primary');
      return found;
    },
    stop: async () => {
      await Promise.all(sentinels.map((s) => stopProcess(s.proc)));
      await Promise.all(servers.map((s) => s.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await group.settled(replicas);
  } catch (e) {
    await group.stop();
    throw e;
  }
  return group;
}

/** A Redis Cluster of three primaries with a replica each. */
export interface RedisCluster {
  /** `redis-cluster://127.0.0.1:P1,...` naming every node. */
  readonly url: string;
  readonly servers: readonly RedisServer[];
  /** The server that is the primary of `key`'s hash slot now. */
  primaryOf(key: string): Promise<RedisServer>;
  /** Waits until every running node says the cluster is ok. */
  healthy(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts six cluster-enabled servers (a node is down after `nodeTimeoutMs`) and builds the cluster.
 * With `tls`, the nodes announce their TLS ports to TLS clients, the bus is TLS too, and the URL is
 * `rediss-cluster://` naming the TLS ports.
 */
export async function startRedisCluster(
  o: { nodeTimeoutMs?: number; tls?: Pki } = {},
): Promise<RedisCluster> {
  const { tls } = o;
  const dir = await mkdtemp(join(tmpdir(), 'mlsched-cluster-'));
  const servers: RedisServer[] = [];
  const tlsPorts: number[] = [];
  const cluster: RedisCluster = {
    url: '',
    servers,
    primaryOf: async (key) => {
      const running = servers.filter((s) => s.running);
      const slot = Number(await ask(running[0]?.port ?? 0, 'CLUSTER', 'KEYSLOT', key));
      // Each running primary says which slots it serves (CLUSTER SLOTS: from, to, [host, port]).
      for (const s of running) {
        const info = infoOf(await ask(s.port, 'INFO', 'replication'));
        if (info.get('role') !== 'master') continue;
        const slots = (await ask(s.port, 'CLUSTER', 'SLOTS')) as [
          number,
          number,
          [string, number],
        ][];
        if (slots.some(([from, to, [, port]]) => slot >= from && slot <= to && port === s.port)) {
          return s;
        }
      }
      throw new Error(`no running primary serves the slot of ${key}`);
    },
    healthy: () =>
      until('the cluster to be ok on every running node', async () => {
        for (const s of servers.filter((x) => x.running)) {
          const info = infoOf(await ask(s.port, 'CLUSTER', 'INFO'));
          if (info.get('cluster_state') !== 'ok') return false;
        }
        return true;
      }),
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    for (let k = 0; k < 6; k++) {
      const port = await freeClusterPort();
      const tlsPort = tls && (await freePort());
      if (tlsPort) tlsPorts.push(tlsPort);
      servers.push(
        await startRedisServer({
          port,
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${port}.conf`),
            '--cluster-node-timeout',
            String(o.nodeTimeoutMs ?? 1000),
            '--dir',
            dir,
            ...(tls && tlsPort
              ? [...asFlags(tlsDirectives(tls, tlsPort)), '--tls-cluster', 'yes']
              : []),
          ],
        }),
      );
    }
    const create = spawnTracked('redis-cli', [
      '--cluster',
      'create',
      ...servers.map((s) => `127.0.0.1:${s.port}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ]);
    const [code] = (await once(create, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`redis-cli --cluster create exited ${code}`);
    await cluster.healthy();
    await until('every replica of the cluster in sync with its primary', async () => {
      const roles = await Promise.all(
        servers.map(async (s) => infoOf(await ask(s.port, 'INFO', 'replication'))),
      );
      return roles.every((info) =>
        info.get('role') === 'master'
          ? Number(info.get('connected_slaves')) >= 1
          : info.get('master_link_status') === 'up',
      );
    });
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return {
    ...cluster,
    url: tls
      ? `rediss-cluster://${tlsPorts.map((port) => `127.0.0.1:${port}`).join(',')}`
      : `redis-cluster://${servers.map((s) => `127.0.0.1:${s.port}`).join(',')}`,
  };
}

/** A free port whose cluster bus port (+10000) is free too. */
async function freeClusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10_000 > 65_535) continue;
    const bus = createServer();
    const free = await new Promise<boolean>((resolve) => {
      bus.once('error', () => {
        resolve(false);
      });
      bus.listen(port + 10_000, '127.0.0.1', () => {
        resolve(true);
      });
    });
    if (free) {
      bus.close();
      await once(bus, 'close');
      return port;
    }
  }
}

const tracked = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of tracked) child.kill('SIGKILL');
});

function spawnTracked(command: string, args: readonly string[]): ChildProcess {
  const proc = spawn(command, args, { stdio: 'ignore' });
  tracked.add(proc);
  proc.once('exit', () => tracked.delete(proc));
  proc.once('error', () => tracked.delete(proc));
  return proc;
}

async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill('SIGTERM');
  await exited;
}
