/**
 * 64-bit fields at their extremes over the real gRPC services: every int64/uint64 is decoded without
 * loss and checked at the edge, so a value the scheduler cannot represent is INVALID_ARGUMENT naming
 * the field and its bounds, and nothing else changes. A model version derived from a generation fits
 * the uint32 the API carries, and a status that still cannot be encoded never breaks a listing, a
 * status stream or an agent's stream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credentials, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import {
  AgentServiceClient,
  ModelEventMessage_Event as Event,
  type AgentSubscribeRequest,
} from '../../src/gen/mlops/agent/agent.js';
import {
  ModelStatus_ModelState as MS,
  type ModelStatusResponse,
} from '../../src/gen/mlops/scheduler/scheduler.js';
import { INT64_EXTREMES, UINT64_EXTREMES } from '../support/extremes.js';
import { autoAgent, connectFakeAgent, type FakeAgent } from '../support/fake-agent.js';
import {
  call,
  collect,
  model,
  rejectsWith,
  startScheduler,
  waitFor,
  type Harness,
} from '../support/harness.js';

const U32 = 2n ** 32n - 1n;

let h: Harness;
const agents: FakeAgent[] = [];

before(async () => {
  h = await startScheduler();
  for (const server of ['a', 'b']) {
    const agent = await connectFakeAgent({
      address: h.agentAddress,
      server,
      replicaIdx: 0,
      memoryBytes: 1e9,
    });
    autoAgent(agent);
    agents.push(agent);
  }
});
after(async () => {
  for (const a of agents) await a.disconnect();
  await h.stop();
});

const load = (req: ReturnType<typeof model>) => call(h.client.loadModel.bind(h.client), req);
const names = async () =>
  (await collect(h.client.modelStatus({ subscriberName: 't', allVersions: false }))).map(
    (s) => s.modelName,
  );
const withGeneration = (name: string, generation: bigint) => {
  const req = model(name);
  if (req.model?.meta) req.model.meta.kubernetesMeta = { namespace: 'ns', generation };
  return req;
};

describe('64-bit fields of the Scheduler service', () => {
  it('a generation outside 0..2^32-1 is refused naming the field; the listing is unchanged', async () => {
    await load(model('kept'));
    for (const g of INT64_EXTREMES.filter((g) => g < 0n || g > U32)) {
      await rejectsWith(
        load(withGeneration('g', g)),
        grpcStatus.INVALID_ARGUMENT,
        `model.meta.kubernetesMeta.generation: must be a whole number between 0 and 4294967295 (a model version is a uint32), got ${g}`,
      );
    }
    assert.deepEqual(await names(), ['kept']);
  });

  it('memoryBytes beyond what a number keeps exactly is refused naming the field', async () => {
    for (const m of UINT64_EXTREMES.filter((m) => m > 2n ** 50n)) {
      const req = model('mem');
      if (req.model?.modelSpec) req.model.modelSpec.memoryBytes = m;
      await rejectsWith(
        load(req),
        grpcStatus.INVALID_ARGUMENT,
        new RegExp(
          `^model\\.modelSpec\\.memoryBytes: must be a whole number between 0 and \\d+, got ${m}$`,
        ),
      );
    }
    assert.ok(!(await names()).includes('mem'));
  });

  it('ServerNotify and UnloadModel check their generations too', async () => {
    await rejectsWith(
      call(h.client.serverNotify.bind(h.client), {
        servers: [
          {
            name: 's',
            expectedReplicas: 1,
            minReplicas: 0,
            maxReplicas: 1,
            shared: false,
            kubernetesMeta: { namespace: 'ns', generation: 2n ** 63n - 1n },
          },
        ],
        isFirstSync: false,
      }),
      grpcStatus.INVALID_ARGUMENT,
      /^servers\[0\]\.kubernetesMeta\.generation: must be a whole number between 0 and 4294967295/,
    );
    await rejectsWith(
      call(h.client.unloadModel.bind(h.client), {
        model: { name: 'kept' },
        kubernetesMeta: { namespace: 'ns', generation: -(2n ** 63n) },
      }),
      grpcStatus.INVALID_ARGUMENT,
      /^kubernetesMeta\.generation: must be a whole number between 0 and 4294967295/,
    );
    assert.ok((await names()).includes('kept'));
  });

  it('the highest version is served; a new spec beyond it is refused, nothing else changes', async () => {
    await load(withGeneration('top', U32));
    const [status] = await collect(
      h.client.modelStatus({ subscriberName: 't', model: { name: 'top' }, allVersions: false }),
    );
    const [top] = status?.versions ?? [];
    assert.equal(top?.version, Number(U32));
    assert.equal(top.kubernetesMeta?.generation, U32);
    const changed = withGeneration('top', U32);
    if (changed.model?.modelSpec) changed.model.modelSpec.uri = 'gs://models/top-v2';
    await rejectsWith(
      load(changed),
      grpcStatus.FAILED_PRECONDITION,
      'Model top is at version 4294967295, the highest a version can be: unload it and load it again to start from its generation',
    );
    await waitFor('top Available', async () => {
      const [s] = await collect(
        h.client.modelStatus({ subscriberName: 't', model: { name: 'top' }, allVersions: false }),
      );
      return s?.versions[0]?.state?.state === MS.ModelAvailable;
    });
  });
});

describe('a status that cannot be encoded', () => {
  it('is left out of listings and streams; everything else keeps working', async () => {
    // A model at the highest version moves to the other server when its own is scaled to 0: the
    // move makes a version beyond a uint32, whose status cannot be encoded.
    await call(h.client.serverNotify.bind(h.client), {
      servers: ['a', 'b'].map((name) => ({
        name,
        expectedReplicas: 1,
        minReplicas: 0,
        maxReplicas: 1,
        shared: true,
      })),
      isFirstSync: false,
    });
    await load(withGeneration('moving', U32));
    const server = await waitFor('moving placed', async () => {
      const [s] = await collect(
        h.client.modelStatus({
          subscriberName: 't',
          model: { name: 'moving' },
          allVersions: false,
        }),
      );
      const server = s?.versions[0]?.serverName;
      return server === '' ? undefined : server;
    });
    const stream = h.client.subscribeModelStatus({ subscriberName: 'watch' });
    const seen: ModelStatusResponse[] = [];
    stream.on('data', (m: ModelStatusResponse) => seen.push(m));
    let streamError: unknown;
    stream.on('error', (e: ServiceError) => {
      if (e.code !== grpcStatus.CANCELLED) streamError = e;
    });
    await call(h.client.serverNotify.bind(h.client), {
      servers: [
        { name: server, expectedReplicas: 0, minReplicas: 0, maxReplicas: 1, shared: true },
      ],
      isFirstSync: false,
    });
    // The listing answers for the others and leaves the unencodable one out.
    await waitFor(
      'moving left out of the listing',
      async () => !(await names()).includes('moving'),
    );
    assert.ok((await names()).includes('kept'));
    // The stream and both agents' streams still work: a new model reaches an agent and Available.
    await load(model('after'));
    await waitFor('after Available on the stream', () =>
      seen.some(
        (s) => s.modelName === 'after' && s.versions[0]?.state?.state === MS.ModelAvailable,
      ),
    );
    assert.equal(streamError, undefined);
    for (const a of agents) assert.equal(a.error, undefined, `agent ${a.server} stream`);
    stream.cancel();
  });
});

describe('64-bit fields of the AgentService', () => {
  const client = () => new AgentServiceClient(h.agentAddress, credentials.createInsecure());
  const subscribe = (req: Partial<AgentSubscribeRequest>) =>
    new Promise<ServiceError>((resolve) => {
      const c = client();
      const s = c.subscribe({
        serverName: 'big',
        shared: true,
        replicaIdx: 0,
        loadedModels: [],
        availableMemoryBytes: 0n,
        ...req,
      });
      s.on('data', () => undefined);
      s.on('error', (e: ServiceError) => {
        c.close();
        resolve(e);
      });
    });

  it('replica memory beyond a safe integer is refused naming the field', async () => {
    for (const m of UINT64_EXTREMES.filter((m) => m > 2n ** 53n)) {
      const config = {
        inferenceSvc: 'x',
        inferenceHttpPort: 1,
        inferenceGrpcPort: 2,
        capabilities: [],
        overCommitPercentage: 0,
      };
      const e1 = await subscribe({ replicaConfig: { ...config, memoryBytes: m } });
      assert.equal(e1.code, grpcStatus.INVALID_ARGUMENT);
      assert.match(e1.details, /^replicaConfig\.memoryBytes: must be a whole number between 0 and/);
      const e2 = await subscribe({
        replicaConfig: { ...config, memoryBytes: 1000n },
        availableMemoryBytes: m,
      });
      assert.equal(e2.code, grpcStatus.INVALID_ARGUMENT);
      assert.match(e2.details, /^availableMemoryBytes: must be a whole number between 0 and/);
      const c = client();
      await rejectsWith(
        call(c.agentEvent.bind(c), {
          serverName: 'a',
          replicaIdx: 0,
          modelName: 'kept',
          modelVersion: 1,
          event: Event.LOADED,
          message: '',
          availableMemoryBytes: m,
        }),
        grpcStatus.INVALID_ARGUMENT,
        /^availableMemoryBytes: must be a whole number between 0 and/,
      );
      c.close();
    }
    assert.ok((await names()).includes('kept'));
  });
});
