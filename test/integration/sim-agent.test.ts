/**
 * The simulated agent (`mlsched agent`) against the real scheduler: it loads what it is told, fails
 * by URI pattern, and when the scheduler goes away it reconnects and re-announces its models, so a
 * new scheduler sees them Available without reloading them.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startApp, type App } from '../../src/app.js';
import { ModelStatus_ModelState as MS } from '../../src/gen/mlops/scheduler/scheduler.js';
import { createLogger } from '../../src/observability/logger.js';
import {
  parseMemoryQuantity,
  startSimulatedAgent,
  type SimulatedAgent,
} from '../../src/sim/agent.js';
import { call, model, startScheduler, status, waitFor, type Harness } from '../support/harness.js';

const silent = createLogger('silent');
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Every LOADED the simulated agents reported, from their logs. */
const loadedReports: string[] = [];
const recorder = {
  info: (obj: object) => {
    const o = obj as { event?: string; model?: string; version?: number };
    if (o.event === 'LOADED') loadedReports.push(`${o.model ?? ''}:${o.version ?? 0}`);
  },
  warn: () => undefined,
  error: () => undefined,
};

async function agentFor(
  h: Harness | App,
  o: { failUri?: RegExp; replicas?: number[] } = {},
): Promise<SimulatedAgent> {
  const port = 'app' in h ? h.app.ports.agent : h.ports.agent;
  const a = await startSimulatedAgent({
    schedulerHost: '127.0.0.1',
    agentPort: port,
    server: 'sim',
    replicaIdxs: o.replicas ?? [0],
    memoryBytes: parseMemoryQuantity('1Gi'),
    capabilities: ['sklearn'],
    overCommitPercentage: 10,
    loadMs: 20,
    ...(o.failUri ? { failUri: o.failUri } : {}),
    logger: recorder,
  });
  cleanups.push(() => a.stop());
  return a;
}

describe('parseMemoryQuantity', () => {
  it('reads Kubernetes quantities and refuses nonsense', () => {
    assert.equal(parseMemoryQuantity('1Gi'), 2 ** 30);
    assert.equal(parseMemoryQuantity('512Mi'), 512 * 2 ** 20);
    assert.equal(parseMemoryQuantity('100M'), 100e6);
    assert.equal(parseMemoryQuantity('1500k'), 1.5e6);
    assert.equal(parseMemoryQuantity('1e3'), 1000);
    for (const bad of ['', '-1Gi', '1GB', 'lots', '1.5.2']) {
      assert.throws(() => parseMemoryQuantity(bad), /is not a memory quantity/);
    }
  });
});

describe('simulated agent', () => {
  it('loads models, fails by --fail-uri with a reason', async () => {
    const h = await startScheduler();
    cleanups.push(() => h.stop());
    await agentFor(h, { failUri: /broken/ });
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
    assert.match(
      bad.state?.reason ?? '',
      /simulated load failure: uri gs:\/\/broken\/x matches --fail-uri/,
    );
  });

  it('reconnects to a restarted scheduler and re-announces its models (no reload)', async () => {
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
    const first = await startApp(config, silent);
    const agent = await agentFor(first);
    first.system.loadModel({
      meta: { name: 'kept' },
      spec: { uri: 'gs://m/kept', requirements: ['sklearn'], parameters: [], memoryBytes: 1000 },
      deployment: { replicas: 1, minReplicas: 0, maxReplicas: 0, logPayloads: false },
    });
    await waitFor(
      'kept Available',
      () => first.system.model('kept', false)?.versions[0]?.state === 'available',
    );
    assert.deepEqual(agent.loaded(0), [{ name: 'kept', version: 1 }]);
    const { agent: agentPort } = first.ports;
    await first.stop(200);

    const second = await startApp({ ...config, agentPort }, silent);
    cleanups.push(() => second.stop(200));
    const v = await waitFor(
      'kept re-announced and Available',
      () => {
        const x = second.system.model('kept', false)?.versions[0];
        return x?.state === 'available' && x;
      },
      10_000,
    );
    assert.equal(v.version, 1);
    assert.deepEqual(agent.loaded(0), [{ name: 'kept', version: 1 }]);
    assert.deepEqual(
      loadedReports.filter((r) => r.startsWith('kept:')),
      ['kept:1'],
      'loaded once, never again after the restart',
    );
  });
});
