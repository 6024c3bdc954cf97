/**
 * Section 2, API speed over real gRPC (loopback): LoadModel and ModelStatus calls per second with
 * 1, 16 and 128 calls in flight from one client, against the real scheduler (`mlsched serve --store
 * memory` in its own process, 100 simulated replicas answering loads at once) and against the no-op
 * server (bench/noop-server.ts: same service, same messages, handlers that do nothing) measured in
 * the same run, alternating. Each LoadModel level runs on a fresh scheduler (new models every call,
 * so the figure includes placement); ModelStatus asks for models of a preloaded set. Also the
 * server process's CPU per call at 16 in flight, and LoadModel at 16 in flight with no replicas
 * connected (every model fails to schedule at once): what the API costs without placement and
 * agent traffic.
 *
 * Flags (via bench/run.ts): `--seconds S` per measurement (default 3), `--in-flight 1,16,128`.
 */
import { benchLoadRequest, fmt, inFlight, processCpuMs, progress, type Row } from './lib.js';
import {
  loadModel,
  loadModels,
  modelStatus,
  startNoop,
  startScheduler,
  waitAvailable,
  type Target,
} from './cluster.js';

export interface ApiOptions {
  seconds: number;
  inFlight: readonly number[];
  /** Server replicas of the scheduler (default 100). */
  replicas: number;
}

/** Models loaded before ModelStatus is measured; its calls ask for them in turn. */
const STATUS_MODELS = 1000;
/** The simulated replicas are sized for this many models, more than any LoadModel run makes. */
const FLEET_MODELS = 100_000;
const WARM_UP_MS = 1000;

interface Rate {
  perSecond: number;
  calls: number;
  /** CPU of the server process per call, µs. */
  serverCpuUs: number;
  /** CPU of this process per call (the client, and the simulated agents of the scheduler), µs. */
  clientCpuUs: number;
}

/**
 * Calls per second of `call` with `calls` in flight for `seconds`, after a warm-up. `call` gets a
 * number never passed before (for fresh model names).
 */
async function rate(
  target: Target,
  calls: number,
  seconds: number,
  call: (n: number) => Promise<unknown>,
): Promise<Rate> {
  let next = 0;
  const fresh = () => call(next++);
  await inFlight(calls, fresh, { untilMs: WARM_UP_MS });
  const cpu0 = processCpuMs(target.pid);
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  const done = await inFlight(calls, fresh, { untilMs: seconds * 1000 });
  const ms = performance.now() - t0;
  const cpuMs = processCpuMs(target.pid) - cpu0;
  const own = process.cpuUsage(own0);
  return {
    perSecond: (done / ms) * 1000,
    calls: done,
    serverCpuUs: (cpuMs * 1000) / done,
    clientCpuUs: (own.user + own.system) / done,
  };
}

export async function apiSection(o: ApiOptions): Promise<Row[]> {
  const section = 'api';
  const rows: Row[] = [];
  const noop = await startNoop();
  try {
    const add = (method: string, calls: number, sched: Rate, base: Rate) => {
      progress(
        `${method}, ${calls} in flight: ${fmt(sched.perSecond)}/s vs no-op ${fmt(base.perSecond)}/s`,
      );
      const loadModelShare = sched.perSecond / base.perSecond;
      rows.push({
        section,
        figure: `${method}, ${calls} in flight`,
        value: sched.perSecond,
        unit: 'calls/s',
        baseline: base.perSecond,
        baselineName: 'no-op server',
        ...(method.startsWith('LoadModel')
          ? { target: { text: 'at least 60% of the no-op rate', met: loadModelShare >= 0.6 } }
          : {}),
        detail: { scheduler: sched, noop: base },
      });
      if (calls === 16) {
        rows.push({
          section,
          figure: `${method}, ${calls} in flight: server CPU per call`,
          value: sched.serverCpuUs,
          unit: 'µs',
          baseline: base.serverCpuUs,
          baselineName: 'no-op server',
        });
        rows.push({
          section,
          figure: `${method}, ${calls} in flight: client and simulated agents' CPU per call`,
          value: sched.clientCpuUs,
          unit: 'µs',
          baseline: base.clientCpuUs,
          baselineName: 'the same client against the no-op server',
        });
      }
    };

    // ModelStatus on one scheduler holding STATUS_MODELS Available models.
    const statusTarget = await startScheduler(o.replicas, FLEET_MODELS);
    try {
      await loadModels(statusTarget, STATUS_MODELS, 16);
      await waitAvailable(statusTarget.client, STATUS_MODELS);
      for (const calls of o.inFlight) {
        const ask = (t: Target) => (n: number) => modelStatus(t.client, `m-${n % STATUS_MODELS}`);
        const base = await rate(noop, calls, o.seconds, ask(noop));
        const sched = await rate(statusTarget, calls, o.seconds, ask(statusTarget));
        add('ModelStatus', calls, sched, base);
      }
    } finally {
      await statusTarget.stop();
    }

    // LoadModel, each level on a fresh scheduler: every call loads a new model. Then once with no
    // replicas at all (each model is accepted and fails to schedule): the API's own share.
    const load = (prefix: string) => (t: Target) => (n: number) =>
      loadModel(t.client, benchLoadRequest(n, prefix));
    const levels = [
      ...o.inFlight.map((calls) => ({ calls, replicas: o.replicas, method: 'LoadModel' })),
      { calls: 16, replicas: 0, method: 'LoadModel with no replicas (schedule fails)' },
    ];
    for (const { calls, replicas, method } of levels) {
      const call = load(`api${calls}r${replicas}`);
      const base = await rate(noop, calls, o.seconds, call(noop));
      const target = await startScheduler(replicas, FLEET_MODELS);
      try {
        add(method, calls, await rate(target, calls, o.seconds, call(target)), base);
      } finally {
        await target.stop();
      }
    }
  } finally {
    await noop.stop();
  }
  return rows;
}
