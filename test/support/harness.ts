import assert from 'node:assert/strict';
import type { status as grpcStatus } from '@grpc/grpc-js';
import { credentials, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { startApp, type App } from '../../src/app.js';
import type { Config, StoreSpec } from '../../src/config/config.js';
import type { Timers } from '../../src/actors/index.js';
import {
  SchedulerClient,
  type LoadModelRequest,
  type Model,
  type ModelStatusResponse,
} from '../../src/gen/mlops/scheduler/scheduler.js';
import { createLogger } from '../../src/observability/logger.js';

export interface Harness {
  app: App;
  /** host:port of the Scheduler service. */
  address: string;
  /** host:port of the AgentService. */
  agentAddress: string;
  client: SchedulerClient;
  stop(): Promise<void>;
}

/** Starts the real scheduler on free loopback ports with the memory store. */
/** The configuration of an in-process test scheduler: loopback, free ports, memory store. */
export function testConfig(more: Partial<Config> = {}): Config {
  return {
    host: '127.0.0.1',
    schedulerPort: 0,
    agentPort: 0,
    dataflowPort: 0,
    httpPort: 0,
    store: { kind: 'memory' },
    logLevel: process.env['LOG_LEVEL'] ?? 'silent',
    version: 'test',
    ...more,
  };
}

export async function startScheduler(
  opts: {
    timers?: Timers;
    drainTimeoutMs?: number;
    deletedTtlMs?: number;
    reconnectGraceMs?: number;
    store?: StoreSpec;
    redisPrefix?: string;
  } = {},
): Promise<Harness> {
  const app = await startApp(testConfig(opts), createLogger(process.env['LOG_LEVEL'] ?? 'silent'));
  const address = `127.0.0.1:${app.ports.scheduler}`;
  const client = new SchedulerClient(address, credentials.createInsecure());
  return {
    app,
    address,
    agentAddress: `127.0.0.1:${app.ports.agent}`,
    client,
    stop: async () => {
      client.close();
      await app.stop(500);
    },
  };
}

/** Calls a unary method of a grpc-js client as a promise. */
export function call<Req, Res>(
  fn: (req: Req, cb: (err: Error | null, res: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn(req, (err, res) => {
      if (err) reject(err);
      else resolve(res);
    });
  });
}

/** Reads a finite server stream to its end. */
export function collect<T>(stream: ClientReadableStream<T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    stream.on('data', (m: T) => out.push(m));
    stream.on('error', reject);
    stream.on('end', () => {
      resolve(out);
    });
  });
}

/**
 * Polls `check` every `intervalMs` until it returns true (or a value), failing with `what` after
 * `timeoutMs`; a check that throws counts as not yet.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | false | undefined> | T | false | undefined,
  timeoutMs = 3000,
  intervalMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== false && v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A LoadModel request for a small sklearn model. */
export function model(
  name: string,
  o: {
    uri?: string;
    replicas?: number;
    minReplicas?: number;
    memoryBytes?: number;
    requirements?: string[];
    server?: string;
    generation?: number;
    explainer?: boolean;
  } = {},
): LoadModelRequest {
  const m: Model = {
    meta: { name },
    modelSpec: {
      uri: o.uri ?? `gs://models/${name}`,
      requirements: o.requirements ?? ['sklearn'],
      parameters: [],
      memoryBytes: BigInt(o.memoryBytes ?? 100),
    },
    deploymentSpec: {
      replicas: o.replicas ?? 1,
      minReplicas: o.minReplicas ?? 0,
      maxReplicas: 0,
      logPayloads: false,
    },
  };
  if (o.server !== undefined && m.modelSpec) m.modelSpec.server = o.server;
  if (o.explainer && m.modelSpec) {
    m.modelSpec.modelSpec = {
      $case: 'explainer',
      value: { type: 'anchor_tabular', modelRef: 'x' },
    };
  }
  if (o.generation !== undefined && m.meta) {
    m.meta.kubernetesMeta = { namespace: 'seldon', generation: BigInt(o.generation) };
  }
  return { model: m };
}

/** The latest (or every) version status of one model. */
export async function status(
  h: Harness,
  name: string,
  allVersions = false,
): Promise<ModelStatusResponse> {
  const [res] = await collect(
    h.client.modelStatus({ subscriberName: 't', model: { name }, allVersions }),
  );
  if (!res) throw new Error(`no status for ${name}`);
  return res;
}

/** Asserts that a call fails with the gRPC `code` and exactly `details` (or details matching it). */
export const rejectsWith = (p: Promise<unknown>, code: grpcStatus, details: string | RegExp) =>
  assert.rejects(p, (e: ServiceError) => {
    assert.equal(e.code, code, `code of ${e.details}`);
    if (typeof details === 'string') assert.equal(e.details, details);
    else assert.match(e.details, details);
    return true;
  });
