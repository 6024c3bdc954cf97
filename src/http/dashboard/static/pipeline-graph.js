// A pipeline drawn as its graph: a box per step, an arrow per reference from what a step reads to
// the step, in columns by topological level (left to right), as inline SVG. Its own module so
// that the browser tests can draw definitions no scheduler would accept (cycles, unknown steps).

const SVG = 'http://www.w3.org/2000/svg';
const FONT_PX = 13;
const FONT_FAMILY = 'system-ui, sans-serif';
const LABEL_PX = 12;
const BOX_H = 30;
/** Room per edge on a box's side: a box with many edges grows, so that their labels stay apart. */
const PORT_GAP = 14;
const BOX_PAD = 10;
/** The height a long edge takes where it passes a column. */
const PASS_H = 10;
const ROW_GAP = 14;
const MIN_COLUMN_GAP = 44;
const MARGIN = 10;
/** How far below the drawing the first back edge (of a cycle) dips, and the next ones more. */
const BACK_DIP = 28;
const BACK_STEP = 16;

/**
 * The nodes and edges of a pipeline definition (as `/api/summary` and `/api/resource` give it).
 * A step with no inputs reads the pipeline's inputs, as Seldon runs it; a reference naming no step
 * gets an `unknown` node, so that whatever the definition says is drawn.
 */
function graphOf(def) {
  const nodes = new Map();
  const edges = [];
  const node = (key, label, kind, title = label) => {
    if (!nodes.has(key)) nodes.set(key, { key, label, kind, title });
    return key;
  };
  const steps = new Set(def.steps.map((s) => s.name));
  const inputs = () => node('inputs', `${def.name}.inputs`, 'inputs', 'the pipeline inputs');
  // `<step>.outputs[.<tensor>]`, `<step>.inputs[.<tensor>]` or `<pipeline>.inputs[.<tensor>]`.
  const source = (ref) => {
    const [head = '', ...rest] = ref.split('.');
    const what = rest.join('.');
    if (head === def.name) return { from: inputs(), label: what.replace(/^inputs\.?/, '') };
    const label = what.replace(/^outputs\.?/, '');
    if (steps.has(head)) return { from: `step:${head}`, label };
    const from = node(`unknown:${head}`, head, 'unknown', `${head}: no such step`);
    return { from, label };
  };
  // Steps first, in definition order, so that columns list them in that order.
  for (const s of def.steps) node(`step:${s.name}`, s.name, 'step');
  for (const ref of def.input?.externalInputs ?? []) {
    edges.push({ from: node(`external:${ref}`, ref, 'external'), to: inputs(), kind: 'input' });
  }
  for (const ref of def.input?.externalTriggers ?? []) {
    edges.push({ from: node(`external:${ref}`, ref, 'external'), to: inputs(), kind: 'trigger' });
  }
  for (const s of def.steps) {
    const to = `step:${s.name}`;
    if (s.inputs.length === 0) edges.push({ from: inputs(), to, kind: 'input', label: '' });
    for (const ref of s.inputs) edges.push({ ...source(ref), to, kind: 'input', ref });
    for (const ref of s.triggers) {
      const { from, label } = source(ref);
      edges.push({ from, to, kind: 'trigger', label: label ? `trigger ${label}` : 'trigger', ref });
    }
  }
  for (const ref of def.output?.steps ?? []) {
    const to = node('outputs', `${def.name}.outputs`, 'outputs', 'the pipeline outputs');
    edges.push({ ...source(ref), to, kind: 'output', ref });
  }
  for (const e of edges) {
    e.label ??= '';
    const what = e.kind === 'trigger' ? 'triggers' : 'feeds';
    e.title = `${e.ref ?? nodes.get(e.from).label} ${what} ${nodes.get(e.to).label}`;
  }
  return { nodes, edges };
}

/**
 * The edges that close a cycle: those a walk from the graph's sources (the pipeline inputs,
 * unknown steps) finds pointing back into its own path. Without them the graph is acyclic.
 */
function backEdgesOf(nodes, edges) {
  const out = new Map([...nodes.keys()].map((k) => [k, []]));
  const fed = new Set();
  for (const e of edges) {
    out.get(e.from).push(e);
    fed.add(e.to);
  }
  const back = new Set();
  const state = new Map();
  const walk = (key) => {
    state.set(key, 'on path');
    for (const e of out.get(key)) {
      if (state.get(e.to) === 'on path') back.add(e);
      else if (!state.has(e.to)) walk(e.to);
    }
    state.set(key, 'done');
  };
  const keys = [...nodes.keys()];
  // Sources first; whatever is left is only reachable through a cycle.
  for (const key of [...keys.filter((k) => !fed.has(k)), ...keys]) {
    if (!state.has(key)) walk(key);
  }
  return back;
}

/** Each node's column: one right of the furthest node it reads from, edges closing cycles aside. */
function columnsOf(nodes, edges, back) {
  const sources = new Map([...nodes.keys()].map((k) => [k, []]));
  for (const e of edges) if (!back.has(e)) sources.get(e.to).push(e.from);
  const column = new Map();
  const visit = (key) => {
    if (!column.has(key)) {
      column.set(key, Math.max(0, ...sources.get(key).map((from) => visit(from) + 1)));
    }
    return column.get(key);
  };
  for (const key of nodes.keys()) visit(key);
  return column;
}

/**
 * Where everything goes: `{ width, height, nodes, edges }`, nodes with `x, y, w, h` and edges with
 * the `points` they pass through (`back` for those drawn right to left, below the rest) and
 * where their label goes. `textWidth(text, px)` measures text in the drawing's font.
 */
function layoutPipeline(def, textWidth) {
  const { nodes, edges } = graphOf(def);
  const back = backEdgesOf(nodes, edges);
  const column = columnsOf(nodes, edges, back);
  const columns = [];
  const ends = new Map();
  const count = (key) => ends.set(key, (ends.get(key) ?? 0) + 1);
  for (const e of edges) {
    if (back.has(e)) continue;
    count(`out ${e.from}`);
    count(`in ${e.to}`);
  }
  for (const n of nodes.values()) {
    const side = Math.max(ends.get(`out ${n.key}`) ?? 0, ends.get(`in ${n.key}`) ?? 0);
    n.w = Math.ceil(textWidth(n.label, FONT_PX)) + 2 * BOX_PAD;
    n.h = Math.max(BOX_H, PORT_GAP * (side + 1));
    (columns[column.get(n.key)] ??= []).push(n);
  }
  // A forward edge spanning several columns passes each one between them in a slot of its own,
  // placed like a node, so that it runs beside the boxes there and not through them.
  const forward = edges.filter((e) => !back.has(e));
  const succ = new Map();
  const pred = new Map();
  const link = (a, b) => {
    (succ.get(a) ?? succ.set(a, []).get(a)).push(b);
    (pred.get(b) ?? pred.set(b, []).get(b)).push(a);
  };
  for (const e of forward) {
    e.chain = [nodes.get(e.from)];
    for (let c = column.get(e.from) + 1; c < column.get(e.to); c++) {
      const pass = { pass: true, w: 0, h: PASS_H };
      columns[c].push(pass);
      e.chain.push(pass);
    }
    e.chain.push(nodes.get(e.to));
    for (let i = 1; i < e.chain.length; i++) link(e.chain[i - 1], e.chain[i]);
  }
  // Fewer crossings: a few sweeps ordering each column by the mean row of its neighbours in the
  // column before (then after); items without such neighbours keep their place.
  const row = new Map();
  const number = (list) => list.forEach((item, i) => row.set(item, i));
  columns.forEach(number);
  const sweep = (list, neighbours) => {
    const at = new Map(
      list.map((item, i) => {
        const ns = neighbours.get(item) ?? [];
        return [item, ns.length ? ns.reduce((sum, n) => sum + row.get(n), 0) / ns.length : i];
      }),
    );
    list.sort((a, b) => at.get(a) - at.get(b));
    number(list);
  };
  for (let round = 0; round < 3; round++) {
    for (let c = 1; c < columns.length; c++) sweep(columns[c], pred);
    for (let c = columns.length - 2; c >= 0; c--) sweep(columns[c], succ);
  }

  // Columns left to right, each gap wide enough for the labels of the edges ending across it.
  const gap = columns.map(() => MIN_COLUMN_GAP);
  for (const e of forward) {
    const c = column.get(e.to);
    if (e.label) gap[c] = Math.max(gap[c], textWidth(e.label, LABEL_PX) + 24);
  }
  const heights = columns.map((list) =>
    list.reduce((h, item, i) => h + item.h + (i ? ROW_GAP : 0), 0),
  );
  const tallest = Math.max(0, ...heights);
  let x = MARGIN;
  columns.forEach((list, c) => {
    if (c > 0) x += gap[c];
    const colW = Math.max(0, ...list.map((item) => item.w));
    let y = MARGIN + (tallest - heights[c]) / 2;
    for (const item of list) {
      item.x = x + (colW - item.w) / 2;
      item.y = y;
      y += item.h + ROW_GAP;
    }
    x += colW;
  });

  // Ports: the edges leaving (entering) a box share its right (left) side, in the order of the
  // rows they go to (come from), so that parallel edges stay apart. A pass is a single point.
  const segments = forward.flatMap((e) =>
    e.chain.slice(1).map((b, i) => ({ e, a: e.chain[i], b })),
  );
  const spread = (end, other, port) => {
    const byItem = new Map();
    for (const s of segments) (byItem.get(s[end]) ?? byItem.set(s[end], []).get(s[end])).push(s);
    for (const [item, list] of byItem) {
      list.sort((s, t) => s[other].y - t[other].y);
      list.forEach((s, i) => {
        s[port] = {
          x: port === 'from' ? item.x + item.w : item.x,
          y: item.pass ? item.y + item.h / 2 : item.y + (item.h * (i + 1)) / (list.length + 1),
        };
      });
    }
  };
  spread('a', 'b', 'from');
  spread('b', 'a', 'to');
  for (const e of forward) {
    const own = segments.filter((s) => s.e === e);
    e.points = [own[0].from, ...own.map((s) => s.to)];
    // On the last stretch, where the gap was widened for it.
    const [a, b] = e.points.slice(-2);
    e.labelAt = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
  }

  const placed = [...nodes.values()];
  let bottom = MARGIN + tallest;
  [...back].forEach((e, i) => {
    const a = nodes.get(e.from);
    const b = nodes.get(e.to);
    const dip = Math.max(a.y + a.h, b.y + b.h) + BACK_DIP + i * BACK_STEP;
    e.back = true;
    e.points = [
      { x: a.x + (a.w * 3) / 4, y: a.y + a.h },
      { x: b.x + b.w / 4, y: b.y + b.h },
    ];
    e.dip = dip;
    e.labelAt = { x: (e.points[0].x + e.points[1].x) / 2, y: dip - 4 };
    bottom = Math.max(bottom, dip);
  });
  return { width: x + MARGIN, height: bottom + MARGIN, nodes: placed, edges };
}

/** The SVG path of a laid-out edge: smooth curves, level where they leave and enter a box. */
function pathOf(e) {
  const [first, ...rest] = e.points;
  if (e.back) {
    const [end] = rest;
    return `M${first.x},${first.y} C${first.x},${e.dip} ${end.x},${e.dip} ${end.x},${end.y}`;
  }
  let d = `M${first.x},${first.y}`;
  let prev = first;
  for (const p of rest) {
    const dx = (p.x - prev.x) / 2;
    d += ` C${prev.x + dx},${prev.y} ${p.x - dx},${p.y} ${p.x},${p.y}`;
    prev = p;
  }
  return d;
}

const svgEl = (tag, attrs = {}, ...children) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  e.append(...children);
  return e;
};
const titled = (text) => svgEl('title', {}, text);

let measurer;
function textWidth(text, px) {
  measurer ??= document.createElement('canvas').getContext('2d');
  measurer.font = `${px}px ${FONT_FAMILY}`;
  return measurer.measureText(text).width;
}

/** Arrowhead ids: unique per drawing, as several drawings share the page. */
let drawings = 0;

/** The pipeline's graph as an `<svg class="pipeline-graph">` element at its natural size. */
export function pipelineGraph(def) {
  const layout = layoutPipeline(def, textWidth);
  const arrow = `pipeline-arrow-${++drawings}`;
  const svg = svgEl('svg', {
    class: 'pipeline-graph',
    width: layout.width,
    height: layout.height,
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    'font-family': FONT_FAMILY,
    'font-size': FONT_PX,
    role: 'img',
    'aria-label': `pipeline ${def.name}: ${def.steps.length} steps`,
  });
  svg.append(
    svgEl(
      'defs',
      {},
      svgEl(
        'marker',
        {
          id: arrow,
          viewBox: '0 0 10 10',
          refX: 10,
          refY: 5,
          markerWidth: 8,
          markerHeight: 8,
          markerUnits: 'userSpaceOnUse',
          orient: 'auto',
        },
        svgEl('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }),
      ),
    ),
  );
  for (const e of layout.edges) {
    svg.append(
      svgEl(
        'path',
        {
          class: `edge ${e.kind}${e.back ? ' back' : ''}`,
          d: pathOf(e),
          'marker-end': `url(#${arrow})`,
          'data-from': e.from,
          'data-to': e.to,
          'data-kind': e.kind,
        },
        titled(e.title),
      ),
    );
  }
  for (const e of layout.edges) {
    if (!e.label) continue;
    svg.append(
      svgEl(
        'text',
        {
          class: 'edge-label',
          x: e.labelAt.x,
          y: e.labelAt.y,
          dy: '-0.3em',
          'text-anchor': 'middle',
          'font-size': LABEL_PX,
        },
        e.label,
        titled(e.title),
      ),
    );
  }
  for (const n of layout.nodes) {
    const round = n.kind === 'inputs' || n.kind === 'outputs' ? n.h / 2 : 4;
    svg.append(
      svgEl(
        'g',
        { class: `node ${n.kind}`, 'data-node': n.key },
        titled(n.title),
        svgEl('rect', { x: n.x, y: n.y, width: n.w, height: n.h, rx: round }),
        svgEl(
          'text',
          { x: n.x + n.w / 2, y: n.y + n.h / 2, 'text-anchor': 'middle', dy: '0.35em' },
          n.label,
        ),
      ),
    );
  }
  return svg;
}
