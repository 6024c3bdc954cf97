/**
 * The dashboard in real headless Chromium (Debian's `chromium`, driven by playwright-core), in a
 * 1280x800 window: the page loads, a model loaded over gRPC appears and reaches Available without a
 * reload, its statechart highlight moves, the counts per state and the diagrams' labels read without
 * zoom, pipelines are drawn as graphs, and the console stays clean. Two servers of simulated agents
 * and a few dozen models, pipelines and an experiment make the screenshots saved to test/artifacts/
 * (dashboard.png, dashboard-loading.png, dashboard-statechart.png, dashboard-pipeline.png,
 * dashboard-explain.png, dashboard-headroom.png). A model's page explains its placement, a
 * server's shows its headroom.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import {
  PipelineOutput_JoinOp,
  PipelineStep_JoinOp,
} from '../../src/gen/mlops/scheduler/scheduler.js';
import { startSimulatedAgent, type SimulatedAgent } from '../../src/sim/agent.js';
import { startSimulatedDataflow, type SimulatedDataflow } from '../../src/sim/dataflow.js';
import { launchChromium } from '../support/chromium.js';
import { call, model, startScheduler, waitFor, type Harness } from '../support/harness.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url);
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

let h: Harness;
let browser: Browser;
let page: Page;
const agents: SimulatedAgent[] = [];
let engine: SimulatedDataflow;
const consoleErrors: string[] = [];

const load = (name: string, o: Parameters<typeof model>[1] = {}) =>
  call(h.client.loadModel.bind(h.client), model(name, o));

/** A pipeline step as the wire takes it: `[name, inputs, triggers]`. */
const step = ([name, inputs, triggers = []]: [string, string[], string[]?]) => ({
  name,
  inputs,
  tensorMap: {},
  inputsJoin: PipelineStep_JoinOp.INNER,
  triggers,
  triggersJoin: PipelineStep_JoinOp.INNER,
});

/**
 * A value in the page (an element, the window): the tests compile without the DOM library, and
 * these values only exist in Chromium anyway.
 */
type Dom = any;

/** The smallest on-screen size (px) of the shown statechart's sized text. */
const smallestStatechartText = () =>
  page.$$eval('#statechart svg text[font-size]', (texts: Dom[]) =>
    Math.min(...texts.map((t) => Number(t.getAttribute('font-size')) * (t.getScreenCTM()?.a ?? 0))),
  );

/** What one drawn pipeline graph shows: its boxes and arrows, in its own coordinates. */
interface DrawnGraph {
  nodes: { key: string; kind: string; x: number; y: number; w: number; h: number }[];
  edges: {
    from: string;
    to: string;
    kind: string;
    back: boolean;
    marker: boolean;
    start: { x: number; y: number };
    end: { x: number; y: number };
    d: string;
  }[];
  labels: string[];
}

/** Reads a `svg.pipeline-graph` element (in the page) into a {@link DrawnGraph}. */
const readGraph = (svg: Dom): DrawnGraph => ({
  nodes: [...svg.querySelectorAll('g.node')].map((g: Dom) => {
    const r = g.querySelector('rect');
    return {
      key: String(g.dataset.node),
      kind: g.classList[1] ?? '',
      x: r.x.baseVal.value,
      y: r.y.baseVal.value,
      w: r.width.baseVal.value,
      h: r.height.baseVal.value,
    };
  }),
  edges: [...svg.querySelectorAll('path.edge')].map((p: Dom) => {
    const id = /^url\(#(.+)\)$/.exec(p.getAttribute('marker-end') ?? '')?.[1];
    const end = p.getPointAtLength(p.getTotalLength());
    const start = p.getPointAtLength(0);
    return {
      from: String(p.dataset.from),
      to: String(p.dataset.to),
      kind: String(p.dataset.kind),
      back: p.classList.contains('back'),
      marker: id !== undefined && svg.querySelector(`marker[id="${id}"] path`) !== null,
      start: { x: start.x, y: start.y },
      end: { x: end.x, y: end.y },
      d: p.getAttribute('d') ?? '',
    };
  }),
  labels: [...svg.querySelectorAll('text.edge-label')].map((t: Dom) =>
    String(t.firstChild.nodeValue),
  ),
});

/** `from -> to (kind)` of every arrow, sorted: one entry per arrow, duplicates kept. */
const arrows = (g: DrawnGraph) => g.edges.map((e) => `${e.from} -> ${e.to} (${e.kind})`).sort();

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
  browser = await launchChromium();
  // A laptop's window: what has to read without zoom.
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
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
        steps: (
          [
            ['model-00', []],
            ['model-01', []],
            ['model-02', ['model-00', 'model-01']],
          ] as const
        ).map(([name, inputs]) => step([name, [...inputs]])),
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
    await page.waitForSelector('[data-pipeline="ensemble"] g.node[data-node="step:model-02"]');
    await page.waitForSelector('[data-experiment="iris-ab"] .state[data-state="active"]', {
      timeout: 15_000,
    });
    await page.click('#machines button[data-machine="modelVersion"]');
    await waitFor(
      'all 41 models counted Available',
      async () => (await page.textContent('[data-tally="available"] .tally-count')) === '41',
      15_000,
    );
    assert.match((await page.textContent('#page')) ?? '', /1–41 of 41/);
    await page.click('[data-server="triton"] .server-name');
    await page.waitForSelector('#statechart g.node.current[data-state="serving"]');
    await page.click('#machines button[data-machine="modelVersion"]');
    await page.waitForSelector('#statechart g.node.occupied[data-state="available"] g.count text');
    await page.screenshot({ path: new URL('dashboard.png', ARTIFACTS).pathname, fullPage: true });
  });

  it('shows the count of actors in each state large, in the first screen', async () => {
    await page.evaluate(() => {
      (globalThis as Dom).scrollTo(0, 0);
    });
    await page.click('#machines button[data-machine="modelVersion"]');
    await page.waitForSelector('#statechart[data-machine="modelVersion"]');
    const summary = (await (
      await fetch(`http://127.0.0.1:${h.app.ports.http}/api/summary`)
    ).json()) as {
      counts: Record<string, Record<string, number>>;
    };
    const expected = Object.entries(summary.counts['modelVersion'] ?? {})
      .filter(([, n]) => n > 0)
      .map(([state, n]) => `${state} ${n}`)
      .sort();
    assert.ok(expected.length > 0);
    const tallies = await page.$$eval('#statechart-info .tally', (els: Dom[]) =>
      els.map((e) => {
        const count = e.querySelector('.tally-count');
        const label = e.querySelector('.tally-state');
        const countStyle = (globalThis as Dom).getComputedStyle(count);
        return {
          text: `${label.textContent} ${count.textContent}`,
          countPx: parseFloat(countStyle.fontSize),
          countWeight: Number(countStyle.fontWeight),
          labelPx: parseFloat((globalThis as Dom).getComputedStyle(label).fontSize),
          bottom: e.getBoundingClientRect().bottom,
        };
      }),
    );
    assert.deepEqual(tallies.map((t) => t.text).sort(), expected);
    assert.doesNotMatch((await page.textContent('#statechart-info')) ?? '', /null|undefined/);
    for (const t of tallies) {
      assert.ok(t.countPx >= 24, `${t.text}: the count is ${t.countPx}px`);
      assert.ok(t.countWeight >= 600, `${t.text}: the count weighs ${t.countWeight}`);
      assert.ok(t.labelPx >= 13, `${t.text}: the label is ${t.labelPx}px`);
      assert.ok(t.bottom <= 800, `${t.text}: below the first screen (${t.bottom}px)`);
    }
    // The badge on the diagram's state: at least 14px on screen.
    const badgePx = await page.$eval(
      '#statechart g.node[data-state="available"] g.count text',
      (t: Dom) =>
        parseFloat((globalThis as Dom).getComputedStyle(t).fontSize) * (t.getScreenCTM()?.a ?? 0),
    );
    assert.ok(badgePx >= 14, `the diagram's count badge is ${badgePx}px`);
  });

  it("draws every statechart's labels at a legible size, scrolling or fitting on request", async () => {
    const machines = await page.$$eval('#machines button', (bs: Dom[]) =>
      bs.map((b) => String(b.dataset.machine)),
    );
    assert.equal(machines.length, 6);
    for (const machine of machines) {
      await page.click(`#machines button[data-machine="${machine}"]`);
      await page.waitForSelector(`#statechart[data-machine="${machine}"] svg`);
      const px = await smallestStatechartText();
      assert.ok(px >= 11.9, `${machine}: its smallest text is ${px.toFixed(1)}px on screen`);
    }
    // The biggest diagram scrolls in its box.
    await page.click('#machines button[data-machine="modelReplica"]');
    await page.waitForSelector('#statechart[data-machine="modelReplica"] svg');
    const fits = () =>
      page.$eval('#statechart', (box: Dom) => {
        const svg = box.querySelector('svg').getBoundingClientRect();
        return (
          svg.width <= Number(box.clientWidth) + 1 && svg.height <= Number(box.clientHeight) + 1
        );
      });
    assert.equal(await fits(), false);
    assert.equal(await page.isVisible('#statechart-hint'), true);
    // Scrolled to where the actors are: all 42 replicas are available.
    const inView = await page.$eval('#statechart', (box: Dom) => {
      const b = box.getBoundingClientRect();
      const n = box.querySelector('g.node[data-state="available"]').getBoundingClientRect();
      return n.left >= b.left && n.right <= b.right && n.top >= b.top && n.bottom <= b.bottom;
    });
    assert.equal(inView, true);
    await page.locator('#statechart').scrollIntoViewIfNeeded();
    await page.screenshot({ path: new URL('dashboard-statechart.png', ARTIFACTS).pathname });
    await page.check('#statechart-whole');
    assert.equal(await fits(), true);
    assert.equal(await page.isVisible('#statechart-hint'), false);
    await page.uncheck('#statechart-whole');
    assert.ok((await smallestStatechartText()) >= 11.9);
  });

  it('labels the replicas column and what its colours mean', async () => {
    const headers = await page.$$eval('#models thead th', (ths: Dom[]) =>
      ths.map((th) => String(th.textContent).trim()),
    );
    const column = headers.findIndex((t) => /^replicas \(available \/ wanted\)$/.test(t));
    assert.ok(column >= 0, `headers: ${headers.join(' | ')}`);
    const cells = await page.$$eval(`#models tbody td:nth-child(${column + 1})`, (tds: Dom[]) =>
      tds.map((td) => ({
        text: td.textContent.trim() as string,
        chips: td.querySelectorAll('.chip').length as number,
      })),
    );
    assert.equal(cells.length, 41);
    for (const c of cells) {
      assert.match(c.text, /^\d+ \/ \d+$/);
      assert.ok(c.chips > 0, c.text);
    }
    // iris asked for 2 replicas and has both.
    const iris = await page.textContent('tr[data-model="iris"] td.replicas');
    assert.equal(iris?.trim(), '2 / 2');
    const states = await page.$$eval('#models tbody .chip', (chips: Dom[]) => [
      ...new Set(chips.map((c) => String(c.dataset.replicaState))),
    ]);
    const legend = await page.$$eval('#replica-legend .chip', (chips: Dom[]) =>
      chips.map((c) => String(c.dataset.legendState)),
    );
    assert.deepEqual(legend.sort(), states.sort());
    assert.match((await page.textContent('#servers-section .legend')) ?? '', /in use.*reserved/s);
  });

  it('draws a pipeline as its graph: a box per step, an arrow per input, left to right', async () => {
    // Pipeline inputs (implicit and by tensor), tensors of steps, a trigger, a reference that
    // skips a column, and outputs.
    await call(h.client.loadPipeline.bind(h.client), {
      pipeline: {
        name: 'flow',
        uid: '',
        version: 0,
        steps: (
          [
            ['pre', []],
            ['feat', ['flow.inputs.raw']],
            ['score', ['pre', 'feat.outputs.vec']],
            ['explain', ['score.outputs'], ['feat']],
          ] as [string, string[], string[]?][]
        ).map(step),
        output: {
          steps: ['score', 'explain.outputs.why'],
          joinWindowMs: 0,
          stepsJoin: PipelineOutput_JoinOp.INNER,
          tensorMap: {},
        },
      },
    });
    await page.waitForSelector('[data-pipeline="flow"] svg.pipeline-graph');
    await page.click('[data-pipeline="flow"] .server-name');
    await page.waitForSelector('#detail svg.pipeline-graph');
    const flow = await page.$eval('#detail svg.pipeline-graph', readGraph);
    assert.deepEqual(arrows(flow), [
      'inputs -> step:feat (input)',
      'inputs -> step:pre (input)',
      'step:explain -> outputs (output)',
      'step:feat -> step:explain (trigger)',
      'step:feat -> step:score (input)',
      'step:pre -> step:score (input)',
      'step:score -> outputs (output)',
      'step:score -> step:explain (input)',
    ]);
    assert.deepEqual(flow.nodes.map((n) => n.key).sort(), [
      'inputs',
      'outputs',
      'step:explain',
      'step:feat',
      'step:pre',
      'step:score',
    ]);
    assert.deepEqual(flow.labels.sort(), ['raw', 'trigger', 'vec', 'why']);
    const box = new Map(flow.nodes.map((n) => [n.key, n]));
    const centre = (key: string) => {
      const n = box.get(key);
      assert.ok(n, key);
      return n.x + n.w / 2;
    };
    assert.equal(centre('step:pre'), centre('step:feat'));
    const order = ['inputs', 'step:pre', 'step:score', 'step:explain', 'outputs'].map(centre);
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
    );
    assert.equal(new Set(order).size, order.length);
    // Every arrow has its head, leaves its source's right side and ends on its target's left.
    for (const e of flow.edges) {
      const from = box.get(e.from);
      const to = box.get(e.to);
      assert.ok(from && to && e.marker && !e.back, `${e.from} -> ${e.to}`);
      assert.ok(Math.abs(e.start.x - (from.x + from.w)) < 0.5, `${e.from} -> ${e.to} start`);
      assert.ok(e.start.y > from.y && e.start.y < from.y + from.h, `${e.from} -> ${e.to} start`);
      assert.ok(Math.abs(e.end.x - to.x) < 0.5, `${e.from} -> ${e.to} end`);
      assert.ok(e.end.y > to.y && e.end.y < to.y + to.h, `${e.from} -> ${e.to} end`);
    }
    const boxes = [...box.values()];
    for (const a of boxes) {
      for (const b of boxes) {
        const apart =
          a === b || a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
        assert.ok(apart, `${a.key} overlaps ${b.key}`);
      }
    }
    await page.locator('#detail-section').screenshot({
      path: new URL('dashboard-pipeline.png', ARTIFACTS).pathname,
    });
    const ensemble = await page.$eval('[data-pipeline="ensemble"] svg.pipeline-graph', readGraph);
    assert.deepEqual(arrows(ensemble), [
      'inputs -> step:model-00 (input)',
      'inputs -> step:model-01 (input)',
      'step:model-00 -> step:model-02 (input)',
      'step:model-01 -> step:model-02 (input)',
    ]);
  });

  it('draws what it can of a pipeline with a cycle and references to no step', async () => {
    // No scheduler accepts these: drawn by the page's module directly.
    const drawn = await page.evaluate(async () => {
      // A variable, so that TypeScript leaves the page's own URL alone.
      const module = '/pipeline-graph.js';
      const { pipelineGraph } = (await import(module)) as { pipelineGraph: (def: Dom) => Dom };
      const svg = pipelineGraph({
        name: 'loop',
        steps: [
          { name: 'a', inputs: ['loop.inputs', 'b.outputs'], triggers: [] },
          { name: 'b', inputs: ['a.outputs', 'ghost.outputs.x'], triggers: [] },
          { name: 'c', inputs: ['c.outputs'], triggers: ['phantom'] },
        ],
        output: { steps: ['b.outputs', 'nowhere.outputs'] },
      });
      svg.ownerDocument.body.append(svg);
      try {
        return {
          nodes: [...svg.querySelectorAll('g.node')].map(
            (g: Dom): string => `${g.dataset.node} ${g.classList[1]}`,
          ),
          edges: [...svg.querySelectorAll('path.edge')].map(
            (p: Dom): string =>
              `${p.dataset.from} -> ${p.dataset.to}${p.classList.contains('back') ? ' back' : ''}`,
          ),
          numbers: [...svg.querySelectorAll('*')].flatMap((e: Dom): string[] =>
            ['x', 'y', 'width', 'height', 'd'].map((attr) => String(e.getAttribute(attr))),
          ),
          size: [svg.width.baseVal.value, svg.height.baseVal.value] as number[],
        };
      } finally {
        svg.remove();
      }
    });
    assert.deepEqual(drawn.nodes.sort(), [
      'inputs inputs',
      'outputs outputs',
      'step:a step',
      'step:b step',
      'step:c step',
      'unknown:ghost unknown',
      'unknown:nowhere unknown',
      'unknown:phantom unknown',
    ]);
    // One arrow per reference: the one closing the cycle and the self-loop drawn back.
    assert.deepEqual(drawn.edges.sort(), [
      'inputs -> step:a',
      'step:a -> step:b',
      'step:b -> outputs',
      'step:b -> step:a back',
      'step:c -> step:c back',
      'unknown:ghost -> step:b',
      'unknown:nowhere -> outputs',
      'unknown:phantom -> step:c',
    ]);
    assert.ok(
      drawn.numbers.every((v) => !/NaN|Infinity|undefined/.test(v)),
      'every coordinate is a number',
    );
    assert.ok(drawn.size.every((n) => n > 0 && Number.isFinite(n)));
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

  it('explains why a model is nowhere, shows a server headroom, and answers explain and plan', async () => {
    // More than a replica of 4 GiB holds, even empty (4 GiB + 10% over-commit).
    await load('huge', { memoryBytes: 6 * 2 ** 30 });
    const row = page.locator('tr[data-model="huge"]');
    await row.waitFor();
    await row.click();
    await page.waitForSelector('#explanation .verdict.failed');
    const text = (await page.textContent('#explanation')) ?? '';
    assert.match(
      text,
      /Cannot be placed: Failed to schedule model as no matching server had enough suitable replicas/,
    );
    assert.equal(await page.locator('#explanation tr.server-verdict').count(), 2);
    assert.equal(await page.locator('#explanation tr.replica-verdict.rejected').count(), 4);
    assert.match(text, /replica mlserver\/\d holds at most 4505\.6 MiB in all/);
    await page.locator('#detail-section').screenshot({
      path: new URL('dashboard-explain.png', ARTIFACTS).pathname,
    });

    await page.locator('[data-server="mlserver"] .server-name').click();
    await page.waitForSelector('#headroom tr[data-replica="1"]');
    assert.match((await page.textContent('#headroom')) ?? '', /iris 500 MiB/);
    await page.locator('#detail-section').screenshot({
      path: new URL('dashboard-headroom.png', ARTIFACTS).pathname,
    });

    const base = `http://127.0.0.1:${h.app.ports.http}`;
    const explained = (await (await fetch(`${base}/api/models/huge/explanation`)).json()) as {
      state: string;
      placement: { result: { ok: boolean } };
    };
    assert.equal(explained.state, 'scheduleFailed');
    assert.equal(explained.placement.result.ok, false);
    assert.equal((await fetch(`${base}/api/models/nope/explanation`)).status, 404);
    assert.equal((await fetch(`${base}/api/models/%E0%A4%A/explanation`)).status, 400);
    const post = (body: string, type = 'application/json') =>
      fetch(`${base}/api/plan`, { method: 'POST', headers: { 'content-type': type }, body });
    const modelJson = (name: string, memoryBytes: string) => ({
      meta: { name },
      modelSpec: { uri: `gs://m/${name}`, requirements: ['sklearn'], memoryBytes },
      deploymentSpec: { replicas: 1 },
    });
    const planned = await post(
      JSON.stringify({ models: [modelJson('small', '1000'), modelJson('vast', '99999999999')] }),
    );
    assert.equal(planned.status, 200);
    const plan = (await planned.json()) as { models: { model: string; outcome: string }[] };
    assert.deepEqual(
      plan.models.map((m) => [m.model, m.outcome]),
      [
        ['small', 'placed'],
        ['vast', 'failed'],
      ],
    );
    const bad = await post(JSON.stringify({ models: [modelJson('Bad.Name', '1')] }));
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /^models\[0\]\.meta\.name: /);
    const garbage = await post(JSON.stringify({ models: [{ modelSpec: { memoryBytes: 'x' } }] }));
    assert.equal(garbage.status, 400);
    assert.equal((await post('{', 'application/json')).status, 400);
    assert.equal((await post('{}', 'text/plain')).status, 415);
    assert.equal((await fetch(`${base}/api/plan`)).status, 405);
    assert.equal(h.app.system.model('small', false), undefined, 'a plan changes nothing');
  });

  it('logged no console errors', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
