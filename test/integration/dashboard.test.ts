/**
 * The dashboard in real headless Chromium (Debian's `chromium`, driven by playwright-core): the page
 * loads, a model loaded over gRPC appears and reaches Available without a reload, its statechart
 * highlight moves, and the console stays clean. Two servers of simulated agents and a few dozen
 * models, a pipeline and an experiment make the screenshot saved to test/artifacts/dashboard.png.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PipelineStep_JoinOp } from '../../src/gen/mlops/scheduler/scheduler.js';
import { startSimulatedAgent, type SimulatedAgent } from '../../src/sim/agent.js';
import { startSimulatedDataflow, type SimulatedDataflow } from '../../src/sim/dataflow.js';
import { call, model, startScheduler, waitFor, type Harness } from '../support/harness.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url);
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Debian's chromium, or CHROMIUM_PATH; .ci/run installs the package when it is missing. */
function chromiumPath(): string {
  const candidates = [
    process.env['CHROMIUM_PATH'],
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
  ].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `no Chromium at ${candidates.join(', ')}: apt-get install chromium, or set CHROMIUM_PATH`,
    );
  }
  return found;
}

let h: Harness;
let browser: Browser;
let page: Page;
const agents: SimulatedAgent[] = [];
let engine: SimulatedDataflow;
const consoleErrors: string[] = [];

const load = (name: string, o: Parameters<typeof model>[1] = {}) =>
  call(h.client.loadModel.bind(h.client), model(name, o));

before(async () => {
  h = await startScheduler();
  const ports = h.app.ports;
  for (const [server, loadMs] of [
    ['mlserver', 2500],
    ['triton', 300],
  ] as const) {
    agents.push(
      await startSimulatedAgent({
        schedulerHost: '127.0.0.1',
        agentPort: ports.agent,
        server,
        replicaIdxs: [0, 1],
        memoryBytes: 4 * 2 ** 30,
        capabilities: ['sklearn', 'xgboost', server],
        overCommitPercentage: 10,
        loadMs,
        logger: silent,
      }),
    );
  }
  engine = startSimulatedDataflow({
    schedulerHost: '127.0.0.1',
    dataflowPort: ports.dataflow,
    name: 'dataflow-0',
    logger: silent,
  });
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  page = await browser.newPage({ viewport: { width: 1600, height: 1300 } });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.goto(`http://127.0.0.1:${ports.http}/`);
});

after(async () => {
  await browser.close();
  await h.stop();
  await Promise.all([...agents.map((a) => a.stop()), engine.stop()]);
});

describe('dashboard in headless Chromium', () => {
  it('loads with both servers and goes live', async () => {
    await page.waitForSelector('#live.on');
    await page.waitForSelector('[data-server="mlserver"] [data-replica="mlserver/1"]');
    await page.waitForSelector('[data-server="triton"]');
    assert.match((await page.textContent('#totals')) ?? '', /2 servers, 4 replicas/);
  });

  it('shows a model loaded over gRPC reaching Available live, and moves its highlight', async () => {
    await load('iris', { server: 'mlserver', replicas: 2, memoryBytes: 500 * 2 ** 20 });
    const row = page.locator('tr[data-model="iris"]');
    await row.waitFor();
    await row.click();
    // The modelVersion statechart highlights the state iris is in: progressing while its agent
    // loads (2.5 s), then available, without a reload.
    await page.waitForSelector('#statechart g.node.current[data-state="progressing"]');
    await page.waitForSelector('tr[data-model="iris"] .state[data-state="available"]', {
      timeout: 10_000,
    });
    await page.waitForSelector('#statechart g.node.current[data-state="available"]');
    assert.equal(await page.locator('#statechart g.node.current').count(), 1);
    // Its history lists the transitions, newest first.
    await page.waitForSelector('#history td:has-text("iris v1")');
    const history = (await page.textContent('#history')) ?? '';
    assert.match(history, /progressing/);
    assert.match(history, /available/);
  });

  it('counts actors per state, pages many models and draws a pipeline and an experiment', async () => {
    await call(h.client.loadPipeline.bind(h.client), {
      pipeline: {
        name: 'ensemble',
        uid: '',
        version: 0,
        steps: [
          ['model-00', []],
          ['model-01', []],
          ['model-02', ['model-00', 'model-01']],
        ].map(([name, inputs]) => ({
          name: name as string,
          inputs: inputs as string[],
          tensorMap: {},
          inputsJoin: PipelineStep_JoinOp.INNER,
          triggers: [],
          triggersJoin: PipelineStep_JoinOp.INNER,
        })),
      },
    });
    for (let i = 0; i < 40; i++) {
      await load(`model-${String(i).padStart(2, '0')}`, {
        memoryBytes: (50 + 10 * (i % 7)) * 2 ** 20,
        ...(i % 3 === 0 ? { server: 'triton' } : {}),
      });
    }
    // During the load (mlserver's agent takes 2.5 s per model): saved for people to look at.
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.waitForSelector('#models tr .state[data-state="progressing"]');
    await page.click('#machines button[data-machine="modelReplica"]');
    await page.waitForSelector('#statechart g.node.occupied[data-state="loading"]');
    await page.screenshot({ path: new URL('dashboard-loading.png', ARTIFACTS).pathname });
    await call(h.client.startExperiment.bind(h.client), {
      experiment: {
        name: 'iris-ab',
        default: 'model-03',
        candidates: [
          { name: 'model-03', weight: 50 },
          { name: 'model-04', weight: 50 },
        ],
        resourceType: 0,
      },
    });
    await page.waitForSelector('[data-pipeline="ensemble"] .step:has-text("model-02")');
    await page.waitForSelector('[data-experiment="iris-ab"] .state[data-state="active"]', {
      timeout: 15_000,
    });
    await page.click('#machines button[data-machine="modelVersion"]');
    await waitFor(
      'all 41 models counted Available',
      async () => /available 41\b/.test((await page.textContent('#statechart-info')) ?? ''),
      15_000,
    );
    assert.match((await page.textContent('#page')) ?? '', /1–41 of 41/);
    await page.click('[data-server="triton"] .server-name');
    await page.waitForSelector('#statechart g.node.current[data-state="serving"]');
    await page.click('#machines button[data-machine="modelVersion"]');
    await page.waitForSelector('#statechart g.node.occupied[data-state="available"] text.count');
    await page.screenshot({ path: new URL('dashboard.png', ARTIFACTS).pathname, fullPage: true });
  });

  it('answers its JSON API with pages and clear errors', async () => {
    const base = `http://127.0.0.1:${h.app.ports.http}`;
    const page2 = (await (await fetch(`${base}/api/models?offset=40&limit=5`)).json()) as {
      total: number;
      models: { name: string }[];
    };
    assert.equal(page2.total, 41);
    assert.deepEqual(
      page2.models.map((m) => m.name),
      ['model-39'],
    );
    const bad = await fetch(`${base}/api/models?limit=-1`);
    assert.equal(bad.status, 400);
    assert.equal(await bad.text(), "limit: must be a whole number, not '-1'");
    const kind = await fetch(`${base}/api/resource?kind=modle&name=iris`);
    assert.equal(kind.status, 400);
    assert.match(await kind.text(), /^kind: must be model, server, pipeline or experiment/);
    assert.equal((await fetch(`${base}/api/statecharts/nope.svg`)).status, 400);
    const iris = (await (await fetch(`${base}/api/resource?kind=model&name=iris`)).json()) as {
      transitions: { to: string }[];
    };
    assert.ok(iris.transitions.some((t) => t.to === 'available'));
  });

  it('logged no console errors', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
