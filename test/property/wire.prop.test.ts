/**
 * Every RPC of the three services (Scheduler, AgentService, Chainer) with well-formed messages
 * generated from the proto descriptors, and with bytes that are no message at all, against one real
 * scheduler. Scalars take their types' extremes, strings are empty, huge or odd (NUL, emoji, lone
 * surrogates), repeated and map fields have 0 to 5 entries, enums take numbers outside the enum.
 * Invariants after each call: it never answers INTERNAL or UNKNOWN (a well-formed message); every
 * listing answers; the status streams, the agent's stream and the engine's stream opened at the start
 * are still open; a refused call changed nothing. FC_NUM_RUNS sets the number of runs (sequences of
 * calls); FC_SEED replays one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  Client,
  credentials,
  Metadata,
  status as grpcStatus,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { INT64_EXTREMES, UINT64_EXTREMES } from '../support/extremes.js';
import { connectFakeAgent, type FakeAgent } from '../support/fake-agent.js';
import { collect, startScheduler, waitFor, type Harness } from '../support/harness.js';
import type { Timers } from '../../src/actors/index.js';

const PROTO = fileURLToPath(new URL('../../proto/', import.meta.url));
const NUM_RUNS = Number(process.env['FC_NUM_RUNS'] ?? 15);
const SEED = process.env['FC_SEED'] === undefined ? undefined : Number(process.env['FC_SEED']);

const root = new protobuf.Root();
root.resolvePath = (_origin, target) =>
  target.startsWith('google/protobuf/') ? target : `${PROTO}${target}`;
root.loadSync(
  ['mlops/scheduler/scheduler.proto', 'mlops/agent/agent.proto', 'mlops/chainer/chainer.proto'],
  { keepCase: true },
);
root.resolveAll();

/** Each RPC: the port it is served on, its path, its request type and how it streams. */
interface Rpc {
  port: 'scheduler' | 'agent' | 'dataflow';
  path: string;
  request: protobuf.Type;
  serverStream: boolean;
  clientStream: boolean;
}
const SERVICES = [
  ['scheduler', 'seldon.mlops.scheduler.Scheduler'],
  ['agent', 'seldon.mlops.agent.AgentService'],
  ['dataflow', 'seldon.mlops.chainer.Chainer'],
] as const;
const RPCS: Rpc[] = SERVICES.flatMap(([port, name]) =>
  root.lookupService(name).methodsArray.map((m) => ({
    port,
    path: `/${name}/${m.name}`,
    request: root.lookupType(m.requestType),
    serverStream: m.responseStream === true,
    clientStream: m.requestStream === true,
  })),
);

// ── values ─────────────────────────────────────────────────────────────────────────────────────

const INT32 = [0, -1, 1, 2, 3, 2 ** 31 - 1, -(2 ** 31)];
const UINT32 = [0, 1, 2, 3, 2 ** 31, 2 ** 32 - 1];
/** Names the scheduler knows, so that calls also reach accepted paths. */
const NAMES = ['m', 'n', 'p', 'e', 'mlserver', 'a', 'sklearn'];
const ODD = [
  '',
  '\u0000',
  'a\u0000b',
  '😀',
  '\ud800',
  'x\udfffy',
  'é',
  'A'.repeat(5000),
  'a.b',
  ' ',
];

const text = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 2, arbitrary: fc.constantFrom(...ODD) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constant('x'.repeat(70_000)) },
);

function scalar(type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'string':
      return text;
    case 'bool':
      return fc.boolean();
    case 'bytes':
      return fc.uint8Array({ maxLength: 8 });
    case 'double':
    case 'float':
      return fc.constantFrom(0, -1, 1.5, 1e308, Number.NaN, Infinity);
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return fc.constantFrom(...INT64_EXTREMES).map(String);
    case 'uint64':
    case 'fixed64':
      return fc.constantFrom(...UINT64_EXTREMES).map(String);
    case 'uint32':
    case 'fixed32':
      return fc.constantFrom(...UINT32);
    default:
      return fc.constantFrom(...INT32);
  }
}

function fieldValue(f: protobuf.Field, depth: number): fc.Arbitrary<unknown> {
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Enum) {
    return fc.constantFrom(...Object.values(rt.values), 99, -1);
  }
  if (rt instanceof protobuf.Type) return message(rt, depth + 1);
  return scalar(f.type);
}

const cache = new Map<string, fc.Arbitrary<Record<string, unknown>>>();

/** A message of `type` with a random subset of its fields set (depth-limited nesting). */
function message(type: protobuf.Type, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  if (depth > 3) return fc.constant({});
  const key = `${type.fullName}@${depth}`;
  const known = cache.get(key);
  if (known) return known;
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of type.fieldsArray) {
    if (f instanceof protobuf.MapField) {
      fields[f.name] = fc.dictionary(
        f.keyType === 'string' ? text : scalar(f.keyType).map(String),
        fieldValue(f, depth),
        { maxKeys: 5 },
      );
    } else if (f.repeated) {
      fields[f.name] = fc.array(fieldValue(f, depth), { maxLength: 5 });
    } else {
      fields[f.name] = fieldValue(f, depth);
    }
  }
  const arb = fc.record(fields, { requiredKeys: [] });
  cache.set(key, arb);
  return arb;
}

// ── calls ──────────────────────────────────────────────────────────────────────────────────────

/** A call: the RPC and its request bytes (an encoded message, or garbage). */
interface Call {
  rpc: Rpc;
  bytes: Buffer;
  wellFormed: boolean;
  label: string;
  /** How fast-check prints a counterexample: the label, not the bytes. */
  [fc.toStringMethod]: () => string;
}

const callOf = (rpc: Rpc, bytes: Buffer, wellFormed: boolean, label: string): Call => ({
  rpc,
  bytes,
  wellFormed,
  label,
  [fc.toStringMethod]: () => label,
});

/** A request as JSON, long strings cut short. */
const show = (value: unknown) =>
  JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'string' && v.length > 40 ? `${v.slice(0, 20)}…(${v.length} chars)` : v,
  );

const wellFormedCall: fc.Arbitrary<Call> = fc
  .constantFrom(...RPCS)
  .chain((rpc) =>
    message(rpc.request).map((value) =>
      callOf(
        rpc,
        Buffer.from(rpc.request.encode(rpc.request.fromObject(value)).finish()),
        true,
        `${rpc.path} ${show(value)}`,
      ),
    ),
  );

const garbageCall: fc.Arbitrary<Call> = fc
  .tuple(fc.constantFrom(...RPCS), fc.uint8Array({ minLength: 1, maxLength: 64 }))
  .map(([rpc, bytes]) =>
    callOf(
      rpc,
      Buffer.from(bytes),
      false,
      `${rpc.path} garbage ${Buffer.from(bytes).toString('hex')}`,
    ),
  );

const identity = (b: Buffer): Buffer => b;

/** The scheduler under test, one fake agent and one engine, and the streams that must stay open. */
let h: Harness;
let agent: FakeAgent;
const clients = new Map<Rpc['port'], Client>();
const watched: { name: string; stream: ClientReadableStream<unknown>; error?: ServiceError }[] = [];
/** Streams the calls opened: kept open until the end, so nothing leaves behind a call's back. */
const opened: ClientReadableStream<unknown>[] = [];

/** No timer ever fires: the only changes are the calls' own. */
const frozen: Timers = { now: () => 1_000_000, after: () => () => undefined };

before(async () => {
  h = await startScheduler({ timers: frozen });
  const address = (port: number) => `127.0.0.1:${port}`;
  clients.set('scheduler', new Client(h.address, credentials.createInsecure()));
  clients.set('agent', new Client(h.agentAddress, credentials.createInsecure()));
  clients.set('dataflow', new Client(address(h.app.ports.dataflow), credentials.createInsecure()));
  agent = await connectFakeAgent({ address: h.agentAddress, server: 'mlserver', replicaIdx: 0 });
  await waitFor('the agent joined', () => h.app.system.server('mlserver') !== undefined);
  const scheduler = clients.get('scheduler');
  const dataflow = clients.get('dataflow');
  assert.ok(scheduler && dataflow);
  const watch = (client: Client, path: string, request: Buffer) => {
    const stream = client.makeServerStreamRequest(path, identity, identity, request);
    const w: (typeof watched)[number] = { name: path, stream };
    stream.on('data', () => undefined);
    stream.on('error', (e: ServiceError) => (w.error = e));
    watched.push(w);
  };
  const sub = root.lookupType('seldon.mlops.scheduler.ModelSubscriptionRequest');
  const named = Buffer.from(sub.encode({ subscriberName: 'watch' }).finish());
  for (const rpc of [
    'SubscribeModelStatus',
    'SubscribeServerStatus',
    'SubscribePipelineStatus',
    'SubscribeExperimentStatus',
    'SubscribeControlPlane',
  ]) {
    watch(scheduler, `/seldon.mlops.scheduler.Scheduler/${rpc}`, named);
  }
  const engine = root.lookupType('seldon.mlops.chainer.PipelineSubscriptionRequest');
  watch(
    dataflow,
    '/seldon.mlops.chainer.Chainer/SubscribePipelineUpdates',
    Buffer.from(engine.encode({ name: 'watch-engine' }).finish()),
  );
});

after(async () => {
  const total = [...answered.values()].reduce((n, x) => n + x, 0);
  const kinds = [...answered].sort().map(([k, n]) => `${k}: ${n}`);
  process.stdout.write(`# ${total} calls (${kinds.join(', ')})\n`);
  for (const s of opened) s.cancel();
  for (const w of watched) w.stream.cancel();
  await agent.disconnect();
  for (const c of clients.values()) c.close();
  await h.stop();
});

/** What clients can see: every view, as JSON. */
const snapshot = () =>
  JSON.stringify([
    h.app.system.listModels(true),
    h.app.system.listServers(),
    h.app.system.listPipelines(true),
    h.app.system.listExperiments(),
  ]);

/** Makes the call; resolves with its status code (OK for a stream that is still open). */
function perform(c: Call): Promise<grpcStatus> {
  const client = clients.get(c.rpc.port);
  assert.ok(client);
  const deadline = { deadline: Date.now() + 5000 };
  return new Promise((resolve) => {
    const done = (e: ServiceError | null) => {
      resolve(e ? e.code : grpcStatus.OK);
    };
    if (c.rpc.serverStream) {
      const s = client.makeServerStreamRequest(c.rpc.path, identity, identity, c.bytes);
      opened.push(s);
      s.on('data', () => undefined);
      s.on('error', done);
      s.on('end', () => {
        done(null);
      });
      // A stream that stays open was accepted (a subscription): it is kept open until the end.
      setTimeout(() => {
        done(null);
      }, 100);
    } else if (c.rpc.clientStream) {
      const s = client.makeClientStreamRequest(
        c.rpc.path,
        identity,
        identity,
        new Metadata(),
        deadline,
        done,
      );
      s.write(c.bytes);
      s.end();
    } else {
      client.makeUnaryRequest(
        c.rpc.path,
        identity,
        identity,
        c.bytes,
        new Metadata(),
        deadline,
        done,
      );
    }
  });
}

async function listingsAnswer(): Promise<void> {
  const client = clients.get('scheduler');
  assert.ok(client);
  for (const rpc of ['ModelStatus', 'ServerStatus', 'PipelineStatus', 'ExperimentStatus']) {
    await collect(
      client.makeServerStreamRequest(
        `/seldon.mlops.scheduler.Scheduler/${rpc}`,
        identity,
        identity,
        Buffer.alloc(0),
      ),
    );
  }
}

/** Calls made and how they were answered, reported at the end (a long run's evidence). */
const answered = new Map<string, number>();

async function check(c: Call): Promise<void> {
  const before = snapshot();
  const code = await perform(c);
  const kind = `${c.wellFormed ? 'well-formed' : 'garbage'} ${grpcStatus[code]}`;
  answered.set(kind, (answered.get(kind) ?? 0) + 1);
  if (c.wellFormed) {
    assert.ok(
      code !== grpcStatus.INTERNAL && code !== grpcStatus.UNKNOWN,
      `${c.label} answered ${grpcStatus[code]}`,
    );
  }
  const refused = code !== grpcStatus.OK;
  if (refused) {
    const now = snapshot();
    let i = 0;
    while (i < now.length && now[i] === before[i]) i++;
    assert.ok(
      now === before,
      `${c.label} was refused (${grpcStatus[code]}) but changed something: …${before.slice(Math.max(0, i - 150), i + 150)}… became …${now.slice(Math.max(0, i - 150), i + 150)}…`,
    );
  }
  await listingsAnswer();
  for (const w of watched) assert.equal(w.error, undefined, `${w.name} ended after ${c.label}`);
  assert.equal(agent.error, undefined, `the agent's stream ended after ${c.label}`);
}

describe('every RPC with extreme but well-formed messages, and with garbage', () => {
  it(`${NUM_RUNS} runs: nothing answers INTERNAL, listings and streams keep working`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof({ weight: 4, arbitrary: wellFormedCall }, { weight: 1, arbitrary: garbageCall }),
          {
            minLength: 1,
            maxLength: 8,
          },
        ),
        async (calls) => {
          for (const c of calls) await check(c);
        },
      ),
      { numRuns: NUM_RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
  });
});
