/**
 * Section 6, the dashboard with many models (issue 7: it must stay responsive with 10,000): N models
 * (default 10,000) loaded in process onto 100 replicas, the dashboard on a local HTTP server.
 * Figures: the median time of its requests (the summary with every count, a page of 50 models from
 * the middle, one model with its history) against a request the same server answers with a fixed
 * body (HTTP's own cost), and the scheduler CPU of loading the N models while the dashboard tracks
 * them against the same load with no dashboard.
 *
 * Flags (via bench/run.ts): `--dashboard-models N`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Dashboard } from '../src/http/dashboard/dashboard.js';
import { fleet, fmt, progress, timed, type Row } from './lib.js';
import { loadAll, schedulerWithFleet } from './placement.js';

const REQUESTS = 200;

async function medianMs(url: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = performance.now();
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    await res.arrayBuffer();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? Number.NaN;
}

/** CPU of loading n models, with or without a dashboard tracking them. */
async function loadCpuMs(n: number, tracking: boolean): Promise<number> {
  const { system, agents } = schedulerWithFleet(fleet(100, n));
  const dashboard = tracking ? new Dashboard(system) : undefined;
  const { cpuMs } = await timed(() => {
    loadAll(system, agents, n);
  });
  dashboard?.close();
  system.stop();
  return cpuMs;
}

export async function dashboardSection(o: { models: number }): Promise<Row[]> {
  const section = 'dashboard';
  const n = o.models;
  progress(`dashboard: loading ${n} models twice (without and with tracking)`);
  // Warm-up, then each order once, so neither is charged with the JIT alone.
  await loadCpuMs(Math.min(n, 1000), true);
  const without = await loadCpuMs(n, false);
  const withTracking = await loadCpuMs(n, true);

  const { system, agents } = schedulerWithFleet(fleet(100, n));
  const dashboard = new Dashboard(system);
  const server: Server = createServer((req, res) => {
    if (req.url === '/fixed') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    } else if (!dashboard.handle(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const rows: Row[] = [];
  try {
    await medianMs(`${base}/api/summary`);
    loadAll(system, agents, n);
    const fixed = await medianMs(`${base}/fixed`);
    const requests = [
      ['summary (counts, servers, pipelines, experiments)', '/api/summary'],
      ['a page of 50 models from the middle', `/api/models?offset=${Math.floor(n / 2)}&limit=50`],
      ['one model with its history', '/api/resource?kind=model&name=m-1'],
    ] as const;
    for (const [what, path] of requests) {
      const ms = await medianMs(`${base}${path}`);
      progress(`dashboard: ${what}: ${fmt(ms)} ms`);
      rows.push({
        section,
        figure: `${n} models: ${what}, median`,
        value: ms,
        unit: 'ms',
        baseline: fixed,
        baselineName: 'a fixed answer from the same server',
      });
    }
  } finally {
    server.close();
    dashboard.close();
    system.stop();
  }
  rows.push({
    section,
    figure: `${n} models loaded in process with the dashboard tracking them: CPU`,
    value: withTracking,
    unit: 'ms',
    baseline: without,
    baselineName: 'no dashboard',
  });
  return rows;
}
