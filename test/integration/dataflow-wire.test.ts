/**
 * The dataflow (Chainer) wire: the scheduler's ChainerService over real gRPC with a fake system
 * (subscriptions, the gateway, acknowledgements, shutdown); the simulated engine (`mlsched
 * dataflow`) against a stand-in Chainer server; and the service wired into the app (health,
 * reflection).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  credentials,
  Server,
  status as grpcStatus,
  type ServiceError,
  type StatusObject,
} from '@grpc/grpc-js';
import type {
  Changes,
  DataflowOp,
  DataflowReport,
  SchedulerSystem,
} from '../../src/actors/index.js';
import { ChainerService } from '../../src/chainer/chainer.service.js';
import { fromStatusMessage, toUpdateMessage } from '../../src/wire/chainer.js';
import { failedPrecondition, unavailable } from '../../src/domain/errors.js';
import type { PipelineDefinition } from '../../src/domain/pipeline.js';
import {
  ChainerClient,
  ChainerService as ChainerServiceDefinition,
  PipelineUpdateMessage,
  PipelineUpdateMessage_PipelineOperation as Op,
  type ChainerServer,
  type PipelineSubscriptionRequest,
  type PipelineUpdateStatusMessage,
} from '../../src/gen/mlops/chainer/chainer.js';
import {
  startSimulatedDataflow,
  type SimulatedDataflow,
  type SimulatedDataflowOptions,
} from '../../src/sim/dataflow.js';
import { startScheduler, waitFor } from '../support/harness.js';
import { HealthClient, listedServices } from '../support/health.js';
import {
  bind,
  cleanupsAfterEach,
  recorder,
  StandInServer,
  startStandIn,
  type Line,
} from '../support/stand-in-server.js';

const cleanups = cleanupsAfterEach();

const definition: PipelineDefinition = {
  name: 'chain',
  steps: [
    {
      name: 'm1',
      inputs: [],
      triggers: [],
      tensorMap: {},
      inputsJoin: 'inner',
      triggersJoin: 'inner',
    },
    {
      name: 'm2',
      inputs: ['m1.outputs.t'],
      triggers: [],
      tensorMap: {},
      inputsJoin: 'inner',
      triggersJoin: 'inner',
    },
  ],
};

const createOp = (o: Partial<DataflowOp> = {}): DataflowOp => ({
  op: 'create',
  definition,
  version: 1,
  uid: 'cq2f1m1d0b3s73e6gkmg',
  timestamp: 1,
  keepTopics: false,
  ...o,
});

/** What a message looks like after a trip over the wire (unset optionals become undefined). */
const onTheWire = (m: PipelineUpdateMessage) =>
  PipelineUpdateMessage.decode(PipelineUpdateMessage.encode(m).finish());

// ── the scheduler's ChainerService ──────────────────────────────────────────────────────────

const NOTHING_CHANGED: Changes = {
  models: [],
  servers: [],
  scaling: [],
  pipelines: [],
  experiments: [],
};

/** A system that records the three calls the Chainer service makes; hooks may throw. */
function fakeSystem() {
  const calls: string[] = [];
  const reports: DataflowReport[] = [];
  const hooks: { onJoin?: (name: string) => void; onEvent?: (r: DataflowReport) => void } = {};
  const partial: Partial<SchedulerSystem> = {
    engineJoined: (name) => {
      calls.push(`joined ${name}`);
      hooks.onJoin?.(name);
      return NOTHING_CHANGED;
    },
    engineLeft: (name) => {
      calls.push(`left ${name}`);
      return NOTHING_CHANGED;
    },
    dataflowEvent: (report) => {
      hooks.onEvent?.(report);
      reports.push(report);
      return NOTHING_CHANGED;
    },
  };
  return { calls, reports, hooks, system: partial as SchedulerSystem };
}

async function chainer() {
  const fake = fakeSystem();
  const { lines, logger } = recorder();
  const service = new ChainerService({ log: logger });
  service.attach(fake.system);
  const server = new Server();
  server.addService(ChainerServiceDefinition, service.implementation());
  const port = await bind(server);
  const client = new ChainerClient(`127.0.0.1:${port}`, credentials.createInsecure());
  cleanups.push(() => {
    service.close();
    client.close();
    server.forceShutdown();
  });
  /** An engine's subscription: what it received and how it ended. */
  const subscribe = (name: string) => {
    const stream = client.subscribePipelineUpdates({ name });
    const messages: PipelineUpdateMessage[] = [];
    stream.on('data', (m: PipelineUpdateMessage) => messages.push(m));
    stream.on('error', () => undefined); // the status says how it ended
    const ended = new Promise<StatusObject>((resolve) => stream.on('status', resolve));
    return { stream, messages, ended };
  };
  const ack = (msg: PipelineUpdateStatusMessage) =>
    new Promise<object>((resolve, reject) => {
      client.pipelineUpdateEvent(msg, (err, res) => {
        if (err) reject(err);
        else resolve(res);
      });
    });
  const waitingLogged = (n: number) =>
    waitFor(`${n} waiting subscription(s)`, () =>
      lines.filter((l) => l.msg.includes('already connected; waiting')).length >= n
        ? true
        : undefined,
    );
  return { ...fake, service, client, lines, subscribe, ack, waitingLogged };
}

const joined = (c: { calls: string[] }, expected: string[]) =>
  waitFor(`calls ${expected.join(', ')}`, () =>
    c.calls.length >= expected.length ? true : undefined,
  ).then(() => {
    assert.deepEqual(c.calls, expected);
  });

describe('ChainerService', () => {
  it('registers a subscription before engineJoined, so the system can send on it at once', async () => {
    const c = await chainer();
    const sendResults: (string | undefined)[] = [];
    c.hooks.onJoin = (name) => sendResults.push(c.service.gateway.send(name, createOp()));
    const e1 = c.subscribe('e1');
    await joined(c, ['joined e1']);
    assert.deepEqual(sendResults, [undefined]);
    await waitFor('the Create', () => e1.messages.length === 1 || undefined);
    assert.deepEqual(e1.messages[0], onTheWire(toUpdateMessage(createOp())));

    const del = createOp({ op: 'delete', timestamp: 2 });
    assert.equal(c.service.gateway.send('e1', del), undefined);
    await waitFor('the Delete', () => e1.messages.length === 2 || undefined);
    assert.deepEqual([e1.messages[1]?.op, e1.messages[1]?.timestamp], [Op.Delete, 2n]);
    assert.equal(c.service.gateway.send('e2', createOp()), 'no open stream to dataflow engine e2');
  });

  it('refuses an empty name with INVALID_ARGUMENT; the system hears nothing', async () => {
    const c = await chainer();
    const st = await c.subscribe('').ended;
    assert.equal(st.code, grpcStatus.INVALID_ARGUMENT);
    assert.match(st.details, /^name: /);
    assert.deepEqual(c.calls, []);
  });

  it('a cancelled subscription leaves: engineLeft, and sends fail', async () => {
    const c = await chainer();
    const e1 = c.subscribe('e1');
    await joined(c, ['joined e1']);
    e1.stream.cancel();
    await joined(c, ['joined e1', 'left e1']);
    assert.equal(c.service.gateway.send('e1', createOp()), 'no open stream to dataflow engine e1');
  });

  it('a second subscription of the same name waits until the first ends', async () => {
    const c = await chainer();
    const first = c.subscribe('e1');
    await joined(c, ['joined e1']);
    const second = c.subscribe('e1');
    const third = c.subscribe('e1');
    await c.waitingLogged(2);
    third.stream.cancel(); // gives up while waiting: never joins
    await third.ended;
    assert.equal(c.service.gateway.send('e1', createOp()), undefined);
    await waitFor('the first gets it', () => first.messages.length === 1 || undefined);

    first.stream.cancel();
    await joined(c, ['joined e1', 'left e1', 'joined e1']);
    assert.equal(c.service.gateway.send('e1', createOp({ timestamp: 2 })), undefined);
    await waitFor('the second gets it', () => second.messages.length === 1 || undefined);
    assert.equal(second.messages[0]?.timestamp, 2n);
    assert.equal(first.messages.length, 1);
  });

  it('a failing engineJoined ends the stream with the mapped error and no engineLeft', async () => {
    const c = await chainer();
    c.hooks.onJoin = () => {
      delete c.hooks.onJoin;
      throw unavailable('not the leader');
    };
    const st = await c.subscribe('e1').ended;
    assert.equal(st.code, grpcStatus.UNAVAILABLE);
    assert.equal(st.details, 'not the leader');
    const again = c.subscribe('e1');
    await joined(c, ['joined e1', 'joined e1']);
    assert.equal(c.service.gateway.send('e1', createOp()), undefined);
    await waitFor('the retry gets it', () => again.messages.length === 1 || undefined);
  });

  it('PipelineUpdateEvent reports the decoded acknowledgement; errors are mapped', async () => {
    const c = await chainer();
    const update = { ...toUpdateMessage(createOp({ timestamp: 5 })), stream: 'e1' };
    assert.deepEqual(await c.ack({ update, success: false, reason: 'no kafka' }), {});
    assert.deepEqual(c.reports, [
      {
        engine: 'e1',
        op: 'create',
        pipeline: 'chain',
        version: 1,
        uid: 'cq2f1m1d0b3s73e6gkmg',
        timestamp: 5,
        success: false,
        reason: 'no kafka',
      },
    ]);

    const code = (p: Promise<unknown>) =>
      p.then(
        () => assert.fail('expected an error'),
        (e: unknown) => {
          const { code, details } = e as ServiceError;
          return [grpcStatus[code], details];
        },
      );
    assert.deepEqual(await code(c.ack({ success: true, reason: '' })), [
      'INVALID_ARGUMENT',
      'update: is required',
    ]);
    assert.deepEqual(
      (await code(c.ack({ update: { ...update, op: Op.Unknown }, success: true, reason: '' })))[0],
      'INVALID_ARGUMENT',
    );
    c.hooks.onEvent = () => {
      throw failedPrecondition('pipeline chain is gone');
    };
    assert.deepEqual(await code(c.ack({ update, success: true, reason: '' })), [
      'FAILED_PRECONDITION',
      'pipeline chain is gone',
    ]);
    c.hooks.onEvent = () => {
      throw new Error('bug');
    };
    assert.deepEqual(await code(c.ack({ update, success: true, reason: '' })), [
      'INTERNAL',
      'internal error handling /seldon.mlops.chainer.Chainer/PipelineUpdateEvent',
    ]);
    assert.ok(
      c.lines.some((l) => l.level === 'error'),
      'the bug is logged',
    );
    assert.equal(c.reports.length, 1);
  });

  it('close() ends every stream without engineLeft and refuses new subscriptions', async () => {
    const c = await chainer();
    const e1 = c.subscribe('e1');
    const e2 = c.subscribe('e2');
    await joined(c, ['joined e1', 'joined e2']);
    const waiting = c.subscribe('e1');
    await c.waitingLogged(1);
    c.service.close();
    const ends = await Promise.all([e1.ended, e2.ended, waiting.ended]);
    assert.deepEqual(
      ends.map((s) => s.code),
      [grpcStatus.OK, grpcStatus.OK, grpcStatus.OK],
    );
    assert.deepEqual(c.calls, ['joined e1', 'joined e2']);
    const late = await c.subscribe('e3').ended;
    assert.equal(late.code, grpcStatus.UNAVAILABLE);
    assert.equal(c.service.gateway.send('e1', createOp()), 'no open stream to dataflow engine e1');
  });
});

// ── the simulated engine ────────────────────────────────────────────────────────────────────

/**
 * A stand-in scheduler dataflow port: records subscriptions (the open stream of each engine) and
 * acks, pushes what it is told.
 */
class StandIn extends StandInServer<PipelineSubscriptionRequest, PipelineUpdateMessage, string> {
  readonly acks: PipelineUpdateStatusMessage[] = [];

  constructor() {
    super((req) => req.name);
    const impl: ChainerServer = {
      subscribePipelineUpdates: this.subscribe,
      pipelineUpdateEvent: (c, cb) => {
        this.acks.push(c.request);
        cb(null, {});
      },
    };
    this.server.addService(ChainerServiceDefinition, impl);
  }

  /** Pushes a message to an engine's open stream. */
  send(engine: string, op: DataflowOp | PipelineUpdateMessage): void {
    this.streamOf(engine, `engine ${engine}`).write('definition' in op ? toUpdateMessage(op) : op);
  }

  /** The first acknowledgement for that pipeline, op and timestamp. */
  ack(pipeline: string, op: Op, timestamp: number): Promise<PipelineUpdateStatusMessage> {
    return waitFor(`${Op[op]} ack of ${pipeline}@${timestamp}`, () =>
      this.acks.find(
        (a) =>
          a.update?.pipeline === pipeline &&
          a.update.op === op &&
          a.update.timestamp === BigInt(timestamp),
      ),
    );
  }
}

const standIn = (port = 0) => startStandIn(new StandIn(), cleanups, port);

function simEngine(
  s: StandIn | number,
  o: Partial<SimulatedDataflowOptions> = {},
): SimulatedDataflow & { lines: Line[] } {
  const { lines, logger } = recorder();
  const engine = startSimulatedDataflow({
    schedulerHost: '127.0.0.1',
    dataflowPort: typeof s === 'number' ? s : s.port,
    name: 'df-1',
    ackDelayMs: 1,
    logger,
    ...o,
  });
  cleanups.push(() => engine.stop());
  return Object.assign(engine, { lines });
}

describe('simulated dataflow engine against a stand-in Chainer server', () => {
  it('subscribes by name and acks a Create, echoing its timestamp and naming itself', async () => {
    const s = await standIn();
    const e = simEngine(s);
    await s.subscribed(1);
    assert.deepEqual(s.subscribes, [{ name: 'df-1' }]);
    s.send('df-1', createOp({ version: 4, timestamp: 42 }));
    const ack = await s.ack('chain', Op.Create, 42);
    assert.deepEqual(ack, {
      update: {
        op: Op.Create,
        pipeline: 'chain',
        version: 4,
        uid: 'cq2f1m1d0b3s73e6gkmg',
        updates: [],
        pipelineOutputTopic: '',
        pipelineErrorTopic: '',
        allowCycles: false,
        maxStepRevisits: 0,
        timestamp: 42n,
        stream: 'df-1',
      },
      success: true,
      reason: '',
    });
    // What the scheduler makes of it.
    assert.equal(fromStatusMessage(ack).engine, 'df-1');
    await waitFor(
      'connect logged',
      () => e.lines.some((l) => l.msg === 'connected to scheduler') || undefined,
    );
  });

  it('fails Creates of pipelines matching failPipeline, and acks Deletes', async () => {
    const s = await standIn();
    simEngine(s, { failPipeline: /^bad/g });
    await s.subscribed(1);
    const bad = createOp({ definition: { name: 'bad-one', steps: [] } });
    s.send('df-1', { ...bad, timestamp: 1 });
    s.send('df-1', { ...bad, timestamp: 2 }); // a /g pattern matches every time
    for (const ts of [1, 2]) {
      const failed = await s.ack('bad-one', Op.Create, ts);
      assert.equal(failed.success, false);
      assert.equal(failed.reason, 'simulated failure: pipeline bad-one matches --fail-pipeline');
    }
    s.send('df-1', createOp({ timestamp: 3 }));
    assert.equal((await s.ack('chain', Op.Create, 3)).success, true);
    s.send('df-1', { ...bad, op: 'delete', timestamp: 4 });
    const deleted = await s.ack('bad-one', Op.Delete, 4);
    assert.equal(deleted.success, true);
    assert.equal(deleted.update?.stream, 'df-1');
  });

  it('ignores messages that are neither Create nor Delete (logged) and keeps working', async () => {
    const s = await standIn();
    const e = simEngine(s);
    await s.subscribed(1);
    const base = toUpdateMessage(createOp());
    for (const op of [Op.Unknown, Op.Rebalance, Op.Ready]) s.send('df-1', { ...base, op });
    s.send('df-1', createOp({ timestamp: 9 }));
    await s.ack('chain', Op.Create, 9);
    assert.equal(s.acks.length, 1);
    assert.equal(
      e.lines.filter((l) => l.level === 'warn' && l.msg.startsWith('ignoring')).length,
      3,
    );
  });

  it('reconnects to a restarted scheduler and acks on the new connection', async () => {
    const s = await standIn();
    const e = simEngine(s);
    await s.subscribed(1);
    const port = s.port;
    s.kill();
    const again = await standIn(port);
    await again.subscribed(1);
    assert.deepEqual(again.subscribes, [{ name: 'df-1' }]);
    again.send('df-1', createOp({ timestamp: 11 }));
    await again.ack('chain', Op.Create, 11);
    await waitFor(
      'reconnect logged',
      () => e.lines.some((l) => l.msg === 'reconnected to scheduler') || undefined,
    );
    assert.ok(e.lines.some((l) => l.level === 'warn' && /reconnecting|retrying/.test(l.msg)));
  });

  it('keeps retrying with a doubling back-off while nothing listens, then connects', async () => {
    const probe = await new StandIn().listen(0);
    const port = probe.port;
    probe.kill();
    const e = simEngine(port);
    await waitFor(
      'two failed attempts',
      () =>
        e.lines.filter((l) => l.msg === 'could not subscribe to scheduler; retrying').length >= 2 ||
        undefined,
    );
    const delays = e.lines
      .map((l) => (l.obj as { retryInMs?: number }).retryInMs)
      .filter((d) => d !== undefined);
    assert.deepEqual(delays.slice(0, 2), [100, 200]);
    const s = await standIn(port);
    await s.subscribed(1);
  });

  it('stop() cancels the stream and pending acks, and never reconnects', async () => {
    const s = await standIn();
    const e = simEngine(s, { ackDelayMs: 100 });
    await s.subscribed(1);
    s.send('df-1', createOp());
    await waitFor('the Create received', () => e.lines.some((l) => l.msg === 'received'));
    await e.stop();
    await waitFor('stream cancelled at the server', () => s.cancelled === 1 || undefined);
    const port = s.port;
    s.kill();
    const again = await standIn(port);
    await new Promise((r) => setTimeout(r, 150)); // past the pending ack and the first back-off
    assert.equal(again.subscribes.length, 0);
    assert.deepEqual(s.acks, [], 'the pending ack was dropped');
    await e.stop(); // idempotent
  });

  it('refuses an empty name', () => {
    assert.throws(() => simEngine(1, { name: '' }), /name must not be empty/);
  });
});

// ── wired into the scheduler ────────────────────────────────────────────────────────────────

describe('the Chainer service in the scheduler', () => {
  it('serves health for seldon.mlops.chainer.Chainer on the dataflow port, and reflection', async () => {
    const h = await startScheduler();
    cleanups.push(() => h.stop());
    const health = new HealthClient(
      `127.0.0.1:${h.app.ports.dataflow}`,
      credentials.createInsecure(),
    );
    cleanups.push(() => {
      health.close();
    });
    const res = await new Promise<{ status: number }>((resolve, reject) => {
      health.check(
        { service: 'seldon.mlops.chainer.Chainer' },
        (err: Error | null, r: { status: number }) => {
          if (err) reject(err);
          else resolve(r);
        },
      );
    });
    assert.equal(res.status, 1);

    const services = await listedServices(h.address);
    assert.ok(services.includes('seldon.mlops.chainer.Chainer'), services.join(','));
  });
});
