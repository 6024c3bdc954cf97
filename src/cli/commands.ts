/**
 * The client commands of `mlsched`: `model`, `pipeline`, `experiment` and `server`,
 * reading Seldon manifests and talking to the scheduler over its gRPC API like any other client.
 * Output is JSON on stdout, one object per line; errors are one line on stderr with the exit codes
 * of {@link EXIT}; waiting (`-w`) reports progress on stderr. Given several scheduler addresses
 * (`serve --ha`), every call goes to the one that leads, found again when it changes.
 */
import type { Command } from 'commander';
import {
  ExperimentStatusResponse,
  ModelStatus_ModelState,
  ModelStatusResponse,
  PipelineVersionState_PipelineStatus,
  PipelineStatusResponse,
  ServerStatusResponse,
  modelStatus_ModelStateToJSON,
  pipelineVersionState_PipelineStatusToJSON,
  type SchedulerClient,
} from '../gen/mlops/scheduler/scheduler.js';
import {
  ModelExplanation,
  PlanResponse,
  type PlanRequest,
} from '../gen/mlsched/placement/v1/placement.js';
import {
  Schedulers,
  clientTls,
  collect,
  parseSchedulerHosts,
  placementOf,
  unary,
} from './client.js';
import { withClientTlsFlags } from '../config/tls.js';
import { CliError, EXIT } from './errors.js';
import { formatExplanation, formatPlan } from './explain-format.js';
import type { Manifest } from './manifests.js';
import { withEmptyCollections } from './proto-json.js';

const SUBSCRIBER = 'mlsched-cli';
const POLL_MS = 200;

/** One line of JSON on stdout. */
const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};

/** `-o`: text for people (the default of `explain` and `plan`) or one JSON object. */
function outputOf(v: string): 'text' | 'json' {
  if (v === 'text' || v === 'json') return v;
  throw new CliError(`-o: '${v}' must be text or json`, EXIT.usage);
}

/** The reply as text lines, or as one line of proto3 JSON. */
const show = (output: 'text' | 'json', lines: () => string[], json: () => unknown): void => {
  if (output === 'json') print(json());
  else process.stdout.write(`${lines().join('\n')}\n`);
};

/** `30s`, `2m`, `500ms`, `1h` or a number of seconds, in ms. */
function parseDuration(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m)
    throw new CliError(`${flag}: '${v}' must be a duration like 30s, 2m or 500ms`, EXIT.usage);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'] ?? 1000;
  return Number(m[1]) * unit;
}

interface Resource<S> {
  /** The command and the kind of manifest it reads. */
  noun: 'model' | 'pipeline' | 'experiment';
  kind: 'Model' | 'Pipeline' | 'Experiment';
  /** `load`/`unload`, or `start`/`stop` for experiments. */
  verbs: readonly [string, string];
  /** The states `-w` accepts, as the status JSON names them. */
  states: readonly string[];
  send(c: SchedulerClient, m: Manifest, address: string): Promise<unknown>;
  remove(c: SchedulerClient, name: string, address: string): Promise<unknown>;
  /** The named resource's status, or every one's. */
  status(c: SchedulerClient, name: string | undefined, address: string): Promise<S[]>;
  /** The status as proto3 JSON with default values (./proto-json.ts). */
  json(s: S): unknown;
  /** The state `-w` compares: the latest version's, or `active`/`inactive`. */
  stateOf(s: S): string;
}

/** The names of a proto enum's values (not ts-proto's UNRECOGNIZED, -1). */
const enumNames = (values: object, toJson: (n: number) => string): string[] =>
  Object.values(values)
    .filter((v): v is number => typeof v === 'number' && v >= 0)
    .map(toJson);

const MODEL: Resource<ModelStatusResponse> = {
  noun: 'model',
  kind: 'Model',
  verbs: ['load', 'unload'],
  states: enumNames(ModelStatus_ModelState, modelStatus_ModelStateToJSON),
  send: (c, m, a) =>
    m.kind === 'Model'
      ? unary(a, (md, o, cb) => c.loadModel(m.request, md, o, cb))
      : Promise.resolve(),
  remove: (c, name, a) => unary(a, (md, o, cb) => c.unloadModel({ model: { name } }, md, o, cb)),
  status: (c, name, a) =>
    collect(a, (o) =>
      c.modelStatus(
        {
          subscriberName: SUBSCRIBER,
          ...(name === undefined ? {} : { model: { name } }),
          allVersions: false,
        },
        o,
      ),
    ),
  json: (s) => withEmptyCollections(s, ModelStatusResponse.toJSON(s)),
  stateOf: (s) =>
    modelStatus_ModelStateToJSON(
      s.versions.at(-1)?.state?.state ?? ModelStatus_ModelState.ModelStateUnknown,
    ),
};

const PIPELINE: Resource<PipelineStatusResponse> = {
  noun: 'pipeline',
  kind: 'Pipeline',
  verbs: ['load', 'unload'],
  states: enumNames(PipelineVersionState_PipelineStatus, pipelineVersionState_PipelineStatusToJSON),
  send: (c, m, a) =>
    m.kind === 'Pipeline'
      ? unary(a, (md, o, cb) => c.loadPipeline(m.request, md, o, cb))
      : Promise.resolve(),
  remove: (c, name, a) => unary(a, (md, o, cb) => c.unloadPipeline({ name }, md, o, cb)),
  status: (c, name, a) =>
    collect(a, (o) =>
      c.pipelineStatus(
        { subscriberName: SUBSCRIBER, ...(name === undefined ? {} : { name }), allVersions: false },
        o,
      ),
    ),
  json: (s) => withEmptyCollections(s, PipelineStatusResponse.toJSON(s)),
  stateOf: (s) =>
    pipelineVersionState_PipelineStatusToJSON(
      s.versions.at(-1)?.state?.status ?? PipelineVersionState_PipelineStatus.PipelineStatusUnknown,
    ),
};

const EXPERIMENT: Resource<ExperimentStatusResponse> = {
  noun: 'experiment',
  kind: 'Experiment',
  verbs: ['start', 'stop'],
  states: ['active', 'inactive'],
  send: (c, m, a) =>
    m.kind === 'Experiment'
      ? unary(a, (md, o, cb) => c.startExperiment(m.request, md, o, cb))
      : Promise.resolve(),
  remove: (c, name, a) => unary(a, (md, o, cb) => c.stopExperiment({ name }, md, o, cb)),
  status: (c, name, a) =>
    collect(a, (o) =>
      c.experimentStatus(
        { subscriberName: SUBSCRIBER, ...(name === undefined ? {} : { name }) },
        o,
      ),
    ),
  json: (s) => withEmptyCollections(s, ExperimentStatusResponse.toJSON(s)),
  stateOf: (s) => (s.active ? 'active' : 'inactive'),
};

/** The `-w` value as the status names it: `Available` and `modelavailable` mean `ModelAvailable`. */
function wantedState(r: Resource<unknown>, v: string): string {
  const key = v.toLowerCase();
  const prefix = r.kind === 'Experiment' ? '' : r.kind.toLowerCase();
  const found = r.states.find((s) => s.toLowerCase() === key || s.toLowerCase() === prefix + key);
  if (!found) {
    throw new CliError(
      `-w: '${v}' is not ${r.noun === 'experiment' ? 'an' : 'a'} ${r.noun} state; one of ${r.states.join(', ')}`,
      EXIT.usage,
    );
  }
  return found;
}

/** Every document of `-f FILE` (stdin for `-`), and how errors name the file. */
async function documentsOf(file: string): Promise<{ source: string; all: Manifest[] }> {
  // Loaded only to read a manifest: the YAML parser would be most of a listing's start-up.
  const { readManifestsOf, sourceName } = await import('./manifests.js');
  try {
    return { source: sourceName(file), all: await readManifestsOf(file) };
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e), EXIT.usage);
  }
}

/**
 * The documents of `-f FILE` (stdin for `-`), each of kind `kind` (any other kind is an error
 * naming it).
 */
async function manifestsOf(kind: Manifest['kind'], file: string): Promise<Manifest[]> {
  const { source, all } = await documentsOf(file);
  all.forEach((m, i) => {
    if (m.kind !== kind) {
      throw new CliError(
        `${source}: document ${i + 1} (${m.kind} ${m.name}): not a ${kind}; use \`mlsched ${m.kind.toLowerCase()} ...\``,
        EXIT.usage,
      );
    }
  });
  if (all.length === 0) throw new CliError(`${source}: no ${kind} document`, EXIT.usage);
  return all;
}

interface Global {
  schedulerHost: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsServerName?: string;
}

/** A client command: it takes `--scheduler-host` and the client TLS flags. */
const client = (parent: Command, name: string): Command => withClientFlags(parent.command(name));

function withClientFlags(cmd: Command): Command {
  return withClientTlsFlags(
    cmd.option(
      '--scheduler-host <host:port,...>',
      'the scheduler, or comma-separated addresses of several (serve --ha): the leader gets the calls',
      '127.0.0.1:9004',
    ),
  );
}

/** Runs `f` with the schedulers the flags name, closing their clients after. */
async function withSchedulers<T>(o: Global, f: (s: Schedulers) => Promise<T>): Promise<T> {
  const schedulers = new Schedulers(parseSchedulerHosts(o.schedulerHost), clientTls(o));
  try {
    return await f(schedulers);
  } finally {
    schedulers.close();
  }
}

/** A change (`idempotent: false`): repeated elsewhere only when a standby refused it. */
const WRITE = { idempotent: false } as const;
/** A read: repeated on the leader whenever it fails with UNAVAILABLE. */
const READ = { idempotent: true } as const;

/**
 * Watches the resource until its state is `want`, printing each new state as a line. A poll that
 * finds the leader gone follows the next one (saying so on stderr), within the same timeout.
 */
async function wait<S>(
  r: Resource<S>,
  schedulers: Schedulers,
  name: string,
  want: string,
  timeoutMs: number,
): Promise<void> {
  const started = Date.now();
  let following = schedulers.leader;
  const tty = process.stderr.isTTY;
  let last: string | undefined;
  const progress = (state: string) => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const line = `waiting for ${r.noun} ${name} to be ${want}: ${state} after ${seconds} s`;
    if (tty) process.stderr.write(`\r\x1b[K${line}`);
    else if (state !== last) process.stderr.write(`${line}\n`);
  };
  for (;;) {
    let state = 'not found';
    try {
      const [s] = await schedulers.run((c, a) => r.status(c, name, a), {
        ...READ,
        until: started + timeoutMs,
      });
      if (s) {
        state = r.stateOf(s);
        if (state !== last) print(r.json(s));
      }
    } catch (e) {
      // No leader answered before the timeout: that is the timeout.
      const late = e instanceof CliError && e.code === EXIT.unreachable;
      if (late && Date.now() - started >= timeoutMs) state = 'unknown: no scheduler answers';
      // Not there (yet): a watch started before the load is answered waits for it.
      else if (!(
        e instanceof CliError &&
        e.code === EXIT.failed &&
        e.message.includes('FAILED_PRECONDITION')
      )) {
        throw e;
      }
    }
    const leader = schedulers.leader;
    if (following !== undefined && leader !== undefined && leader !== following) {
      const line = `following the scheduler at ${leader} (${following} no longer leads)`;
      process.stderr.write(tty ? `\r\x1b[K${line}\n` : `${line}\n`);
    }
    following = leader ?? following;
    if (state === want) {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const line = `${r.noun} ${name} is ${want} after ${seconds} s`;
      process.stderr.write(tty ? `\r\x1b[K${line}\n` : `${line}\n`);
      return;
    }
    progress(state);
    last = state;
    if (Date.now() - started >= timeoutMs) {
      if (tty) process.stderr.write('\n');
      throw new CliError(
        `timed out after ${timeoutMs / 1000} s waiting for ${r.noun} ${name} to be ${want} (it is ${state})`,
        EXIT.timeout,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function addResourceCommands<S>(cmd: Command, r: Resource<S>): void {
  const [load, unload] = r.verbs;
  client(cmd, load)
    .description(`${load} every ${r.kind} of a Seldon manifest (YAML, several documents allowed)`)
    .requiredOption('-f, --file <file>', `manifest with ${r.kind} documents (- for stdin)`)
    .action(async (o: { file: string } & Global) => {
      const manifests = await manifestsOf(r.kind, o.file);
      await withSchedulers(o, async (s) => {
        for (const m of manifests) {
          await s.run((c, a) => r.send(c, m, a), WRITE);
          print({ kind: m.kind, name: m.name, action: load, ok: true });
        }
      });
    });
  client(cmd, unload)
    .description(`${unload} ${r.noun}s by name, or those of a manifest`)
    .argument('[names...]', `${r.noun} names`)
    .option('-f, --file <file>', `manifest with ${r.kind} documents (- for stdin)`)
    .action(async (names: string[], o: { file?: string } & Global) => {
      const all = [
        ...names,
        ...(o.file ? (await manifestsOf(r.kind, o.file)).map((m) => m.name) : []),
      ];
      if (all.length === 0)
        throw new CliError(`${r.noun} ${unload}: give a name or -f FILE`, EXIT.usage);
      await withSchedulers(o, async (s) => {
        for (const name of all) {
          await s.run((c, a) => r.remove(c, name, a), WRITE);
          print({ kind: r.kind, name, action: unload, ok: true });
        }
      });
    });
  client(cmd, 'status')
    .description(`the ${r.noun}'s status as JSON; with -w, each new state until it is STATE`)
    .argument('<name>', `${r.noun} name`)
    .option(
      '-w, --wait <state>',
      `wait until the ${r.noun} is in this state (${r.states.join(', ')})`,
    )
    .option('-t, --timeout <duration>', 'how long -w waits (30s, 2m, ...)', '30s')
    .action(async (name: string, o: { wait?: string; timeout: string } & Global) => {
      const timeoutMs = parseDuration('--timeout', o.timeout);
      const want = o.wait === undefined ? undefined : wantedState(r, o.wait);
      await withSchedulers(o, async (s) => {
        if (want !== undefined) {
          await wait(r, s, name, want, timeoutMs);
          return;
        }
        for (const x of await s.run((c, a) => r.status(c, name, a), READ)) print(r.json(x));
      });
    });
  client(cmd, 'list')
    .description(`every ${r.noun}'s status, one JSON object per line`)
    .action(async (o: Global) => {
      await withSchedulers(o, async (s) => {
        for (const x of await s.run((c, a) => r.status(c, undefined, a), READ)) print(r.json(x));
      });
    });
}

function addServerCommands(cmd: Command): void {
  const status = (name: string | undefined, o: Global) => {
    return withSchedulers(o, async (s) => {
      const all = await s.run(
        (c, a) =>
          collect(a, (opts) =>
            c.serverStatus(
              { subscriberName: SUBSCRIBER, ...(name === undefined ? {} : { name }) },
              opts,
            ),
          ),
        READ,
      );
      for (const x of all) print(withEmptyCollections(x, ServerStatusResponse.toJSON(x)));
    });
  };
  client(cmd, 'status')
    .description("a server's status (every server's without a name), one JSON object per line")
    .argument('[name]', 'server name')
    .action((name: string | undefined, o: Global) => status(name, o));
  client(cmd, 'list')
    .description("every server's status, one JSON object per line")
    .action((o: Global) => status(undefined, o));
  client(cmd, 'load')
    .description(
      "declare the Servers of a manifest (ServerNotify, as Seldon's operator does for a Server resource)",
    )
    .requiredOption('-f, --file <file>', 'manifest with Server documents (- for stdin)')
    .action(async (o: { file: string } & Global) => {
      const notify = (await manifestsOf('Server', o.file)).flatMap((m) =>
        m.kind === 'Server' ? [m.notify] : [],
      );
      await withSchedulers(o, (s) =>
        s.run(
          (c, a) =>
            unary(a, (md, opts, cb) =>
              c.serverNotify({ servers: notify, isFirstSync: false }, md, opts, cb),
            ),
          WRITE,
        ),
      );
      for (const s of notify) print({ kind: 'Server', name: s.name, action: 'load', ok: true });
    });
}

function addExplainCommand(cmd: Command): void {
  client(cmd, 'explain')
    .description(
      "why the model is where it is, or nowhere: placement's decision now, every server and " +
        'replica with the numbers behind its verdict, and what would place the model',
    )
    .argument('<name>', 'model name')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (name: string, o: { output: string } & Global) => {
      const output = outputOf(o.output);
      await withSchedulers(o, async (s) => {
        const e = await s.run(
          (c, a) =>
            unary<ModelExplanation>(a, (md, opts, cb) =>
              placementOf(c).explainModel({ name }, md, opts, cb),
            ),
          READ,
        );
        show(
          output,
          () => formatExplanation(e),
          () => ModelExplanation.toJSON(e),
        );
      });
    });
}

/**
 * `mlsched plan -f FILE...`: the Model documents of the manifests placed in order, after their
 * Server documents are declared, against the scheduler's state, without changing anything.
 */
function definePlanCommand(cmd: Command): void {
  withClientFlags(cmd)
    .requiredOption(
      '-f, --file <file...>',
      'manifests with Model (and Server) documents (- for stdin)',
    )
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (o: { file: string[]; output: string } & Global) => {
      const output = outputOf(o.output);
      const request: PlanRequest = { servers: [], models: [] };
      for (const file of o.file) {
        const { source, all } = await documentsOf(file);
        all.forEach((m, i) => {
          if (m.kind === 'Server') request.servers.push(m.notify);
          else if (m.kind === 'Model' && m.request.model) request.models.push(m.request.model);
          else {
            throw new CliError(
              `${source}: document ${i + 1} (${m.kind} ${m.name}): a plan places ` +
                'Models (on Servers); apply it with `mlsched ' +
                `${m.kind.toLowerCase()} ...\``,
              EXIT.usage,
            );
          }
        });
      }
      if (request.models.length === 0) {
        throw new CliError(`${o.file.join(', ')}: no Model document to plan`, EXIT.usage);
      }
      await withSchedulers(o, async (s) => {
        const plan = await s.run(
          (c, a) =>
            unary<PlanResponse>(a, (md, opts, cb) => placementOf(c).plan(request, md, opts, cb)),
          READ,
        );
        show(
          output,
          () => formatPlan(plan),
          () => PlanResponse.toJSON(plan),
        );
      });
    });
}

/** Defines the subcommands of the client command `cmd` (declared by ./index.ts). */
export function defineClientCommand(cmd: Command): void {
  switch (cmd.name()) {
    case 'model':
      addResourceCommands(cmd, MODEL);
      addExplainCommand(cmd);
      break;
    case 'plan':
      definePlanCommand(cmd);
      break;
    case 'pipeline':
      addResourceCommands(cmd, PIPELINE);
      break;
    case 'experiment':
      addResourceCommands(cmd, EXPERIMENT);
      break;
    case 'server':
      addServerCommands(cmd);
      break;
    default:
      throw new Error(`no client command '${cmd.name()}'`);
  }
}
