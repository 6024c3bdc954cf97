/**
 * The scheduler and fake agents over the real gRPC protocols (the reference's agent
 * scenarios): what agents receive, how their replies move replicas, and what a lost replica does.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import {
  ModelStatus_ModelState as MS,
  ModelReplicaStatus_ModelReplicaState as RS,
} from '../../src/gen/mlops/scheduler/scheduler.js';
import {
  connectFakeAgent,
  describe as op,
  Event,
  type FakeAgent,
  type FakeAgentExtras,
} from '../support/fake-agent.js';
import {
  call,
  collect,
  model,
  startScheduler,
  status,
  waitFor,
  type Harness,
} from '../support/harness.js';

let h: Harness;
let agents: FakeAgent[] = [];
const agent = async (server: string, idx: number, o: FakeAgentExtras = {}) => {
  const a = await connectFakeAgent({ ...o, address: h.agentAddress, server, replicaIdx: idx });
  agents.push(a);
  return a;
};
const joined = (server: string, replicas: number) =>
  waitFor(`${server} to have ${replicas} replicas`, async () => {
    const all = await collect(h.client.serverStatus({ subscriberName: 't' }));
    return all.find((s) => s.serverName === server)?.availableReplicas === replicas;
  });
const load = (req: ReturnType<typeof model>) => call(h.client.loadModel.bind(h.client), req);
const unload = (name: string) => call(h.client.unloadModel.bind(h.client), { model: { name } });
const stateOf = async (name: string) => (await status(h, name)).versions[0]?.state?.state;

before(async () => {
  h = await startScheduler();
});
after(async () => {
  await h.stop();
});
afterEach(async () => {
  await Promise.all(agents.map((a) => a.disconnect()));
  agents = [];
});

describe('agent protocol', () => {
  it('#28 #29 sends LOAD_MODEL with the definition and version; LOADED makes it Available', async () => {
    const a = await agent('p1', 0);
    await joined('p1', 1);
    await load(model('m28', { memoryBytes: 100, server: 'p1' }));
    const o = await a.nextOp();
    assert.equal(op(o), 'load m28:1');
    assert.equal(o.autoscalingEnabled, false);
    assert.equal(o.modelVersion?.model?.modelSpec?.uri, 'gs://models/m28');
    assert.equal((await status(h, 'm28')).versions[0]?.modelReplicaState[0]?.state, RS.Loading);
    await a.loaded(o, 800);
    await waitFor('m28 Available', async () => (await stateOf('m28')) === MS.ModelAvailable);
    const [s] = await collect(h.client.serverStatus({ subscriberName: 't', name: 'p1' }));
    assert.deepEqual(s?.resources, [
      {
        replicaIdx: 0,
        totalMemoryBytes: 1000n,
        availableMemoryBytes: 800n,
        numLoadedModels: 1,
        overCommitPercentage: 10,
      },
    ]);
    assert.equal(s.numLoadedModelReplicas, 1);
  });

  it('#30 #31 LOAD_FAILED gives ModelFailed with the reason; a stale LOADED is FAILED_PRECONDITION', async () => {
    const a = await agent('p2', 0);
    await joined('p2', 1);
    await load(model('m30', { server: 'p2' }));
    const o = await a.nextOp();
    await a.failed(o, 'boom');
    await waitFor('m30 failed', async () => (await stateOf('m30')) === MS.ModelFailed);
    const v = (await status(h, 'm30')).versions[0];
    assert.equal(v?.state?.reason, 'boom');
    assert.equal(v.modelReplicaState[0]?.state, RS.LoadFailed);
    await assert.rejects(a.loaded(o), (e: ServiceError) => {
      assert.equal(e.code, grpcStatus.FAILED_PRECONDITION);
      assert.match(e.details, /State mismatch for m30:1 expected state Loading but was LoadFailed/);
      return true;
    });
  });

  it('#32 events for unknown models or versions are rejected naming the field', async () => {
    const a = await agent('p3', 0);
    await joined('p3', 1);
    await assert.rejects(
      a.send({ modelName: 'ghost', modelVersion: 1, event: Event.LOADED }),
      (e: ServiceError) => {
        assert.equal(e.code, grpcStatus.FAILED_PRECONDITION);
        assert.equal(e.details, 'modelName: failed to find model ghost');
        return true;
      },
    );
    await assert.rejects(
      a.send({ modelName: 'Bad.Name', modelVersion: 1, event: Event.LOADED }),
      (e: ServiceError) => {
        assert.equal(e.code, grpcStatus.INVALID_ARGUMENT);
        assert.match(e.details, /^modelName: /);
        return true;
      },
    );
    await assert.rejects(
      a.send({ modelName: 'ghost', modelVersion: 0, event: Event.LOADED }),
      /modelVersion/,
    );
    // A number outside the enum, as a newer agent could send it.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- deliberately bad input
    const outsideTheEnum: Event = Number('42');
    await assert.rejects(
      a.send({ modelName: 'ghost', modelVersion: 1, event: outsideTheEnum }),
      (e: ServiceError) => {
        assert.equal(e.code, grpcStatus.INVALID_ARGUMENT);
        assert.equal(e.details, 'event: unknown event value 42');
        return true;
      },
    );
  });

  it('#35 #37 UnloadModel sends UNLOAD_MODEL; UNLOADED makes it Terminated; unknown is FAILED_PRECONDITION', async () => {
    const a = await agent('p4', 0);
    await joined('p4', 1);
    await load(model('m35', { server: 'p4' }));
    await a.loaded(await a.nextOp());
    await waitFor('m35 Available', async () => (await stateOf('m35')) === MS.ModelAvailable);
    await unload('m35');
    const res = await status(h, 'm35');
    assert.equal(res.deleted, true);
    assert.equal(res.versions[0]?.state?.state, MS.ModelTerminating);
    const o = await a.nextOp();
    assert.equal(op(o), 'unload m35:1');
    await a.unloaded(o);
    await waitFor('m35 Terminated', async () => (await stateOf('m35')) === MS.ModelTerminated);
    await unload('m35');
    await assert.rejects(unload('never-loaded'), (e: ServiceError) => {
      assert.equal(e.code, grpcStatus.FAILED_PRECONDITION);
      assert.equal(e.details, 'Model never-loaded not found');
      return true;
    });
  });

  it('#48 a replica that disconnects has its models placed on the other replica', async () => {
    const a0 = await agent('p5', 0);
    const a1 = await agent('p5', 1);
    await joined('p5', 2);
    await load(model('m48', { server: 'p5' }));
    const holder = (await status(h, 'm48')).versions[0]?.modelReplicaState[0] ? a0 : a1;
    const other = holder === a0 ? a1 : a0;
    await holder.loaded(await holder.nextOp());
    await waitFor('m48 Available', async () => (await stateOf('m48')) === MS.ModelAvailable);
    await holder.disconnect();
    agents = agents.filter((x) => x !== holder);
    const o = await other.nextOp();
    assert.equal(op(o), 'load m48:1');
    await other.loaded(o);
    await waitFor('m48 Available again', async () => (await stateOf('m48')) === MS.ModelAvailable);
    assert.deepEqual(Object.keys((await status(h, 'm48')).versions[0]?.modelReplicaState ?? {}), [
      String(other.replicaIdx),
    ]);
  });

  it('#55 a replica re-announcing a model after a restart makes it Available without a load', async () => {
    const a = await agent('p6', 0, {
      loadedModels: [{ model: model('m55', { server: 'p6' }).model, version: 3 }],
    });
    await waitFor(
      'm55 Available',
      async () => (await stateOf('m55').catch(() => undefined)) === MS.ModelAvailable,
    );
    assert.equal((await status(h, 'm55')).versions[0]?.version, 3);
    await a.expectNoOp(100);
  });

  it('#56 a second stream for a connected replica waits until the first ends', async () => {
    const first = await agent('p7', 0);
    await joined('p7', 1);
    const second = await agent('p7', 0);
    await load(model('m56', { server: 'p7' }));
    assert.equal(op(await first.nextOp()), 'load m56:1');
    await second.expectNoOp(100);
    await first.disconnect();
    agents = agents.filter((x) => x !== first);
    assert.equal(op(await second.nextOp()), 'load m56:1');
  });

  it('#57 AgentDrain moves models and answers once they are Available elsewhere', async () => {
    const a0 = await agent('p8', 0);
    await joined('p8', 1);
    await load(model('m57', { server: 'p8' }));
    await a0.loaded(await a0.nextOp());
    const a1 = await agent('p8', 1);
    await joined('p8', 2);
    const drained = a0.drain();
    const o = await a1.nextOp();
    assert.equal(op(o), 'load m57:1');
    const v = (await status(h, 'm57')).versions[0];
    assert.equal(v?.modelReplicaState[0]?.state, RS.Draining);
    const [during] = await collect(h.client.serverStatus({ subscriberName: 't', name: 'p8' }));
    assert.equal(during?.availableReplicas, 1, '#46 a draining replica is not counted');
    assert.deepEqual(
      during.resources.map((r) => r.replicaIdx),
      [1],
    );
    await a1.loaded(o);
    assert.equal(await drained, true);
    await a0.expectNoOp(50);
  });

  it('#59 ModelScalingTrigger is UNIMPLEMENTED', async () => {
    const { AgentServiceClient } = await import('../../src/gen/mlops/agent/agent.js');
    const { credentials } = await import('@grpc/grpc-js');
    const c = new AgentServiceClient(h.agentAddress, credentials.createInsecure());
    await new Promise<void>((resolve) => {
      const s = c.modelScalingTrigger((err) => {
        assert.equal(err?.code, grpcStatus.UNIMPLEMENTED);
        assert.equal(err.details, 'autoscaling models is disabled');
        resolve();
      });
      s.end();
    });
    c.close();
  });
});
