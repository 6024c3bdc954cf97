/**
 * The Scheduler service over gRPC: validation and error codes, status streams, health and
 * reflection. Bad input gets a one-line error naming the field and changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credentials, status as grpcStatus } from '@grpc/grpc-js';
import { HealthClient, listedServices } from '../support/health.js';
import {
  ControlPlaneResponse_Event,
  ModelStatus_ModelState as MS,
  ModelStatusResponse,
  ServerStatusResponse_Type,
  type ServerStatusResponse,
} from '../../src/gen/mlops/scheduler/scheduler.js';
import { connectFakeAgent, type FakeAgent } from '../support/fake-agent.js';
import {
  call,
  collect,
  model,
  rejectsWith,
  startScheduler,
  status,
  waitFor,
  type Harness,
} from '../support/harness.js';

let h: Harness;
const load = (req: Parameters<Harness['client']['loadModel']>[0]) =>
  call(h.client.loadModel.bind(h.client), req);

before(async () => {
  h = await startScheduler();
});
after(async () => {
  await h.stop();
});

describe('validation', () => {
  it('#1 rejects invalid model names with the reference text, naming the field', async () => {
    for (const name of ['Iris', 'iris.v1', '', '-a', 'a'.repeat(300)]) {
      await rejectsWith(
        load(model(name)),
        grpcStatus.INVALID_ARGUMENT,
        /^model\.meta\.name: Model .* does not have a valid name - it must be alphanumeric and not contains dots \(\.\)/,
      );
    }
    await rejectsWith(load({}), grpcStatus.INVALID_ARGUMENT, 'model: is required');
  });

  it("accepts maxReplicas 4294967295, what Seldon's operator sends when a manifest sets none", async () => {
    const m = model('unbounded');
    m.model!.deploymentSpec = {
      replicas: 1,
      minReplicas: 0,
      maxReplicas: 4294967295,
      logPayloads: false,
    };
    await load(m);
    await call(h.client.serverNotify.bind(h.client), {
      servers: [
        {
          name: 'unbounded',
          expectedReplicas: 1,
          minReplicas: 0,
          maxReplicas: 4294967295,
          shared: true,
        },
      ],
      isFirstSync: false,
    });
    const [s] = await collect(h.client.serverStatus({ subscriberName: 't', name: 'unbounded' }));
    assert.equal(s?.expectedReplicas, 1);
    await call(h.client.unloadModel.bind(h.client), { model: { name: 'unbounded' } });
  });

  it('rejects bad sizes and specs naming the field, and changes nothing', async () => {
    const bad = model('bad');
    bad.model!.modelSpec!.uri = '';
    await rejectsWith(load(bad), grpcStatus.INVALID_ARGUMENT, /^model\.modelSpec\.uri: /);
    const big = model('bad', { memoryBytes: 2 ** 52 });
    await rejectsWith(
      load(big),
      grpcStatus.INVALID_ARGUMENT,
      /^model\.modelSpec\.memoryBytes: must be a whole number between 0 and/,
    );
    await rejectsWith(
      load(model('bad', { replicas: 1_000_000 })),
      grpcStatus.INVALID_ARGUMENT,
      /^model\.deploymentSpec\.replicas: /,
    );
    const minMax = model('bad');
    minMax.model!.deploymentSpec = {
      replicas: 1,
      minReplicas: 3,
      maxReplicas: 2,
      logPayloads: false,
    };
    await rejectsWith(
      load(minMax),
      grpcStatus.INVALID_ARGUMENT,
      /^model\.deploymentSpec\.minReplicas: 3 is above maxReplicas 2/,
    );
    const emptyReq = model('bad', { requirements: [' '] });
    await rejectsWith(
      load(emptyReq),
      grpcStatus.INVALID_ARGUMENT,
      'model.modelSpec.requirements[0]: must not be empty',
    );
    await rejectsWith(
      load(model('bad', { server: 'Not_A_Server' })),
      grpcStatus.INVALID_ARGUMENT,
      /^model\.modelSpec\.server: /,
    );
    await rejectsWith(
      collect(
        h.client.modelStatus({ subscriberName: 't', model: { name: 'bad' }, allVersions: false }),
      ),
      grpcStatus.FAILED_PRECONDITION,
      'Failed to find model bad',
    );
  });

  it('rejects bad names on unload, status and ServerNotify; unknown ones are FAILED_PRECONDITION', async () => {
    await rejectsWith(
      call(h.client.unloadModel.bind(h.client), { model: { name: '' } }),
      grpcStatus.INVALID_ARGUMENT,
      /^model\.name: /,
    );
    await rejectsWith(
      call(h.client.unloadModel.bind(h.client), {}),
      grpcStatus.INVALID_ARGUMENT,
      /^model\.name: /,
    );
    await rejectsWith(
      collect(
        h.client.modelStatus({ subscriberName: 't', model: { name: 'A' }, allVersions: false }),
      ),
      grpcStatus.INVALID_ARGUMENT,
      /^model\.name: /,
    );
    await rejectsWith(
      collect(h.client.serverStatus({ subscriberName: 't', name: 'nope' })),
      grpcStatus.FAILED_PRECONDITION,
      'Server [nope] not found',
    );
    await rejectsWith(
      collect(h.client.serverStatus({ subscriberName: 't', name: '' })),
      grpcStatus.INVALID_ARGUMENT,
      'name: server name must not be empty',
    );
    const notify = (servers: { name: string; expectedReplicas: number }[]) =>
      call(h.client.serverNotify.bind(h.client), {
        servers: servers.map((s) => ({ ...s, minReplicas: 0, maxReplicas: 0, shared: true })),
        isFirstSync: false,
      });
    await rejectsWith(
      notify([
        { name: 'ok-one', expectedReplicas: 1 },
        { name: '', expectedReplicas: 1 },
      ]),
      grpcStatus.INVALID_ARGUMENT,
      'servers[1].name: server name must not be empty',
    );
    await rejectsWith(
      collect(h.client.serverStatus({ subscriberName: 't', name: 'ok-one' })),
      grpcStatus.FAILED_PRECONDITION,
      'Server [ok-one] not found',
    );
    await notify([{ name: 'ok-one', expectedReplicas: 2 }]);
    const [s] = await collect(h.client.serverStatus({ subscriberName: 't', name: 'ok-one' }));
    assert.equal(s?.expectedReplicas, 2);
    assert.equal(s.availableReplicas, 0);
  });

  it('#42 SchedulerStatus answers with the application version', async () => {
    const res: { applicationVersion: string } = await call(
      h.client.schedulerStatus.bind(h.client),
      { subscriberName: 't' },
    );
    assert.equal(res.applicationVersion, 'test');
  });
});

describe('status streams', () => {
  it('#62 #63 SubscribeModelStatus sends current state, then every change; ModelStatus{} lists all', async () => {
    const a: FakeAgent = await connectFakeAgent({
      address: h.agentAddress,
      server: 'st',
      replicaIdx: 0,
    });
    await load(model('st-a', { server: 'st' }));
    const sub = h.client.subscribeModelStatus({ subscriberName: 'ctl' });
    const seen: ModelStatusResponse[] = [];
    sub.on('data', (m: ModelStatusResponse) => seen.push(m));
    sub.on('error', () => undefined);
    await waitFor('initial st-a', () => seen.some((m) => m.modelName === 'st-a'));
    const op = await a.nextOp();
    await a.loaded(op);
    await waitFor('st-a Available pushed', () =>
      seen.some((m) => m.modelName === 'st-a' && m.versions[0]?.state?.state === MS.ModelAvailable),
    );
    await call(h.client.unloadModel.bind(h.client), { model: { name: 'st-a' } });
    await waitFor('deleted pushed', () => seen.some((m) => m.modelName === 'st-a' && m.deleted));
    const all = await collect(h.client.modelStatus({ subscriberName: 't', allVersions: false }));
    assert.ok(all.some((m) => m.modelName === 'st-a' && m.deleted));
    sub.cancel();
    await a.disconnect();
  });

  it('SubscribeServerStatus pushes when a replica connects and disconnects', async () => {
    const sub = h.client.subscribeServerStatus({ subscriberName: 'ctl' });
    const seen: ServerStatusResponse[] = [];
    sub.on('data', (m: ServerStatusResponse) => seen.push(m));
    sub.on('error', () => undefined);
    const a = await connectFakeAgent({ address: h.agentAddress, server: 'push', replicaIdx: 0 });
    await waitFor('connect pushed', () =>
      seen.some((s) => s.serverName === 'push' && s.availableReplicas === 1),
    );
    assert.equal(
      seen.find((s) => s.serverName === 'push')?.type,
      ServerStatusResponse_Type.StatusUpdate,
    );
    const b = await connectFakeAgent({ address: h.agentAddress, server: 'push', replicaIdx: 1 });
    await waitFor('second replica pushed', () =>
      seen.some((s) => s.serverName === 'push' && s.availableReplicas === 2),
    );
    await b.disconnect();
    await waitFor(
      'disconnect pushed',
      () => seen.filter((s) => s.serverName === 'push').at(-1)?.availableReplicas === 1,
    );
    sub.cancel();
    await a.disconnect();
  });

  it('#53 SubscribeServerStatus carries ScalingRequests', async () => {
    await call(h.client.serverNotify.bind(h.client), {
      servers: [{ name: 'scl', expectedReplicas: 2, minReplicas: 0, maxReplicas: 3, shared: true }],
      isFirstSync: false,
    });
    const a = await connectFakeAgent({ address: h.agentAddress, server: 'scl', replicaIdx: 0 });
    const sub = h.client.subscribeServerStatus({ subscriberName: 'ctl' });
    const seen: ServerStatusResponse[] = [];
    sub.on('data', (m: ServerStatusResponse) => seen.push(m));
    sub.on('error', () => undefined);
    await load(model('scaled', { server: 'scl' }));
    await a.loaded(await a.nextOp());
    await load(model('scaled', { server: 'scl', replicas: 5 }));
    const req = await waitFor('a scaling request', () =>
      seen.find((m) => m.type === ServerStatusResponse_Type.ScalingRequest),
    );
    assert.equal(req.serverName, 'scl');
    assert.equal(req.expectedReplicas, 3);
    sub.cancel();
    await a.disconnect();
  });

  it('a subscriber that stops reading does not delay the others', async () => {
    // A raw subscriber that never reads: its HTTP/2 window fills while a normal one keeps up.
    const stalled = h.client.subscribeModelStatus({ subscriberName: 'stalled' });
    stalled.pause();
    stalled.on('error', () => undefined);
    const live = h.client.subscribeModelStatus({ subscriberName: 'live' });
    const names = new Set<string>();
    live.on('data', (m: ModelStatusResponse) => names.add(m.modelName));
    live.on('error', () => undefined);
    const uri = `gs://${'x'.repeat(3000)}`;
    for (let i = 0; i < 200; i++) await load(model(`slow-${i}`, { uri, replicas: 0 }));
    await waitFor(
      'live subscriber saw every model',
      () => names.size >= 200 && [...Array(200).keys()].every((i) => names.has(`slow-${i}`)),
    );
    stalled.cancel();
    live.cancel();
  });
});

describe('status fan-out', () => {
  it('encodes each status message once, however many subscribers it goes to', async () => {
    // The server encodes through ModelStatusResponse.encode; count the calls for this test's model.
    const encode = ModelStatusResponse.encode.bind(ModelStatusResponse);
    let encoded = 0;
    ModelStatusResponse.encode = (m, w) => {
      if (m.modelName === 'fan-1') encoded++;
      return encode(m, w);
    };
    try {
      const subs = ['s1', 's2', 's3'].map((subscriberName) => {
        const sub = h.client.subscribeModelStatus({ subscriberName });
        const seen: number[] = [];
        sub.on('data', (m: ModelStatusResponse) => {
          if (m.modelName === 'fan-1') seen.push(m.versions.at(-1)?.state?.state ?? -1);
        });
        sub.on('error', () => undefined);
        return { sub, seen };
      });
      await load(model('fan-1', { replicas: 0 }));
      await waitFor('every subscriber saw fan-1', () => subs.every((s) => s.seen.length > 0));
      await new Promise((r) => setTimeout(r, 50));
      const received = subs.map((s) => s.seen.length);
      assert.ok(
        encoded <= Math.max(...received),
        `${encoded} encodes for ${received.join('+')} messages received`,
      );
      for (const s of subs) s.sub.cancel();
    } finally {
      ModelStatusResponse.encode = encode;
    }
  });
});

describe('control plane', () => {
  it('#65 SubscribeControlPlane sends SEND_SERVERS then SEND_RESOURCES and stays open', async () => {
    const sub = h.client.subscribeControlPlane({ subscriberName: 'operator' });
    const events: number[] = [];
    sub.on('data', (m: { event: number }) => events.push(m.event));
    sub.on('error', () => undefined);
    await waitFor('two events', () => events.length >= 2);
    assert.deepEqual(events, [
      ControlPlaneResponse_Event.SEND_SERVERS,
      ControlPlaneResponse_Event.SEND_RESOURCES,
    ]);
    let ended = false;
    sub.on('end', () => (ended = true));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(ended, false);
    sub.cancel();
  });
});

describe('health and reflection', () => {
  it('answers gRPC health checks on the scheduler port', async () => {
    const c = new HealthClient(h.address, credentials.createInsecure());
    const res = await new Promise<{ status: number }>((resolve, reject) => {
      c.check(
        { service: 'seldon.mlops.scheduler.Scheduler' },
        (err: Error | null, r: { status: number }) => {
          if (err) reject(err);
          else resolve(r);
        },
      );
    });
    assert.equal(res.status, 1);
    c.close();
  });

  it('lists the Scheduler service through server reflection', async () => {
    const services = await listedServices(h.address);
    assert.ok(services.includes('seldon.mlops.scheduler.Scheduler'), services.join(','));
  });

  it('the model of a bad request was never created', async () => {
    assert.equal((await status(h, 'st-a').catch(() => undefined))?.modelName, 'st-a');
    await assert.rejects(status(h, 'bad'));
  });
});
