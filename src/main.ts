import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CliError, EXIT } from './cli/errors.js';
import { addClientCommands } from './cli/index.js';
import {
  DEFAULTS,
  parseLogLevel,
  parsePort,
  parseSentinelAccess,
  parseStore,
  STORE_FORMS,
  type Config,
} from './config/config.js';
import { parseAllowedHosts, parseHttpPort, readHttpToken } from './config/http.js';
import {
  parseRedisTls,
  parseServerTls,
  withClientTlsFlags,
  type ClientTlsFlags,
} from './config/tls.js';
import { parseMemoryQuantity } from './domain/quantity.js';
import { PACKAGE_DIR } from './package-dir.js';
import { redactPassword } from './store/redis/endpoint.js';
import { parseSchedulerAddresses } from './sim/targets.js';

// Only what parsing the command line needs is loaded up front: each command loads what it runs
// (the scheduler, a simulator, the gRPC client) when it runs, so `--version` and `--help` are quick.

const VERSION = (
  JSON.parse(readFileSync(new URL('package.json', PACKAGE_DIR), 'utf8')) as {
    version: string;
  }
).version;

// grpc-js sends the host dialled as the TLS server name even when it is an IP address, which Node
// flags once per process (DEP0123) although it connects and checks the IP against the
// certificate's IP addresses as it should. `--scheduler-host 127.0.0.1:9004 --tls-ca ...` is meant
// to work without that noise on stderr; every other warning is printed as before.
const printWarning = process.listeners('warning');
process.removeAllListeners('warning');
process.on('warning', (w: Error & { code?: string }) => {
  if (w.code !== 'DEP0123') for (const print of printWarning) print(w);
});

/** Commander option parser that turns our Error messages into commander's one-line errors. */
const opt =
  <T>(parse: (v: string) => T) =>
  (v: string): T => {
    try {
      return parse(v);
    } catch (e) {
      throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
    }
  };

const wholeNumber = (flag: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min)
    throw new Error(`${flag}: '${v}' must be a whole number ≥ ${min}`);
  return n;
};

/** The simulators' `--scheduler-host`, checked: a host, or a comma-separated HOST[:PORT] list. */
const schedulerHosts = (v: string): string => {
  parseSchedulerAddresses(v, 1);
  return v;
};
const SCHEDULER_HOSTS_HELP = (port: string) =>
  `scheduler host, or a comma-separated list of several (serve --ha), each HOST (with ${port}) or HOST:PORT: follows the leader`;

/** `parse()`, its Error a one-line usage error (exit code 2) naming the flag. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e), EXIT.usage);
  }
}

/** The simulators' `credentials` and `channelOptions` for the client TLS flags. */
async function simChannel(flags: ClientTlsFlags) {
  const { clientChannel, clientTls } = await import('./cli/client.js');
  const tls = clientTls(flags);
  if (tls === undefined) return {};
  const channel = clientChannel(tls);
  return { credentials: channel.credentials, channelOptions: channel.options };
}

/** Stops `stop` on SIGINT/SIGTERM, exiting within 5 s whatever happens. */
function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), 5000).unref();
    stop().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`shutdown after ${signal} failed: ${String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

// ── The flags, each declared once, in groups; a command lists the groups it takes ─────────────

/** A group of flags, declared on a command. */
type Flags = (cmd: Command) => Command;

/** Declares each group of flags on `cmd`, in order (the order `--help` lists them in). */
function withFlags(cmd: Command, ...groups: readonly Flags[]): Command {
  return groups.reduce((c, declare) => declare(c), cmd);
}

/** A TCP port flag (0: any free port): one `serve` listens on, or a simulator dials. */
const portOption = (flag: string, help: string, port: number) =>
  new Option(`${flag} <port>`, help).default(port).argParser(opt((v) => parsePort(flag, v)));

/** Every command that runs something. */
const logLevelFlag: Flags = (cmd) =>
  cmd.option('--log-level <level>', 'log level', opt(parseLogLevel), DEFAULTS.logLevel);

/** `serve`: the address it listens on, and its gRPC ports. */
const grpcPortFlags: Flags = (cmd) =>
  cmd
    .option('--host <host>', 'address to listen on', DEFAULTS.host)
    .addOption(portOption('--scheduler-port', 'Scheduler gRPC port', DEFAULTS.schedulerPort))
    .addOption(portOption('--agent-port', 'AgentService gRPC port', DEFAULTS.agentPort))
    .addOption(portOption('--dataflow-port', 'Chainer gRPC port', DEFAULTS.dataflowPort));

/** `serve`: the HTTP port (health, metrics, the dashboard) and who may use it. */
const httpPortFlags: Flags = (cmd) =>
  cmd
    .option(
      '--http-port <port>',
      'health, metrics and dashboard (off: no HTTP port)',
      opt(parseHttpPort),
      DEFAULTS.httpPort,
    )
    .option('--http-host <host>', 'address the HTTP port listens on (default: --host)')
    .option(
      '--http-allowed-hosts <list>',
      'Host headers the HTTP port answers besides IP addresses, localhost and this machine: comma-separated names, *.DOMAIN, or * for any',
      opt(parseAllowedHosts),
    )
    .option(
      '--http-token-file <file>',
      'the HTTP port requires this bearer token (or, with --tls-ca, a client certificate); read again when it changes',
    );

/** `serve`: the store, and how a Redis store is reached (TLS, sentinels, replicas). */
const storeFlags: Flags = (cmd) =>
  cmd
    .option('--store <store>', STORE_FORMS, DEFAULTS.store)
    .option(
      '--redis-prefix <prefix>',
      'key prefix in Redis (several schedulers can share one)',
      'mlsched',
    )
    .option(
      '--redis-tls-ca <file>',
      'rediss:// store: trust this CA (PEM) for the Redis certificate',
    )
    .option('--redis-tls-cert <file>', 'rediss:// store: client certificate (PEM) for Redis')
    .option('--redis-tls-key <file>', "rediss:// store: the client certificate's private key (PEM)")
    .option('--redis-sentinel-user <user>', "redis-sentinel:// store: the sentinels' ACL user")
    .option(
      '--redis-sentinel-password-file <file>',
      "redis-sentinel:// store: a file holding the sentinels' password",
    )
    .option(
      '--redis-sentinel-tls',
      'redis-sentinel:// store: the sentinels speak TLS (trusting --redis-tls-ca, with --redis-tls-cert)',
    )
    .option(
      '--redis-min-replicas <n>',
      'Redis store: a change is acknowledged only once this many replicas have it (WAIT); 0: once the primary has it',
      opt(wholeNumber('--redis-min-replicas', 0)),
      0,
    )
    .option(
      '--redis-wait-ms <ms>',
      '--redis-min-replicas: how long a write waits for the replicas before it fails and is retried',
      opt(wholeNumber('--redis-wait-ms', 1)),
      1000,
    );

/** `serve`: TLS (and mutual TLS) on every port. */
const serverTlsFlags: Flags = (cmd) =>
  cmd
    .option(
      '--tls-cert <file>',
      'serve TLS on every gRPC port and HTTPS on the HTTP port: certificate chain (PEM)',
    )
    .option('--tls-key <file>', "serve TLS: the certificate's private key (PEM)")
    .option(
      '--tls-ca <file>',
      'mutual TLS: require client certificates signed by this CA (PEM); on the HTTP port, or the token of --http-token-file',
    );

/** `serve`: what a restart waits for. */
const reconnectGraceFlag: Flags = (cmd) =>
  cmd.option(
    '--reconnect-grace-seconds <s>',
    'after a restart, how long restored replicas wait for their agents before their models move',
    opt(wholeNumber('--reconnect-grace-seconds', 0)),
    10,
  );

/** `serve`: high availability. */
const haFlags: Flags = (cmd) =>
  cmd
    .option(
      '--ha',
      'high availability: several schedulers on one redis:// store, one leads, the others stand by',
    )
    .option(
      '--lease-ms <ms>',
      '--ha: leader lease period; a standby takes over within about this after the leader dies',
      opt(wholeNumber('--lease-ms', 300)),
      1000,
    )
    .option(
      '--advertise <host:port>',
      '--ha: the scheduler address standbys name to clients (default: host and scheduler port)',
    );

/**
 * A simulator: the scheduler it dials, `--scheduler-host` and the port `flag` (`--agent-port`,
 * `--dataflow-port`). TLS to the scheduler is {@link withClientTlsFlags}.
 */
const schedulerFlags =
  (flag: '--agent-port' | '--dataflow-port', help: string, port: number): Flags =>
  (cmd) =>
    cmd
      .option(
        '--scheduler-host <hosts>',
        SCHEDULER_HOSTS_HELP(flag),
        opt(schedulerHosts),
        '127.0.0.1',
      )
      .addOption(portOption(flag, help, port));

/** `agent`: the simulated server, its replicas and how they behave. */
const agentFlags: Flags = (cmd) =>
  cmd
    .requiredOption('--server <name>', 'server name')
    .option(
      '--replicas <n>',
      'replicas 0..N-1 in this process',
      opt(wholeNumber('--replicas', 1)),
      1,
    )
    .option(
      '--replica-idx <n>',
      'run only this replica index',
      opt(wholeNumber('--replica-idx', 0)),
    )
    .option(
      '--memory <quantity>',
      'memory per replica (Kubernetes quantity)',
      opt(parseMemoryQuantity),
      parseMemoryQuantity('1Gi'),
    )
    .option(
      '--capabilities <list>',
      'comma-separated capabilities',
      'mlserver,sklearn,xgboost,lightgbm,mlflow,python',
    )
    .option(
      '--overcommit <percent>',
      'over-commit percentage',
      opt(wholeNumber('--overcommit', 0)),
      10,
    )
    .option('--load-ms <ms>', 'simulated load time', opt(wholeNumber('--load-ms', 0)), 50)
    .option(
      '--fail-uri <regex>',
      'loads of models whose storage URI matches fail',
      opt((v) => new RegExp(v)),
    );

/** `dataflow`: the simulated engine and how it behaves. */
const dataflowFlags: Flags = (cmd) =>
  cmd.option('--name <name>', 'engine name', 'dataflow-0').option(
    '--fail-pipeline <regex>',
    'pipelines whose name matches report a failure',
    opt((v) => new RegExp(v)),
  );

// ── What each command runs ────────────────────────────────────────────────────────────────────

/** `serve`'s flags, as parsed. */
interface ServeFlags {
  ha?: boolean;
  leaseMs: number;
  advertise?: string;
  host: string;
  schedulerPort: number;
  agentPort: number;
  dataflowPort: number;
  httpPort: number | 'off';
  httpHost?: string;
  httpAllowedHosts?: readonly string[];
  httpTokenFile?: string;
  store: string;
  redisPrefix: string;
  redisTlsCa?: string;
  redisTlsCert?: string;
  redisTlsKey?: string;
  redisSentinelUser?: string;
  redisSentinelPasswordFile?: string;
  redisSentinelTls?: boolean;
  redisMinReplicas: number;
  redisWaitMs: number;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  reconnectGraceSeconds: number;
  logLevel: string;
}

/** Runs the scheduler until SIGINT/SIGTERM, having printed the ports it listens on. */
async function serve(o: ServeFlags): Promise<void> {
  const [{ startApp }, { createLogger }] = await Promise.all([
    import('./app.js'),
    import('./observability/logger.js'),
  ]);
  const log = createLogger(o.logLevel);
  const config = serveConfig(o);
  const app = await startApp(config, log);
  process.stdout.write(`${JSON.stringify({ event: 'listening', ...app.ports })}\n`);
  const { tls } = config;
  log.info(
    {
      ports: app.ports,
      store: redactPassword(o.store),
      tls: tls ? (tls.clientCa ? 'mutual' : 'server') : 'off',
      version: VERSION,
    },
    'scheduler started',
  );
  onSignals(async () => {
    log.info('shutting down');
    await app.stop();
    log.info('stopped');
  });
}

/**
 * The scheduler's configuration from `serve`'s flags, the files they name read and checked.
 * @throws CliError (a usage error) naming the flag.
 */
function serveConfig(o: ServeFlags): Config {
  const {
    reconnectGraceSeconds,
    redisTlsCa,
    redisTlsCert,
    redisTlsKey,
    redisSentinelUser,
    redisSentinelPasswordFile,
    redisSentinelTls,
    redisMinReplicas,
    redisWaitMs,
    tlsCert,
    tlsKey,
    tlsCa,
    ha,
    leaseMs,
    advertise,
    httpPort,
    ...rest
  } = o;
  const store = usage(() => parseStore(o.store));
  if (ha && store.kind !== 'redis') {
    throw new CliError('--ha: needs a redis:// store (--store redis://HOST:PORT)', EXIT.usage);
  }
  if (advertise !== undefined && !/^[^\s]+:\d+$/.test(advertise)) {
    throw new CliError(`--advertise: '${advertise}' must be HOST:PORT`, EXIT.usage);
  }
  const tls = usage(() => parseServerTls({ tlsCert, tlsKey, tlsCa }));
  const { httpTokenFile } = o;
  if (httpTokenFile !== undefined) usage(() => readHttpToken(httpTokenFile));
  const redisTls = usage(() =>
    parseRedisTls(
      { redisTlsCa, redisTlsCert, redisTlsKey },
      store.kind === 'redis' ? store.url : undefined,
      redisSentinelTls,
    ),
  );
  const redisSentinel = usage(() =>
    parseSentinelAccess({ redisSentinelUser, redisSentinelPasswordFile, redisSentinelTls }, store),
  );
  if (redisMinReplicas > 0 && store.kind !== 'redis') {
    throw new CliError(
      '--redis-min-replicas: needs a Redis store (--store redis://...)',
      EXIT.usage,
    );
  }
  return Object.freeze({
    ...rest,
    httpPort: httpPort === 'off' ? null : httpPort,
    store,
    ...(tls ? { tls } : {}),
    ...(redisTls ? { redisTls } : {}),
    ...(redisSentinel ? { redisSentinel } : {}),
    ...(redisMinReplicas > 0
      ? { redisReplication: { replicas: redisMinReplicas, timeoutMs: redisWaitMs } }
      : {}),
    ...(ha ? { ha: { leaseMs, ...(advertise ? { advertise } : {}) } } : {}),
    reconnectGraceMs: reconnectGraceSeconds * 1000,
    version: VERSION,
  });
}

/** The flags every simulator takes, as parsed. */
interface SimulatorFlags extends ClientTlsFlags {
  schedulerHost: string;
  logLevel: string;
}

/** Runs simulated agents (one per replica) until SIGINT/SIGTERM. */
async function runAgent(
  o: SimulatorFlags & {
    agentPort: number;
    server: string;
    replicas: number;
    replicaIdx?: number;
    memory: number;
    capabilities: string;
    overcommit: number;
    loadMs: number;
    failUri?: RegExp;
  },
): Promise<void> {
  const [{ startSimulatedAgent }, { createLogger }, channel] = await Promise.all([
    import('./sim/agent.js'),
    import('./observability/logger.js'),
    simChannel(o),
  ]);
  const log = createLogger(o.logLevel, 'mlsched-agent');
  const agent = await startSimulatedAgent({
    schedulerHost: o.schedulerHost,
    agentPort: o.agentPort,
    server: o.server,
    replicaIdxs:
      o.replicaIdx !== undefined ? [o.replicaIdx] : Array.from({ length: o.replicas }, (_, i) => i),
    memoryBytes: o.memory,
    capabilities: o.capabilities
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    overCommitPercentage: o.overcommit,
    loadMs: o.loadMs,
    ...(o.failUri ? { failUri: o.failUri } : {}),
    ...channel,
    logger: log,
  });
  onSignals(() => agent.stop());
}

/** Runs a simulated dataflow engine until SIGINT/SIGTERM. */
async function runDataflow(
  o: SimulatorFlags & { dataflowPort: number; name: string; failPipeline?: RegExp },
): Promise<void> {
  const [{ startSimulatedDataflow }, { createLogger }, channel] = await Promise.all([
    import('./sim/dataflow.js'),
    import('./observability/logger.js'),
    simChannel(o),
  ]);
  const engine = startSimulatedDataflow({
    schedulerHost: o.schedulerHost,
    dataflowPort: o.dataflowPort,
    name: o.name,
    ...(o.failPipeline ? { failPipeline: o.failPipeline } : {}),
    ...channel,
    logger: createLogger(o.logLevel, 'mlsched-dataflow'),
  });
  onSignals(() => engine.stop());
}

/** Writes every machine's diagram into `o.out`. */
async function writeStatecharts(o: { out: string }): Promise<void> {
  const { writeStatecharts } = await import('../statecharts/generate.js');
  await writeStatecharts(o.out);
}

// ── The program: its commands ─────────────────────────────────────────────────────────────────

const program = new Command('mlsched')
  .description('An actor-model scheduler for the Seldon Core v2 API')
  .version(VERSION)
  // A usage error is one line, then where the options are (not the whole help).
  .showHelpAfterError("(add --help for the command's options)")
  // Usage errors throw (commander has printed them) so that they exit with EXIT.usage.
  .exitOverride();

withFlags(
  program.command('serve').description('run the scheduler'),
  grpcPortFlags,
  httpPortFlags,
  storeFlags,
  serverTlsFlags,
  reconnectGraceFlag,
  haFlags,
  logLevelFlag,
).action(serve);

withFlags(
  program
    .command('agent')
    .description('run a simulated model-server agent (one or more replicas of one server)'),
  schedulerFlags('--agent-port', "scheduler's agent port", DEFAULTS.agentPort),
  agentFlags,
  withClientTlsFlags,
  logLevelFlag,
).action(runAgent);

withFlags(
  program
    .command('dataflow')
    .description('run a simulated dataflow engine (speaks the Chainer protocol)'),
  schedulerFlags('--dataflow-port', "scheduler's dataflow (Chainer) port", DEFAULTS.dataflowPort),
  dataflowFlags,
  withClientTlsFlags,
  logLevelFlag,
).action(runDataflow);

program
  .command('statecharts')
  .description("write every machine's diagram (Mermaid .mmd, Graphviz .svg and .json)")
  .option('--out <dir>', 'output directory', 'statecharts')
  .action(writeStatecharts);

await addClientCommands(program, process.argv.slice(2));

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof CommanderError) {
    // Help and --version end here with 0; commander has printed any usage error.
    process.exit(e.exitCode === 0 ? 0 : EXIT.usage);
  }
  process.stderr.write(`mlsched: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(e instanceof CliError ? e.code : EXIT.failed);
});
