/**
 * What the HTTP port answers (README "Security" lists it): `/health`, `/metrics`, `/api/state`,
 * explanations and plans of placement (`/api/models/NAME/explanation`, `POST /api/plan`) and the
 * dashboard (`/`, its assets and `/api/...`). Access and redaction are the listener's
 * (server.ts); these only read: a plan changes nothing.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { SchedulerSystem } from '../actors/index.js';
import type { Dashboard } from './dashboard/dashboard.js';
import { invalidSpec, isSchedulerError } from '../domain/errors.js';
import type { ModelDefinition } from '../domain/model.js';
import type { ServerDeclaration } from '../domain/server.js';

/** The largest plan request body read (bytes). */
const MAX_PLAN_BYTES = 4 * 1024 * 1024;
const EXPLANATION = /^\/api\/models\/([^/]+)\/explanation$/;

/** What the routes read, as the app provides it. */
export interface HttpViews {
  /** `GET /health`: its status code and body (seen without credentials: nothing secret). */
  health(): { code: number; body: object };
  /** `GET /metrics`: the Prometheus text and its content type. */
  metrics(): Promise<{ contentType: string; text: string }>;
  /** The leader's system and dashboard; on a standby, the body of the 503 that names the leader. */
  leader(): { system: SchedulerSystem; dashboard: Dashboard } | { standby: object };
  /**
   * A plan request's JSON (the Placement service's PlanRequest in proto3 JSON) decoded and
   * checked as the gRPC service checks it.
   * @throws SchedulerError InvalidSpec naming the field.
   */
  planRequest(json: unknown): {
    declarations: ServerDeclaration[];
    definitions: ModelDefinition[];
  };
}

export interface RoutesLog {
  error(obj: object, msg: string): void;
}

export function httpRoutes(views: HttpViews, log: RoutesLog): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://mlsched').pathname;
    if (path === '/health') {
      const { code, body } = views.health();
      json(res, code, body);
      return;
    }
    if (path === '/metrics') {
      views.metrics().then(
        ({ contentType, text }) => {
          res.writeHead(200, { 'content-type': contentType });
          res.end(text);
        },
        (e: unknown) => {
          log.error({ err: e }, 'metrics failed');
          res.writeHead(500);
          res.end();
        },
      );
      return;
    }
    const leader = views.leader();
    if ('standby' in leader) {
      json(res, 503, leader.standby);
    } else if (EXPLANATION.test(path)) {
      const name = decoded(EXPLANATION.exec(path)?.[1] ?? '');
      const explanation = name === undefined ? undefined : leader.system.explainModel(name);
      if (name === undefined)
        json(res, 400, { error: 'the model name is not valid percent-encoding' });
      else if (explanation) json(res, 200, explanation);
      else json(res, 404, { error: `model ${name} not found` });
    } else if (path === '/api/plan') {
      plan(req, res, log, (body) => {
        let decoded;
        try {
          decoded = views.planRequest(body);
        } catch (e) {
          if (isSchedulerError(e)) throw e;
          throw invalidSpec(
            'body',
            `not a PlanRequest: ${e instanceof Error ? e.message : String(e)}`,
          );
        }
        return leader.system.plan(decoded.declarations, decoded.definitions);
      });
    } else if (path === '/api/state') {
      const { system } = leader;
      json(res, 200, {
        models: system.listModels(false),
        servers: system.listServers(),
        pipelines: system.listPipelines(false),
        experiments: system.listExperiments(),
        dataflowEngines: system.listEngines(),
      });
    } else if (!leader.dashboard.handle(req, res)) {
      res.writeHead(404);
      res.end();
    }
  };
}

/**
 * `POST /api/plan` with a JSON body (a form cannot send one: no cross-site request gets this far
 * with a browser's own form): 200 and the plan, or 400 naming the bad field.
 */
function plan(
  req: IncomingMessage,
  res: ServerResponse,
  log: RoutesLog,
  answer: (body: unknown) => unknown,
): void {
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    json(res, 405, { error: 'POST a PlanRequest (JSON) to /api/plan' });
    return;
  }
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    json(res, 415, { error: 'content-type: must be application/json' });
    return;
  }
  // A client gone mid-body: nothing to answer, and nothing to throw.
  req.on('error', () => undefined);
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_PLAN_BYTES) chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > MAX_PLAN_BYTES) {
      json(res, 413, { error: `the plan request is over ${MAX_PLAN_BYTES} bytes` });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (e) {
      json(res, 400, { error: `body: not JSON: ${e instanceof Error ? e.message : String(e)}` });
      return;
    }
    try {
      json(res, 200, answer(body));
    } catch (e) {
      if (isSchedulerError(e) && e.code === 'InvalidSpec') {
        json(res, 400, { error: e.message });
        return;
      }
      log.error({ err: e }, 'plan failed');
      json(res, 500, { error: 'the plan failed (logged)' });
    }
  });
}

/** A path segment decoded, or undefined when its percent-encoding is malformed. */
function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body, null, code === 200 ? 2 : undefined));
}
