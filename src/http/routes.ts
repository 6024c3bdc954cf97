/**
 * What the HTTP port answers (README "Security" lists it): `/health`, `/metrics`, `/api/state`
 * and the dashboard (`/`, its assets and `/api/...`). Access and redaction are the listener's
 * (server.ts); these only read.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { SchedulerSystem } from '../actors/index.js';
import type { Dashboard } from '../dashboard/dashboard.js';

/** What the routes read, as the app provides it. */
export interface HttpViews {
  /** `GET /health`: its status code and body (seen without credentials: nothing secret). */
  health(): { code: number; body: object };
  /** `GET /metrics`: the Prometheus text and its content type. */
  metrics(): Promise<{ contentType: string; text: string }>;
  /** The leader's system and dashboard; on a standby, the body of the 503 that names the leader. */
  leader(): { system: SchedulerSystem; dashboard: Dashboard } | { standby: object };
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

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body, null, code === 200 ? 2 : undefined));
}
