// The mlsched dashboard: plain browser JavaScript, no build step. It reads /api/summary and pages
// of /api/models, and follows /api/events (server-sent events) to update without a reload.
import { pipelineGraph } from './pipeline-graph.js';

const MODEL_STATES = [
  'unknown',
  'progressing',
  'available',
  'failed',
  'scheduleFailed',
  'terminating',
  'terminateFailed',
  'terminated',
];
const REPLICA_COLOURS = {
  available: '#2f9e5b',
  loaded: '#8bd3a8',
  loadedUnavailable: '#c7a23a',
  loadRequested: '#f5c86b',
  loading: '#f5a623',
  loadFailed: '#d64545',
  unloadFailed: '#d64545',
  draining: '#b45309',
  unloadEnvoyRequested: '#9aa5b1',
  unloadRequested: '#9aa5b1',
  unloading: '#9aa5b1',
  unloaded: '#dcdfe3',
  unknown: '#dcdfe3',
};
const PAGE = 50;
/**
 * The smallest a statechart's smallest text (transition labels) may be on screen, in CSS px: a
 * diagram too big to fit at that size scrolls in its box instead of shrinking out of legibility.
 */
const LEGIBLE_PX = 12;
/** Graphviz sizes its SVG in pt: at this scale a diagram is drawn at its natural size. */
const NATURAL_SCALE = 4 / 3;

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== undefined && c !== null) e.append(c);
  return e;
};
const pill = (state) => el('span', { class: `state ${state}`, 'data-state': state }, state);
/** Bytes in the largest binary unit that keeps the number at 1 or more. */
function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) [n, i] = [n / 1024, i + 1];
  return `${n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}
const time = (ms) => (ms ? new Date(ms).toLocaleTimeString() : '');

async function getJson(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

const ui = {
  summary: undefined,
  machine: 'modelVersion',
  wholeChart: false,
  svgs: new Map(),
  offset: 0,
  query: '',
  state: '',
  page: { total: 0, models: [] },
  selected: undefined, // { kind, name }
  detail: undefined,
};

// ── servers ────────────────────────────────────────────────────────────────────────────────────
function renderServers() {
  const box = $('servers');
  box.replaceChildren();
  const servers = ui.summary?.servers ?? [];
  if (servers.length === 0) box.append(el('p', { class: 'muted' }, 'No server replica connected.'));
  for (const s of servers) {
    const card = el(
      'div',
      { class: 'server', 'data-server': s.name },
      el(
        'div',
        {},
        el('span', { class: 'server-name', onclick: () => select('server', s.name) }, s.name),
        ' ',
        pill(s.state),
        el(
          'span',
          { class: 'muted' },
          s.expectedReplicas >= 0
            ? ` ${s.replicas.length} of ${s.expectedReplicas} replicas`
            : ` ${s.replicas.length} replicas`,
        ),
      ),
    );
    for (const r of s.replicas) {
      // What the agent can hold (memory plus over-commit, as it counts) and what it holds now.
      const total = Math.floor(r.totalMemoryBytes * (1 + r.overCommitPercentage / 100)) || 1;
      const used = Math.max(0, total - r.availableMemoryBytes);
      const bar = el(
        'div',
        { class: 'bar', title: `${bytes(used)} used, ${bytes(r.reservedMemoryBytes)} reserved` },
        el('div', { class: 'used', style: `width:${(100 * used) / total}%` }),
        el('div', {
          class: 'reserved',
          style: `left:${(100 * used) / total}%;width:${(100 * r.reservedMemoryBytes) / total}%`,
        }),
      );
      card.append(
        el(
          'div',
          { class: 'replica', 'data-replica': `${s.name}/${r.idx}` },
          el(
            'span',
            {},
            `replica ${r.idx}`,
            r.draining ? el('span', { class: 'draining' }, ' draining') : null,
          ),
          bar,
          el(
            'span',
            { class: 'muted' },
            `${bytes(used)} / ${bytes(r.totalMemoryBytes)}, ${r.numLoadedModels} models`,
          ),
        ),
      );
    }
    box.append(card);
  }
}

// ── statecharts ────────────────────────────────────────────────────────────────────────────────
async function svgOf(machine) {
  let svg = ui.svgs.get(machine);
  if (!svg) {
    const res = await fetch(`/api/statecharts/${machine}.svg`);
    svg = res.ok ? await res.text() : `<p class="muted">No diagram for ${machine}.</p>`;
    ui.svgs.set(machine, svg);
  }
  return svg;
}

/**
 * The state a node of a generated statechart SVG draws (its bold first line), or undefined for
 * the diagram's helper nodes (initial dots, "any state", edge labels), whose ids contain `__`.
 */
function stateOfNode(g) {
  const id = g.querySelector('title')?.textContent ?? '';
  if (id === 'start' || id.includes('__')) return undefined;
  return g.querySelector('text')?.textContent.trim();
}

/** States of the selected resource's actors on this machine. */
function currentStates(machine) {
  const d = ui.detail;
  if (!d?.view) return new Set();
  const v = d.view;
  if (d.kind === 'model') {
    const latest = v.versions.at(-1);
    if (machine === 'modelVersion') return new Set(latest ? [latest.state] : []);
    if (machine === 'modelReplica') return new Set(latest?.replicas.map((r) => r.state) ?? []);
  }
  if (d.kind === 'server') {
    if (machine === 'server') return new Set([v.state]);
    if (machine === 'serverReplica')
      return new Set(v.replicas.map((r) => (r.draining ? 'draining' : 'connected')));
  }
  if (d.kind === 'pipeline' && machine === 'pipelineVersion')
    return new Set(v.versions.slice(-1).map((x) => x.state));
  if (d.kind === 'experiment' && machine === 'experiment') return new Set([v.state]);
  return new Set();
}

async function renderStatechart() {
  const nav = $('machines');
  if (nav.childElementCount === 0) {
    // The machines are the summary's counts' keys (the server's list, in its order).
    for (const m of Object.keys(ui.summary?.counts ?? {})) {
      nav.append(
        el('button', { type: 'button', 'data-machine': m, onclick: () => showMachine(m) }, m),
      );
    }
  }
  for (const b of nav.children) b.classList.toggle('selected', b.dataset.machine === ui.machine);
  const machine = ui.machine;
  const box = $('statechart');
  if (box.dataset.machine !== machine) {
    const svg = await svgOf(machine);
    // Another machine was chosen while this one's diagram was fetched: that call draws it.
    if (ui.machine !== machine) return;
    box.innerHTML = svg;
    box.dataset.machine = machine;
    delete box.dataset.centred;
    scaleStatechart();
  }
  const counts = ui.summary?.counts?.[machine] ?? {};
  const current = currentStates(machine);
  const drawn = [];
  for (const g of box.querySelectorAll('g.node')) {
    const state = stateOfNode(g);
    if (!state) continue;
    drawn.push(state);
    g.dataset.state = state;
    const n = counts[state] ?? 0;
    g.classList.toggle('occupied', n > 0);
    g.classList.toggle('current', current.has(state));
    g.querySelector('g.count')?.remove();
    if (n > 0) addCountBadge(g, n);
  }
  renderTallies(machine, counts, current, drawn);
  centreOnFocus(machine, current, counts);
}

/** The state's count in a pill on the top right corner of its box. */
function addCountBadge(g, n) {
  const svg = (tag, attrs = {}) => {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  };
  const bb = g.getBBox();
  const capsule = svg('rect');
  const text = svg('text', { x: bb.x + bb.width, y: bb.y + 5, 'text-anchor': 'middle' });
  text.textContent = n.toLocaleString();
  const badge = svg('g', { class: 'count' });
  badge.append(capsule, text);
  g.append(badge);
  // Only text in the document has a size.
  const tb = text.getBBox();
  const h = tb.height + 2;
  const box = { x: tb.x - 6, y: tb.y - 1, width: tb.width + 12, height: h, rx: h / 2 };
  for (const [k, v] of Object.entries(box)) capsule.setAttribute(k, String(v));
}

/** How many actors of the machine are in each state, large, in the diagram's state order. */
function renderTallies(machine, counts, current, drawn) {
  const order = [...new Set([...drawn, ...Object.keys(counts)])];
  const tallies = order
    .filter((state) => (counts[state] ?? 0) > 0)
    .map((state) =>
      el(
        'div',
        {
          class: `tally${current.has(state) ? ' current' : ''}`,
          'data-tally': state,
          title: `${counts[state].toLocaleString()} ${machine} actors are ${state}`,
        },
        el('span', { class: 'tally-count' }, counts[state].toLocaleString()),
        el('span', { class: 'tally-state' }, state),
      ),
    );
  $('statechart-info').replaceChildren(
    el(
      'span',
      { class: 'tally-caption' },
      tallies.length ? `${machine} actors by state` : `No ${machine} actors.`,
    ),
    ...tallies,
    ...(current.size
      ? [el('span', { class: 'muted' }, `highlighted: ${ui.selected.kind} ${ui.selected.name}`)]
      : []),
  );
}

/**
 * Sizes the shown diagram: as large as fits its box, up to its natural size, but never so small
 * that its smallest text drops below LEGIBLE_PX (the box scrolls then), unless the whole diagram
 * was asked for.
 */
function scaleStatechart() {
  const box = $('statechart');
  const svg = box.querySelector('svg');
  if (!svg) return;
  const { width, height } = svg.viewBox.baseVal;
  const sizes = [...svg.querySelectorAll('text[font-size]')].map((t) =>
    Number(t.getAttribute('font-size')),
  );
  const smallest = Math.min(...sizes.filter((n) => n > 0));
  const fit = Math.min(
    NATURAL_SCALE,
    box.clientWidth / width,
    parseFloat(getComputedStyle(box).maxHeight) / height,
  );
  const scale =
    ui.wholeChart || !Number.isFinite(smallest) ? fit : Math.max(fit, LEGIBLE_PX / smallest);
  svg.style.width = `${width * scale}px`;
  svg.style.height = `${height * scale}px`;
  // Scrollbars are not always drawn (overlay scrollbars): say that there is more.
  $('statechart-hint').hidden = scale <= fit;
}

/**
 * Scrolls the diagram's box to the highlighted state whenever the highlight moves, or else, once
 * per diagram shown, to the state with the most actors: where a look at a big diagram starts.
 */
function centreOnFocus(machine, current, counts) {
  const box = $('statechart');
  const highlighted = box.querySelector('g.node.current');
  const key = highlighted
    ? `${machine} ${ui.selected.kind}:${ui.selected.name} ${[...current].join()}`
    : machine;
  if (box.dataset.centred === key) return;
  const busiest = [...box.querySelectorAll('g.node.occupied')].sort(
    (a, b) => counts[b.dataset.state] - counts[a.dataset.state],
  )[0];
  const node = highlighted ?? busiest;
  if (!node) return;
  box.dataset.centred = key;
  const n = node.getBoundingClientRect();
  const b = box.getBoundingClientRect();
  box.scrollLeft += n.left + n.width / 2 - (b.left + b.width / 2);
  box.scrollTop += n.top + n.height / 2 - (b.top + b.height / 2);
}

function showMachine(m) {
  ui.machine = m;
  void renderStatechart();
}

// ── models ─────────────────────────────────────────────────────────────────────────────────────
async function loadPage() {
  const q = new URLSearchParams({ offset: ui.offset, limit: PAGE, q: ui.query, state: ui.state });
  ui.page = await getJson(`/api/models?${q}`);
  if (ui.offset > 0 && ui.offset >= ui.page.total) {
    ui.offset = Math.max(0, ui.page.total - PAGE);
    return loadPage();
  }
  renderModels();
}

function renderModels() {
  const body = $('models').tBodies[0];
  body.replaceChildren();
  for (const m of ui.page.models) {
    const v = m.versions.at(-1);
    const chips = (v?.replicas ?? []).map((r) =>
      el('span', {
        class: 'chip',
        title: `replica ${r.idx}: ${r.state}`,
        'data-replica-state': r.state,
        style: `background:${REPLICA_COLOURS[r.state] ?? '#ccc'}`,
      }),
    );
    const selected = ui.selected?.kind === 'model' && ui.selected.name === m.name;
    body.append(
      el(
        'tr',
        {
          'data-model': m.name,
          class: selected ? 'selected' : '',
          onclick: () => select('model', m.name),
        },
        el('td', {}, m.name, m.deleted ? el('span', { class: 'muted' }, ' (deleted)') : null),
        el('td', {}, String(v?.version ?? '')),
        el('td', {}, v ? pill(v.state) : ''),
        el('td', {}, v?.server ?? ''),
        el(
          'td',
          { class: 'replicas' },
          ...chips,
          v ? ` ${v.availableReplicas} / ${v.definition.deployment?.replicas ?? 1}` : '',
        ),
        el('td', { class: 'muted' }, v?.reason ?? ''),
      ),
    );
  }
  renderReplicaLegend();
  const { total } = ui.page;
  $('page').textContent = total
    ? `${(ui.offset + 1).toLocaleString()}–${Math.min(ui.offset + PAGE, total).toLocaleString()} of ${total.toLocaleString()}`
    : 'none';
  $('prev').disabled = ui.offset === 0;
  $('next').disabled = ui.offset + PAGE >= total;
}

/** What the colours of the replicas on this page mean. */
function renderReplicaLegend() {
  const states = new Set(
    ui.page.models.flatMap((m) => m.versions.at(-1)?.replicas ?? []).map((r) => r.state),
  );
  $('replica-legend').replaceChildren(
    ...(states.size ? ['Replica states: '] : []),
    // In the colour table's order, so that the legend does not reshuffle as models change.
    ...[...new Set([...Object.keys(REPLICA_COLOURS), ...states])]
      .filter((state) => states.has(state))
      .flatMap((state) => [
        el('span', {
          class: 'chip',
          'data-legend-state': state,
          style: `background:${REPLICA_COLOURS[state] ?? '#ccc'}`,
        }),
        `${state} `,
      ]),
  );
}

// ── pipelines and experiments ──────────────────────────────────────────────────────────────────
/** Pipeline graphs by name and definition, reused by renders while their pipeline is listed. */
const graphs = new Map();

function renderPipelines() {
  const box = $('pipelines');
  box.replaceChildren();
  const pipelines = ui.summary?.pipelines ?? [];
  if (pipelines.length === 0) box.append(el('p', { class: 'muted' }, 'No pipelines.'));
  const shown = new Set();
  for (const p of pipelines) {
    const v = p.versions.at(-1);
    if (!v) continue;
    const key = `${p.name} ${JSON.stringify(v.definition)}`;
    shown.add(key);
    if (!graphs.has(key)) graphs.set(key, pipelineGraph(v.definition));
    box.append(
      el(
        'div',
        { class: 'pipeline', 'data-pipeline': p.name },
        el('span', { class: 'server-name', onclick: () => select('pipeline', p.name) }, p.name),
        ` v${v.version} `,
        pill(v.state),
        el('span', { class: 'muted' }, v.modelsReady ? ' models ready' : ' models not ready'),
        el('div', { class: 'graph' }, graphs.get(key)),
      ),
    );
  }
  for (const key of graphs.keys()) if (!shown.has(key)) graphs.delete(key);
}

function renderExperiments() {
  const box = $('experiments');
  box.replaceChildren();
  const experiments = ui.summary?.experiments ?? [];
  if (experiments.length === 0) box.append(el('p', { class: 'muted' }, 'No experiments.'));
  for (const e of experiments) {
    const d = e.definition;
    const total = d.candidates.reduce((n, c) => n + c.weight, 0) || 1;
    box.append(
      el(
        'div',
        { class: 'pipeline', 'data-experiment': d.name },
        el('span', { class: 'server-name', onclick: () => select('experiment', d.name) }, d.name),
        ' ',
        pill(e.state),
        el(
          'span',
          { class: 'muted' },
          ` ${d.resourceType}s, candidates ${e.candidatesReady ? 'ready' : 'not ready'}`,
        ),
        ...d.candidates.map((c) =>
          el(
            'div',
            { class: 'candidate' },
            `${c.name}${c.name === d.default ? ' (default)' : ''}: ${Math.round((100 * c.weight) / total)}%`,
          ),
        ),
        d.mirror
          ? el('div', { class: 'candidate' }, `mirror ${d.mirror.name}: ${d.mirror.percent}%`)
          : null,
      ),
    );
  }
}

// ── detail and history ─────────────────────────────────────────────────────────────────────────
async function select(kind, name) {
  ui.selected = { kind, name };
  await loadDetail();
  renderModels();
  if (kind === 'model') ui.machine = 'modelVersion';
  else if (kind === 'server') ui.machine = 'server';
  else if (kind === 'pipeline') ui.machine = 'pipelineVersion';
  else ui.machine = 'experiment';
  await renderStatechart();
}

async function loadDetail() {
  if (!ui.selected) return;
  const q = new URLSearchParams(ui.selected);
  ui.detail = await getJson(`/api/resource?${q}`);
  renderDetail();
}

function renderDetail() {
  const d = ui.detail;
  $('detail-title').textContent = `${d.kind} ${d.name}`;
  const box = $('detail');
  box.replaceChildren();
  if (!d.view) box.append(el('p', { class: 'muted' }, 'Gone.'));
  else if (d.kind === 'model') {
    for (const v of d.view.versions) {
      box.append(
        el(
          'div',
          {},
          `version ${v.version} on ${v.server || '(no server)'} `,
          pill(v.state),
          el('span', { class: 'muted' }, ` ${v.availableReplicas} available ${v.reason}`),
          ...v.replicas.map((r) =>
            el('div', { class: 'candidate' }, `replica ${r.idx} `, pill(r.state), ` ${r.reason}`),
          ),
        ),
      );
    }
    if (d.explanation) box.append(renderExplanation(d.explanation));
  } else if (d.kind === 'server') {
    if (d.headroom) box.append(renderHeadroom(d.headroom));
  } else if (d.kind === 'pipeline') {
    const v = d.view.versions.at(-1);
    if (v) {
      box.append(
        el(
          'div',
          {},
          `version ${v.version} `,
          pill(v.state),
          el(
            'span',
            { class: 'muted' },
            ` · ${v.modelsReady ? 'models ready' : 'models not ready'}`,
            v.reason ? ` · reason: ${v.reason}` : '',
          ),
        ),
        el('div', { class: 'graph' }, pipelineGraph(v.definition)),
      );
    }
  }
  const rows = d.transitions
    .slice()
    .reverse()
    .map((t) =>
      el(
        'tr',
        {},
        el('td', {}, time(t.at)),
        el('td', {}, t.actor),
        el('td', {}, t.from ? pill(t.from) : el('span', { class: 'muted' }, 'new')),
        el('td', {}, pill(t.to)),
        el('td', { class: 'muted' }, t.reason),
      ),
    );
  box.append(
    el('h3', {}, 'Transitions (newest first)'),
    el(
      'table',
      { id: 'history' },
      el(
        'thead',
        {},
        el('tr', {}, ...['time', 'actor', 'from', 'to', 'reason'].map((h) => el('th', {}, h))),
      ),
      el('tbody', {}, ...rows),
    ),
  );
}

// ── placement explained ────────────────────────────────────────────────────────────────────────
/** Placement's decision for the model now: each server and replica with its verdict, and fixes. */
function renderExplanation(e) {
  const section = el('section', { id: 'explanation' }, el('h3', {}, 'Placement'));
  for (const note of [e.note, e.stays && `Stays: ${e.stays}`]) {
    if (note) section.append(el('p', { class: 'muted' }, note));
  }
  if (e.awaitingAgents.length > 0) {
    section.append(
      el('p', { class: 'muted' }, `Waiting for the agents of ${e.awaitingAgents.join(', ')}.`),
    );
  }
  const p = e.placement;
  if (!p) return section;
  const r = p.result;
  section.append(
    el(
      'p',
      { class: r.ok ? 'verdict placed' : 'verdict failed' },
      r.ok
        ? `${r.partial ? 'Partly placed' : 'Placed'} on ${r.server}, replica ${[...r.replicaIdxs].sort((a, b) => a - b).join(', ')}`
        : `Cannot be placed: ${r.reason}`,
    ),
  );
  if (p.tieBreak) section.append(el('p', { class: 'muted' }, p.tieBreak));
  const rows = [];
  for (const s of p.servers) {
    rows.push(
      el(
        'tr',
        { class: `server-verdict ${s.verdict}`, 'data-server': s.name },
        el('td', {}, s.order ? String(s.order) : '–'),
        el('td', {}, s.name),
        el('td', {}, el('span', { class: `verdict-tag ${s.verdict}` }, s.verdict)),
        el('td', {}, s.why),
      ),
    );
    for (const rep of s.replicas) {
      rows.push(
        el(
          'tr',
          { class: `replica-verdict ${rep.verdict}`, 'data-replica': `${s.name}/${rep.idx}` },
          el('td', {}, rep.rank ? `#${rep.rank}` : ''),
          el('td', {}, `  replica ${rep.idx}`),
          el(
            'td',
            {},
            el('span', { class: `verdict-tag ${rep.verdict}` }, rep.rejectedBy ?? rep.verdict),
          ),
          el(
            'td',
            {},
            rep.why,
            el(
              'span',
              { class: 'muted' },
              rep.memoryBytes === undefined
                ? ''
                : ` · memory ${bytes(rep.memoryBytes)}, over-commit ${rep.overCommitPercentage}%`,
            ),
          ),
        ),
      );
    }
  }
  section.append(
    el(
      'table',
      { class: 'explanation' },
      el(
        'thead',
        {},
        el('tr', {}, ...['order', 'server', 'verdict', 'why'].map((h) => el('th', {}, h))),
      ),
      el('tbody', {}, ...rows),
    ),
  );
  if (p.suggestions.length > 0) {
    section.append(
      el('h4', {}, r.ok ? 'To place it fully' : 'To place it'),
      el('ul', { class: 'suggestions' }, ...p.suggestions.map((x) => el('li', {}, x))),
    );
  }
  return section;
}

/** What each replica of a server can still take, and the models it holds. */
function renderHeadroom(replicas) {
  const rows = replicas.map((r) =>
    el(
      'tr',
      { 'data-replica': String(r.idx) },
      el(
        'td',
        {},
        `replica ${r.idx}`,
        r.draining ? el('span', { class: 'draining' }, ' draining') : null,
      ),
      el('td', {}, bytes(r.freeBytes)),
      el('td', {}, bytes(r.reservedBytes)),
      el(
        'td',
        {},
        `${bytes(r.capacityBytes)} (${bytes(r.memoryBytes)} + ${r.overCommitPercentage}%)`,
      ),
      el(
        'td',
        { class: 'muted' },
        r.models.map((m) => `${m.model} ${bytes(m.bytes)}`).join(', ') || 'none',
      ),
    ),
  );
  return el(
    'section',
    { id: 'headroom' },
    el('h3', {}, 'Headroom'),
    el(
      'table',
      {},
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ...['replica', 'free for a new model', 'reserved for loads', 'capacity', 'holds'].map(
            (h) => el('th', {}, h),
          ),
        ),
      ),
      el('tbody', {}, ...rows),
    ),
  );
}

function renderRecent() {
  const list = $('recent');
  list.replaceChildren(
    ...(ui.summary?.recent ?? [])
      .slice()
      .reverse()
      .map((t) => el('li', {}, `${time(t.at)} ${t.actor}: ${t.from ?? 'new'} → ${t.to}`)),
  );
}

function renderSummary() {
  const t = ui.summary.totals;
  $('totals').textContent =
    `${t.models.toLocaleString()} models · ${t.servers} servers, ${t.serverReplicas} replicas · ${ui.summary.pipelines.length} pipelines · ${ui.summary.experiments.length} experiments`;
  renderServers();
  renderPipelines();
  renderExperiments();
  renderRecent();
  void renderStatechart();
}

// ── live updates ───────────────────────────────────────────────────────────────────────────────
let pageDue = false;
function refreshPageSoon() {
  if (pageDue) return;
  pageDue = true;
  setTimeout(() => {
    pageDue = false;
    void loadPage();
  }, 300);
}

function connect() {
  const source = new EventSource('/api/events');
  source.onopen = () => {
    $('live').className = 'live on';
    $('live').textContent = 'live';
  };
  source.onerror = () => {
    $('live').className = 'live off';
    $('live').textContent = 'reconnecting';
  };
  source.onmessage = (msg) => {
    const update = JSON.parse(msg.data);
    ui.summary = update;
    renderSummary();
    const changed = update.changed;
    const visible = new Set(ui.page.models.map((m) => m.name));
    if (
      !changed ||
      changed.moreModels > 0 ||
      changed.models.some((m) => visible.has(m)) ||
      (ui.page.models.length < PAGE && changed.models.length > 0) ||
      ui.query ||
      ui.state
    ) {
      refreshPageSoon();
    }
    const s = ui.selected;
    if (s && (!changed || (changed[`${s.kind}s`] ?? []).includes(s.name)))
      void loadDetail().then(renderStatechart);
  };
}

function init() {
  for (const s of MODEL_STATES) $('model-state').append(el('option', { value: s }, s));
  $('model-query').addEventListener('input', (e) => {
    ui.query = e.target.value.trim();
    ui.offset = 0;
    refreshPageSoon();
  });
  $('model-state').addEventListener('change', (e) => {
    ui.state = e.target.value;
    ui.offset = 0;
    void loadPage();
  });
  $('statechart-whole').addEventListener('change', (e) => {
    ui.wholeChart = e.target.checked;
    scaleStatechart();
    delete $('statechart').dataset.centred;
    void renderStatechart();
  });
  addEventListener('resize', scaleStatechart);
  $('prev').addEventListener('click', () => {
    ui.offset = Math.max(0, ui.offset - PAGE);
    void loadPage();
  });
  $('next').addEventListener('click', () => {
    ui.offset += PAGE;
    void loadPage();
  });
  void loadPage();
  connect();
}

init();
