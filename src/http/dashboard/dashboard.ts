import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SchedulerSystem } from '../../actors/index.js';
import { LifecycleTracker, MACHINE_IDS, type TrackerOptions } from './tracker.js';

export interface DashboardOptions extends TrackerOptions {
  /** How often live updates are sent at most (ms, default 250). */
  pushIntervalMs?: number;
  /** Where the generated `<machine>.svg` statecharts are (default: the repository's statecharts/). */
  statechartsDir?: URL;
  /** Where the page's files are (default: static/ beside this module's source). */
  staticDir?: URL;
}

/** Most models one page may ask for. */
const MAX_PAGE = 500;
/** Most changed model names one live update carries; the client refetches its page anyway. */
const MAX_CHANGED = 200;

const STATIC: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
  '/pipeline-graph.js': { file: 'pipeline-graph.js', type: 'text/javascript; charset=utf-8' },
};

class BadRequest extends Error {}
class NotFound extends Error {}

/**
 * The dashboard on the HTTP port: a page (`/`) and its JSON API (`/api/...`), fed by a
 * {@link LifecycleTracker}, with live updates as server-sent events (`/api/events`). Every
 * answer is bounded: models come in pages, counts are aggregated, updates are coalesced.
 *
 * The tracker runs from the start, so that histories cover what happened before anyone looked; it
 * re-reads every changed resource: 1.0 to 1.5 times the scheduler CPU per model load (`npm run bench
 * -- --only dashboard`).
 */
export class Dashboard {
  private readonly tracker: LifecycleTracker;
  private readonly clients = new Set<ServerResponse>();
  private readonly changed = {
    models: new Set<string>(),
    servers: new Set<string>(),
    pipelines: new Set<string>(),
    experiments: new Set<string>(),
  };
  private lastSeq = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private readonly assets = new Map<string, Buffer>();
  private readonly statechartsDir: URL;
  private readonly staticDir: URL;

  constructor(
    private readonly system: SchedulerSystem,
    opts: DashboardOptions = {},
  ) {
    this.tracker = new LifecycleTracker(system, opts);
    this.statechartsDir = opts.statechartsDir ?? new URL('../../../statecharts/', import.meta.url);
    this.staticDir = opts.staticDir ?? new URL('./static/', import.meta.url);
    this.unsubscribe = system.subscribe((c) => {
      if (this.clients.size === 0) return;
      for (const m of c.models) this.changed.models.add(m);
      for (const s of c.servers) this.changed.servers.add(s);
      for (const p of c.pipelines) this.changed.pipelines.add(p.name);
      for (const e of c.experiments) this.changed.experiments.add(e);
    });
    this.timer = setInterval(() => {
      this.push();
    }, opts.pushIntervalMs ?? 250);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.unsubscribe();
    this.tracker.close();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  /** Answers the request if it is the dashboard's; returns false for other paths. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const path = url.pathname;
    try {
      const asset = STATIC[path];
      if (asset) {
        send(res, 200, asset.type, this.asset(asset.file));
      } else if (path === '/api/summary') {
        json(res, this.summary());
      } else if (path === '/api/models') {
        json(res, this.models(url.searchParams));
      } else if (path === '/api/resource') {
        json(res, this.resource(url.searchParams));
      } else if (path.startsWith('/api/statecharts/')) {
        const id = path.slice('/api/statecharts/'.length).replace(/\.svg$/, '');
        if (!(MACHINE_IDS as readonly string[]).includes(id)) {
          throw new BadRequest(`statechart: unknown machine '${id}'`);
        }
        const file = new URL(`${id}.svg`, this.statechartsDir);
        if (!existsSync(file)) throw new NotFound(`statechart: ${id}.svg not generated`);
        send(res, 200, 'image/svg+xml', readFileSync(file));
      } else if (path === '/api/events') {
        this.subscribe(res);
      } else {
        return false;
      }
    } catch (e) {
      const code = e instanceof BadRequest ? 400 : e instanceof NotFound ? 404 : 500;
      send(res, code, 'text/plain', e instanceof Error ? e.message : String(e));
    }
    return true;
  }

  private asset(file: string): Buffer {
    let body = this.assets.get(file);
    if (!body) {
      body = readFileSync(new URL(file, this.staticDir));
      this.assets.set(file, body);
    }
    return body;
  }

  private summary() {
    const servers = this.system.listServers();
    return {
      counts: this.tracker.countsByMachine(),
      totals: {
        models: this.tracker.modelCount,
        servers: servers.length,
        serverReplicas: servers.reduce((n, s) => n + s.replicas.length, 0),
      },
      servers,
      pipelines: this.system.listPipelines(false),
      experiments: this.system.listExperiments(),
      engines: this.system.listEngines(),
      recent: this.tracker.recent().slice(-50),
    };
  }

  private models(q: URLSearchParams) {
    const offset = wholeNumber(q, 'offset', 0);
    const limit = Math.min(wholeNumber(q, 'limit', 50), MAX_PAGE);
    const names = this.tracker.modelNames(q.get('q') ?? '', q.get('state') ?? '');
    return {
      total: names.length,
      offset,
      models: names
        .slice(offset, offset + limit)
        .map((n) => this.system.model(n, false))
        .filter((m) => m !== undefined),
    };
  }

  private resource(q: URLSearchParams) {
    const kind = q.get('kind') ?? '';
    const name = q.get('name') ?? '';
    if (name === '') throw new BadRequest('name: must not be empty');
    const view =
      kind === 'model'
        ? this.system.model(name, true)
        : kind === 'server'
          ? this.system.server(name)
          : kind === 'pipeline'
            ? this.system.pipeline(name, true)
            : kind === 'experiment'
              ? this.system.experiment(name)
              : undefined;
    if (!['model', 'server', 'pipeline', 'experiment'].includes(kind)) {
      throw new BadRequest(`kind: must be model, server, pipeline or experiment, not '${kind}'`);
    }
    return {
      kind,
      name,
      view: view ?? null,
      transitions: this.tracker.transitionsOf(`${kind}:${name}`),
      // Why a model is where it is (or nowhere); what each replica of a server can still take.
      ...(kind === 'model' ? { explanation: this.system.explainModel(name) ?? null } : {}),
      ...(kind === 'server' ? { headroom: this.system.headroom(name) ?? null } : {}),
    };
  }

  private subscribe(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
    this.write(res, { ...this.summary(), changed: null });
  }

  /** Sends what changed since the last push to every client that keeps up. */
  private push(): void {
    const recent = this.tracker.recent(this.lastSeq);
    const { models, servers, pipelines, experiments } = this.changed;
    if (recent.length === 0 && models.size + servers.size + pipelines.size + experiments.size === 0)
      return;
    this.lastSeq = recent.at(-1)?.seq ?? this.lastSeq;
    if (this.clients.size === 0) return;
    const update = {
      ...this.summary(),
      recent: recent.slice(-50),
      changed: {
        models: [...models].slice(0, MAX_CHANGED),
        moreModels: Math.max(0, models.size - MAX_CHANGED),
        servers: [...servers],
        pipelines: [...pipelines],
        experiments: [...experiments],
      },
    };
    for (const set of Object.values(this.changed)) set.clear();
    for (const res of this.clients) this.write(res, update);
  }

  /** One event; a client whose socket is still full skips it (the next one carries the state). */
  private write(res: ServerResponse, data: object): void {
    if (res.writableNeedDrain) return;
    res.write(`data: ${JSON.stringify(data)}\n\n`);
  }
}

function wholeNumber(q: URLSearchParams, field: string, fallback: number): number {
  const raw = q.get(field);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new BadRequest(`${field}: must be a whole number, not '${raw}'`);
  }
  return n;
}

function json(res: ServerResponse, body: unknown): void {
  send(res, 200, 'application/json', JSON.stringify(body));
}

function send(res: ServerResponse, code: number, type: string, body: string | Buffer): void {
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
