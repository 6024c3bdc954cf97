/**
 * The simulated agent (`mlsched agent`) over the real agent protocol: first against a stand-in
 * AgentService that scripts the ops and records what the agent sends (loads, failures, unloads,
 * reconnect and re-announce), then against the real scheduler end to end.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { startApp } from '../../src/app.js';
import {
  AgentServiceService,
  ModelEventMessage_Event as Event,
  ModelOperationMessage_Operation as Operation,
  type AgentDrainRequest,
  type AgentServiceServer,
  type AgentSubscribeRequest,
  type ModelEventMessage,
  ModelVersion,
  type ModelOperationMessage,
} from '../../src/gen/mlops/agent/agent.js';
import {
  ModelStatus_ModelState as MS,
  SchedulerClient,
} from '../../src/gen/mlops/scheduler/scheduler.js';
import { createLogger } from '../../src/observability/logger.js';
import {
  startSimulatedAgent,
  type SimulatedAgent,
  type SimulatedAgentOptions,
} from '../../src/sim/agent.js';
import { call, collect, model, startScheduler, status, waitFor } from '../support/harness.js';
import {
  cleanupsAfterEach,
  recorder,
  StandInServer,
  startStandIn,
  type Line,
} from '../support/stand-in-server.js';

/**
 * A stand-in scheduler agent port: records subscribes (the open Subscribe stream of each replica),
 * events and drains, and pushes the ops it is told.
 */
class StandIn extends StandInServer<AgentSubscribeRequest, ModelOperationMessage, number> {
  readonly events: ModelEventMessage[] = [];
  readonly drains: AgentDrainRequest[] = [];

  constructor() {
    super((req) => req.replicaIdx);
    const impl: AgentServiceServer = {
      subscribe: this.subscribe,
      agentEvent: (c, cb) => {
        this.events.push(c.request);
        cb(null, {});
      },
      agentDrain: (c, cb) => {
        this.drains.push(c.request);
        cb(null, { success: true });
      },
      modelScalingTrigger: (_c, cb) => {
        cb(null, {});
      },
    };
    this.server.addService(AgentServiceService, impl);
  }

  /** Pushes an op to a replica's open stream. */
  send(replicaIdx: number, op: Partial<ModelOperationMessage>): void {
    this.streamOf(replicaIdx, `replica ${replicaIdx}`).write({
      operation: Operation.UNKNOWN_EVENT,
      autoscalingEnabled: false,
      ...op,
    });
  }

  load(replicaIdx: number, mv: ModelVersion): void {
    this.send(replicaIdx, { operation: Operation.LOAD_MODEL, modelVersion: mv });
  }

  unload(replicaIdx: number, mv: ModelVersion): void {
    this.send(replicaIdx, { operation: Operation.UNLOAD_MODEL, modelVersion: mv });
  }

  /** The first event for a model version with that event type. */
  event(model: string, e: Event): Promise<ModelEventMessage> {
    return waitFor(`${Event[e]} for ${model}`, () =>
      this.events.find((x) => `${x.modelName}:${x.modelVersion}` === model && x.event === e),
    );
  }
}

/** A ModelVersion as the scheduler sends it in ops. */
function mv(name: string, o: { uri?: string; memoryBytes?: number; version?: number } = {}) {
  const m = model(name, o).model;
  if (!m) throw new Error('unreachable');
  return { model: m, version: o.version ?? 1 };
}

const cleanups = cleanupsAfterEach();

const standIn = (port = 0) => startStandIn(new StandIn(), cleanups, port);

async function simAgent(
  s: StandIn,
  o: Partial<SimulatedAgentOptions> = {},
): Promise<SimulatedAgent & { lines: Line[] }> {
  const { lines, logger } = recorder();
  const a = await startSimulatedAgent({
    schedulerHost: '127.0.0.1',
    agentPort: s.port,
    server: 'sim',
    replicaIdxs: [0],
    memoryBytes: 1000,
    capabilities: ['sklearn', 'xgboost'],
    overCommitPercentage: 10,
    loadMs: 5,
    unloadMs: 5,
    logger,
    ...o,
  });
  cleanups.push(() => a.stop());
  return Object.assign(a, { lines });
}

describe('simulated agent against a stand-in AgentService', () => {
  it('subscribes each replica with its config and answers a LOAD with LOADED', async () => {
    const s = await standIn();
    const a = await simAgent(s, { replicaIdxs: [0, 1] });
    await waitFor('both replicas subscribed', () => s.streams.size === 2);
    const r1 = s.subscribes.find((r) => r.replicaIdx === 1);
    assert.deepEqual(r1, {
      serverName: 'sim',
      shared: true,
      replicaIdx: 1,
      replicaConfig: {
        inferenceSvc: 'sim-1',
        inferenceHttpPort: 9000,
        inferenceGrpcPort: 9500,
        memoryBytes: 1000n,
        capabilities: ['sklearn', 'xgboost'],
        overCommitPercentage: 10,
      },
      loadedModels: [],
      availableMemoryBytes: 1100n,
    });

    s.load(1, mv('m1', { memoryBytes: 300 }));
    const e = await s.event('m1:1', Event.LOADED);
    assert.deepEqual(e, {
      serverName: 'sim',
      replicaIdx: 1,
      modelName: 'm1',
      modelVersion: 1,
      event: Event.LOADED,
      message: '',
      availableMemoryBytes: 800n,
      runtimeInfo: undefined,
    });
    assert.deepEqual(a.loaded(1), [{ name: 'm1', version: 1 }]);
    assert.deepEqual(a.loaded(0), []);
    assert.ok(a.lines.some((l) => l.msg === 'connected to scheduler'));
  });

  it('fails a load whose uri matches failUri, and one that does not fit in memory', async () => {
    const s = await standIn();
    const a = await simAgent(s, { failUri: /broken/g });
    await s.subscribed(1);
    s.load(0, mv('bad', { uri: 'gs://broken/x' }));
    const failed = await s.event('bad:1', Event.LOAD_FAILED);
    assert.equal(failed.message, 'simulated load failure: uri gs://broken/x matches --fail-uri');
    assert.equal(failed.availableMemoryBytes, 1100n);

    s.load(0, mv('bad', { uri: 'gs://broken/x', version: 2 }));
    await s.event('bad:2', Event.LOAD_FAILED); // a /g pattern matches every time

    s.load(0, mv('big', { memoryBytes: 1101 }));
    const big = await s.event('big:1', Event.LOAD_FAIL_MEMORY);
    assert.match(big.message, /1101 bytes, 1100 available/);
    s.load(0, mv('fits', { memoryBytes: 1100 }));
    assert.equal((await s.event('fits:1', Event.LOADED)).availableMemoryBytes, 0n);
    s.load(0, mv('more', { memoryBytes: 1 }));
    assert.equal((await s.event('more:1', Event.LOAD_FAIL_MEMORY)).availableMemoryBytes, 0n);
    assert.deepEqual(a.loaded(0), [{ name: 'fits', version: 1 }]);
  });

  it('UNLOAD frees memory, and cancels a load still in progress (no LOADED for it)', async () => {
    const s = await standIn();
    const a = await simAgent(s, { loadMs: 60 });
    await s.subscribed(1);
    s.load(0, mv('kept', { memoryBytes: 300 }));
    assert.equal((await s.event('kept:1', Event.LOADED)).availableMemoryBytes, 800n);

    s.load(0, mv('quick', { memoryBytes: 100 }));
    s.unload(0, mv('quick', { memoryBytes: 100 }));
    assert.equal((await s.event('quick:1', Event.UNLOADED)).availableMemoryBytes, 800n);
    s.unload(0, mv('kept', { memoryBytes: 300 }));
    assert.equal((await s.event('kept:1', Event.UNLOADED)).availableMemoryBytes, 1100n);
    s.unload(0, mv('never', { version: 4 }));
    await s.event('never:4', Event.UNLOADED);
    // 'quick' would have loaded 60 ms after its LOAD: load something after that and check.
    s.load(0, mv('later'));
    await s.event('later:1', Event.LOADED);
    assert.deepEqual(
      s.events.filter((e) => e.modelName === 'quick').map((e) => Event[e.event]),
      ['UNLOADED'],
    );
    assert.deepEqual(a.loaded(0), [{ name: 'later', version: 1 }]);
  });

  it('ignores malformed ops (logged) and keeps working', async () => {
    const s = await standIn();
    const a = await simAgent(s);
    await s.subscribed(1);
    s.send(0, { operation: Operation.LOAD_MODEL });
    s.send(0, { operation: Operation.LOAD_MODEL, modelVersion: { version: 1 } });
    // -1 on the wire: a value the protocol does not define.
    s.send(0, { operation: Operation.UNRECOGNIZED, modelVersion: mv('odd') });
    s.send(0, { operation: Operation.UNKNOWN_EVENT, modelVersion: mv('odd') });
    s.load(0, mv('fine'));
    await s.event('fine:1', Event.LOADED);
    assert.equal(s.events.length, 1);
    assert.equal(
      a.lines.filter((l) => l.level === 'warn' && l.msg.startsWith('ignoring')).length,
      4,
    );
  });

  it('drain() calls AgentDrain and returns its success', async () => {
    const s = await standIn();
    const a = await simAgent(s, { replicaIdxs: [3] });
    assert.equal(await a.drain(3), true);
    assert.deepEqual(s.drains, [{ serverName: 'sim', replicaIdx: 3 }]);
    assert.throws(() => a.loaded(0), /no replica 0/);
  });

  it('reconnects to a restarted scheduler and re-announces what it has loaded', async () => {
    const s = await standIn();
    const a = await simAgent(s);
    await s.subscribed(1);
    const m1 = mv('m1', { memoryBytes: 300, uri: 'gs://models/m1' });
    s.load(0, m1);
    await s.event('m1:1', Event.LOADED);
    const port = s.port;
    s.kill();

    const again = await standIn(port);
    await again.subscribed(1);
    const req = again.subscribes[0];
    const onTheWire = ModelVersion.decode(ModelVersion.encode(m1).finish());
    assert.deepEqual(req?.loadedModels, [onTheWire], 'the whole definition is re-announced');
    assert.equal(req.availableMemoryBytes, 800n);
    assert.equal(req.replicaIdx, 0);
    await waitFor('reconnect logged', () =>
      a.lines.some((l) => l.msg === 'reconnected to scheduler'),
    );
    assert.ok(a.lines.some((l) => l.level === 'warn' && /reconnecting|retrying/.test(l.msg)));
    assert.deepEqual(again.events, [], 'nothing is reloaded');
    assert.deepEqual(a.loaded(0), [{ name: 'm1', version: 1 }]);

    // And it still serves ops on the new connection.
    again.load(0, mv('m2', { memoryBytes: 100 }));
    assert.equal((await again.event('m2:1', Event.LOADED)).availableMemoryBytes, 700n);
  });

  it('keeps retrying while nothing listens, then connects', async () => {
    const probe = await new StandIn().listen(0);
    const port = probe.port;
    probe.kill();
    const { lines, logger } = recorder();
    const a = await startSimulatedAgent({
      schedulerHost: '127.0.0.1',
      agentPort: port,
      server: 'sim',
      replicaIdxs: [0],
      memoryBytes: 1000,
      capabilities: [],
      overCommitPercentage: 0,
      loadMs: 0,
      logger,
    });
    cleanups.push(() => a.stop());
    await waitFor(
      'two failed attempts',
      () => lines.filter((l) => l.msg === 'could not subscribe to scheduler; retrying').length >= 2,
    );
    const delays = lines.map((l) => (l.obj as { retryInMs?: number }).retryInMs).filter(Boolean);
    assert.deepEqual(delays.slice(0, 2), [100, 200], 'back-off doubles from 100 ms');
    const s = await standIn(port);
    await s.subscribed(1);
    assert.equal(s.subscribes[0]?.availableMemoryBytes, 1000n);
  });

  it('stop() ends the stream and never reconnects', async () => {
    const s = await standIn();
    const a = await simAgent(s, { loadMs: 1000 });
    await s.subscribed(1);
    s.load(0, mv('slow'));
    await a.stop();
    await waitFor('stream cancelled at the server', () => s.cancelled === 1);
    const port = s.port;
    s.kill();
    const again = await standIn(port);
    await new Promise((r) => setTimeout(r, 300)); // longer than the first back-off
    assert.equal(again.subscribes.length, 0);
    assert.deepEqual(s.events, [], 'the pending load was dropped');
    await a.stop(); // idempotent
  });
});

describe('simulated agent against the real scheduler', () => {
  it('loads models, fails by failUri with a reason', async () => {
    const h = await startScheduler();
    cleanups.push(() => h.stop());
    const { logger } = recorder();
    const a = await startSimulatedAgent({
      schedulerHost: '127.0.0.1',
      agentPort: h.app.ports.agent,
      server: 'sim',
      replicaIdxs: [0],
      memoryBytes: 2 ** 30,
      capabilities: ['sklearn'],
      overCommitPercentage: 10,
      loadMs: 20,
      failUri: /broken/,
      logger,
    });
    cleanups.push(() => a.stop());
    await call(h.client.loadModel.bind(h.client), model('good'));
    await call(h.client.loadModel.bind(h.client), model('bad', { uri: 'gs://broken/x' }));
    await waitFor(
      'good Available',
      async () => (await status(h, 'good')).versions[0]?.state?.state === MS.ModelAvailable,
    );
    const bad = await waitFor('bad Failed', async () => {
      const v = (await status(h, 'bad')).versions[0];
      return v?.state?.state === MS.ModelFailed && v;
    });
    assert.equal(bad.state?.reason, 'simulated load failure: uri gs://broken/x matches --fail-uri');
  });

  it('a restarted scheduler gets the re-announced model back Available, without a reload', async () => {
    const config = {
      host: '127.0.0.1',
      schedulerPort: 0,
      agentPort: 0,
      dataflowPort: 0,
      httpPort: 0,
      store: { kind: 'memory' as const },
      logLevel: 'silent',
      version: 'test',
    };
    const silent = createLogger('silent');
    const first = await startApp(config, silent);
    const client1 = new SchedulerClient(
      `127.0.0.1:${first.ports.scheduler}`,
      credentials.createInsecure(),
    );
    const { lines, logger } = recorder();
    const a = await startSimulatedAgent({
      schedulerHost: '127.0.0.1',
      agentPort: first.ports.agent,
      server: 'sim',
      replicaIdxs: [0],
      memoryBytes: 2 ** 30,
      capabilities: ['sklearn'],
      overCommitPercentage: 10,
      loadMs: 20,
      logger,
    });
    cleanups.push(() => a.stop());
    await call(client1.loadModel.bind(client1), model('kept'));
    const statusOf = async (client: SchedulerClient) => {
      const [res] = await collect(
        client.modelStatus({ subscriberName: 't', model: { name: 'kept' }, allVersions: false }),
      );
      if (!res) throw new Error('no status for kept');
      return res;
    };
    await waitFor(
      'kept Available',
      async () => (await statusOf(client1)).versions[0]?.state?.state === MS.ModelAvailable,
    );
    client1.close();
    const { agent: agentPort } = first.ports;
    await first.stop(200);

    const second = await startApp({ ...config, agentPort }, silent);
    cleanups.push(() => second.stop(200));
    const client2 = new SchedulerClient(
      `127.0.0.1:${second.ports.scheduler}`,
      credentials.createInsecure(),
    );
    cleanups.push(() => {
      client2.close();
    });
    const v = await waitFor(
      'kept re-announced and Available',
      async () => {
        const x = (await statusOf(client2)).versions[0];
        return x?.state?.state === MS.ModelAvailable && x;
      },
      5000,
    );
    assert.equal(v.version, 1);
    assert.deepEqual(a.loaded(0), [{ name: 'kept', version: 1 }]);
    const loads = lines.filter(
      (l) => (l.obj as { event?: string; model?: string }).event === 'LOADED',
    );
    assert.equal(loads.length, 1, 'loaded once, never again after the restart');
  });
});
