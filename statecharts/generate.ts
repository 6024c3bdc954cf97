/**
 * Writes each machine's diagram: `<id>.json` (the serialisable machine definition), `<id>.mmd` (a
 * Mermaid stateDiagram-v2 walked from `machine.root`) and `<id>.svg` (a Graphviz drawing of the
 * same walk, laid out by `@viz-js/viz`, Graphviz compiled to WebAssembly: no browser, no network).
 * `npm run statecharts` regenerates them and README.md's statecharts section (the `.mmd` texts),
 * `npm run statecharts:check` fails when the committed ones are stale, and `mlsched statecharts
 * --out DIR` writes them elsewhere through `writeStatecharts`.
 *
 * The output is a pure function of the machine definitions (and, for the `.svg`, of the Graphviz
 * build in package-lock.json): states and transitions keep their definition order (guard order is
 * semantic, and state order drives the layout), machines are written in id order, and nothing
 * depends on time, locale or the file system.
 */
import { mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { instance, type Viz } from '@viz-js/viz';
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';
import { machines } from '../src/actors/index.js';

/** Keeps a label or description on one Mermaid line, away from its separators. */
const oneLine = (text: string): string =>
  text
    .replace(/[:;\n\r]+/g, ',')
    .replace(/\s+/g, ' ')
    .trim();

/** The `[guard]` text: the guard's name, `not(...)`/`and(...)`/`or(...)` spelled out, or `inline`. */
export function guardLabel(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && guard !== null && 'type' in guard) {
    return typeof guard.type === 'string' ? guard.type : 'guard';
  }
  if (typeof guard === 'function') {
    const g = guard as { name: string; guards?: unknown[]; stateValue?: unknown };
    if (Array.isArray(g.guards) && ['not', 'and', 'or'].includes(g.name)) {
      return `${g.name}(${g.guards.map(guardLabel).join(', ')})`;
    }
    if (g.name === 'stateIn' && g.stateValue !== undefined) {
      return `stateIn(${JSON.stringify(g.stateValue)})`;
    }
    return g.name && g.name !== 'guard' ? g.name : 'inline';
  }
  return 'guard';
}

const INVOKE_HANDLERS: Readonly<Record<string, string>> = {
  'done.actor': 'onDone',
  'error.actor': 'onError',
  snapshot: 'onSnapshot',
};

/** What a transition's event descriptor means, in the words of the machine config. */
function eventLabel(node: AnyStateNode, t: AnyTransitionDefinition): string {
  const type = String(t.eventType);
  const delay = (t as { delay?: unknown }).delay;
  if (
    type.startsWith('xstate.after.') &&
    (typeof delay === 'number' || typeof delay === 'string')
  ) {
    return typeof delay === 'number' ? `after ${delay}ms` : `after ${delay}`;
  }
  if (type === `xstate.done.state.${node.id}`) return 'onDone';
  if (type === 'xstate.route') return 'route';
  const invoked = /^xstate\.(done\.actor|error\.actor|snapshot)\.(.*)$/.exec(type);
  if (invoked) {
    const [, kind = '', id = ''] = invoked;
    // Invocations without an explicit `id` get a generated one (`0.machine.state`): show the `src`.
    const index = node.invoke.findIndex((i) => i.id === id);
    const def = node.invoke[index];
    const name = def && typeof def.src === 'string' && id === `${index}.${node.id}` ? def.src : id;
    return `${INVOKE_HANDLERS[kind] ?? kind}(${name})`;
  }
  return type;
}

/** One drawn transition: a target of a transition definition (targetless ones loop on `source`). */
interface Transition {
  source: AnyStateNode;
  target: AnyStateNode;
  /** `eventLabel`, or `(always)` for an eventless transition. */
  event: string;
  /** `guardLabel` of its guard, if it has one. */
  guard: string | undefined;
  /** No target and no actions: it only swallows the event (often to shadow an ancestor's). */
  inert: boolean;
  /** The innermost composite that strictly contains both ends (the root for the root's own). */
  block: AnyStateNode;
}

/** What every renderer draws of one machine, in definition order. */
interface Walk {
  root: AnyStateNode;
  /** The state's id: its path joined with `_`, made identifier-safe and unique; `any` is the root. */
  ref: (n: AnyStateNode) => string;
  /** Every id `ref` handed out (renderers allocate their own extra ids outside this set). */
  used: Set<string>;
  children: (n: AnyStateNode) => AnyStateNode[];
  /** Every transition in definition order: each state's own (evented, then eventless), then its children's. */
  transitions: Transition[];
}

const ANY = 'any';

/** Walks `machine.root`: state ids assigned in definition order, then transitions in definition order. */
function walk(machine: AnyStateMachine): Walk {
  const root = machine.root;
  const ids = new Map<AnyStateNode, string>([[root, ANY]]);
  const used = new Set<string>([ANY]);

  // Ids are global to the diagram: the state's path, made identifier-safe and unique.
  const ref = (n: AnyStateNode): string => {
    let id = ids.get(n);
    if (id === undefined) {
      const base = n.path.join('_').replace(/[^A-Za-z0-9_]/g, '_') || 'state';
      id = base;
      for (let i = 2; used.has(id); i++) id = `${base}_${i}`;
      used.add(id);
      ids.set(n, id);
    }
    return id;
  };
  const children = (n: AnyStateNode): AnyStateNode[] => Object.values(n.states);
  const ancestors = (n: AnyStateNode): AnyStateNode[] => {
    const out: AnyStateNode[] = [];
    for (let p = n.parent; p; p = p.parent) out.push(p);
    return out;
  };
  // A transition is drawn in the innermost composite that strictly contains both of its ends.
  const blockOf = (from: AnyStateNode, to: AnyStateNode): AnyStateNode => {
    if (from === root || to === root) return root;
    const toAncestors = new Set(ancestors(to));
    return ancestors(from).find((a) => toAncestors.has(a)) ?? root;
  };

  // Assign ids in definition order first, so they do not depend on which transition comes first.
  const assign = (n: AnyStateNode): void => {
    for (const c of children(n)) {
      ref(c);
      assign(c);
    }
  };
  assign(root);

  const transitions: Transition[] = [];
  const collect = (n: AnyStateNode): void => {
    const all: [string, AnyTransitionDefinition][] = [];
    for (const ts of n.transitions.values()) for (const t of ts) all.push([eventLabel(n, t), t]);
    for (const t of n.always ?? []) all.push(['(always)', t]);
    for (const [event, t] of all) {
      const inert = !t.target && t.actions.length === 0 && !t.reenter;
      const guard = t.guard === undefined ? undefined : guardLabel(t.guard);
      for (const target of t.target ?? [n]) {
        transitions.push({ source: n, target, event, guard, inert, block: blockOf(n, target) });
      }
    }
    for (const c of children(n)) collect(c);
  };
  collect(root);

  return { root, ref, used, children, transitions };
}

/** The `event [guard]` text of a transition (`(ignored)` appended when it only swallows the event). */
const transitionLabel = (t: Transition): string =>
  `${t.event}${t.guard === undefined ? '' : ` [${t.guard}]`}${t.inert ? ' (ignored)' : ''}`;

/**
 * The Mermaid `stateDiagram-v2` text of one machine. States are named by their path
 * (`parent_child`), nested states sit in `state parent { ... }`, parallel regions are separated by
 * `--`, and descriptions become `state : text`. Transitions read `from --> to: event [guard]`, each
 * in the innermost composite holding both ends: the machine's own start from the pseudo-state
 * `any`, targetless ones are self-loops (`(ignored)` when they only swallow the event), eventless
 * ones read `(always)`, and generated events read `after <delay>`, `onDone`, `onError(<src>)`.
 */
export function renderMermaid(machine: AnyStateMachine): string {
  const { root, ref, children, transitions } = walk(machine);

  const out: string[] = [];
  const render = (n: AnyStateNode, indent: string): void => {
    const kids = children(n);
    kids.forEach((c, i) => {
      if (n.type === 'parallel' && i > 0) out.push(`${indent}--`);
      const id = ref(c);
      const label =
        c.type === 'history' ? (c.history === 'deep' ? 'H*' : 'H') : c.key.replace(/"/g, '#quot;');
      if (label !== id) out.push(`${indent}state "${label}" as ${id}`);
      if (c.description) out.push(`${indent}${id} : ${oneLine(c.description)}`);
      else if (label === id && children(c).length === 0) out.push(`${indent}${id}`);
      if (children(c).length > 0) {
        out.push(`${indent}state ${id} {`);
        render(c, `${indent}  `);
        out.push(`${indent}}`);
      }
    });
    const initial = n.type === 'compound' ? n.initial.target[0] : undefined;
    if (initial) out.push(`${indent}[*] --> ${ref(initial)}`);
    for (const c of kids) if (c.type === 'final') out.push(`${indent}${ref(c)} --> [*]`);
    for (const t of transitions) {
      if (t.block !== n) continue;
      out.push(`${indent}${ref(t.source)} --> ${ref(t.target)}: ${oneLine(transitionLabel(t))}`);
    }
  };
  render(root, '  ');

  const head = ['stateDiagram-v2'];
  if (root.description) head.push(`  %% ${oneLine(root.description)}`);
  const anyUsed = transitions.some((t) => t.source === root || t.target === root);
  if (anyUsed) head.push(`  state "any state" as ${ANY}`);
  return `${[...head, ...out].join('\n')}\n`;
}

/** A DOT double-quoted string: `\` and `"` escaped, line breaks as `\n` (centred lines). */
export const dotString = (text: string): string =>
  `"${text
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\r\n|\r|\n/g, '\\n')}"`;

/** Text inside a Graphviz HTML-like label (`<...>`): `&`, `<`, `>` and `"` as entities. */
const htmlText = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Greedy word wrap at `width` characters (a longer word stays whole on its own line). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * The size of the smallest text, transition labels and state descriptions (points, as Graphviz
 * draws 1pt as one SVG user unit): big enough beside the 12pt state names that the dashboard, which
 * scales a diagram until this text is legible, does not have to blow the whole drawing up for it.
 */
const SMALL_PT = 11;

/** Dark enough for small text on white, and far enough apart to tell crossing edges apart. */
const EDGE_COLOURS = [
  '#1f5fa8',
  '#b03a2e',
  '#1e8449',
  '#7d3c98',
  '#a04000',
  '#117a65',
  '#9a7d0a',
  '#ad1457',
  '#2e4053',
];

/** A state's (or cluster's) HTML-like label: its name in bold over its wrapped description. */
const stateLabel = (name: string, description: string | undefined, width = 34): string => {
  const lines = description ? wrap(description, width).map(htmlText) : [];
  const text =
    lines.length > 0 ? `<br/><font point-size="${SMALL_PT}">${lines.join('<br/>')}</font>` : '';
  return `<<b>${htmlText(name)}</b>${text}>`;
};

/** A transition's label node: plain text on white, so that edges crossing it stay behind it. */
const LABEL_NODE = `shape=plaintext, style=filled, fillcolor=white, fontsize=${SMALL_PT}, margin="0.04,0.02", width=0, height=0`;

/** One drawn DOT edge: the transitions with the same drawn ends and look, one label line each. */
interface DotEdge {
  from: string;
  to: string;
  /** `ltail=...` (on the edge into the label node) when it leaves a composite from its border. */
  tail: string | undefined;
  /** `lhead=...` (on the edge out of the label node) when it enters a composite at its border. */
  head: string | undefined;
  inert: boolean;
  /** The composite whose cluster holds the label node (the root: none). */
  block: AnyStateNode;
  events: string[];
  lines: string[];
}

/**
 * The Graphviz DOT graph of one machine, drawn from the same walk as `renderMermaid` and a pure
 * function of it. States are rounded boxes with their description under their name (final ones
 * double-bordered, history ones circles reading `H`/`H*`), composite states are clusters, and each
 * initial state is pointed at from a small filled dot. A transition is an edge through a label
 * node reading `event [guard]` (transitions with the same ends share one, a line each, in
 * definition order), drawn in the innermost cluster holding both ends; a self-transition is a loop
 * with its label beside it. A transition leaving (or entering) a composite state starts at (or
 * ends on) its cluster's border; one from a composite state into itself starts at an `any state`
 * node inside it, as the machine's own ones start at the top-level `any state` node. An event
 * labelling several edges alone has a colour of its own; the others are black, and the transitions
 * that only swallow their event are dashed.
 */
export function renderDot(machine: AnyStateMachine): string {
  const { root, ref, used, children, transitions } = walk(machine);
  const fresh = (base: string): string => {
    let id = base;
    for (let i = 2; used.has(id); i++) id = `${base}_${i}`;
    used.add(id);
    return id;
  };
  const composite = (n: AnyStateNode): boolean => children(n).length > 0;
  const contains = (outer: AnyStateNode, n: AnyStateNode): boolean => {
    for (let p: AnyStateNode | undefined = n; p; p = p.parent) if (p === outer) return true;
    return false;
  };
  const innermost = (a: AnyStateNode, b: AnyStateNode): AnyStateNode => {
    for (let p: AnyStateNode | undefined = a; p; p = p.parent) if (contains(p, b)) return p;
    return root;
  };
  const cluster = (n: AnyStateNode): string => `cluster_${ref(n)}`;

  // The extra nodes of a composite, named on first use: its initial dot and its `any state` node.
  const starts = new Map<AnyStateNode, string>();
  const anys = new Map<AnyStateNode, string>();
  const startOf = (n: AnyStateNode): string | undefined => {
    if (n.type !== 'compound' || n.initial.target[0] === undefined) return undefined;
    let id = starts.get(n);
    if (id === undefined) {
      id = fresh(n === root ? 'start' : `${ref(n)}__start`);
      starts.set(n, id);
    }
    return id;
  };
  const anyOf = (n: AnyStateNode): string => {
    let id = anys.get(n);
    if (id === undefined) {
      id = n === root ? ANY : fresh(`${ref(n)}__any`);
      anys.set(n, id);
    }
    return id;
  };
  // A node inside a composite's cluster, for an edge clipped at its border: its initial dot, else
  // its first region's, else its `any state` node.
  const inside = (n: AnyStateNode): string => {
    const start = startOf(n);
    if (start !== undefined) return start;
    const first = children(n)[0];
    return first && composite(first) ? inside(first) : anyOf(n);
  };

  // The node an edge leaving a composite from its border starts at (so the cluster ranks above the
  // target): its last state, or that one's last if it is composite itself.
  const last = (n: AnyStateNode): string => {
    const c = children(n).at(-1);
    return c === undefined ? anyOf(n) : composite(c) ? last(c) : ref(c);
  };

  // Edges first, so the extra nodes they use are named before the clusters are written.
  const edges = new Map<string, DotEdge>();
  for (const t of transitions) {
    const { source, target } = t;
    let from = ref(source);
    let to = ref(target);
    let tail: string | undefined;
    let head: string | undefined;
    // The composite each drawn end sits in: a border counts as outside its cluster.
    let fromIn = source.parent ?? root;
    let toIn = target.parent ?? root;
    if (composite(source)) {
      if (contains(source, target)) {
        from = anyOf(source);
        fromIn = source;
      } else {
        from = last(source);
        tail = cluster(source);
      }
    }
    if (composite(target)) {
      if (source === target) {
        to = from;
        toIn = fromIn;
      } else if (contains(target, source)) {
        to = inside(target);
        toIn = target;
      } else {
        to = inside(target);
        head = cluster(target);
      }
    }
    const key = [from, to, tail, head, t.inert].join(' ');
    const edge = edges.get(key) ?? {
      from,
      to,
      tail,
      head,
      inert: t.inert,
      block: innermost(fromIn, toIn),
      events: [],
      lines: [],
    };
    edge.events.push(t.event);
    edge.lines.push(transitionLabel(t));
    edges.set(key, edge);
  }

  // An event alone on several edges gets a colour of its own (in order of first use), so that its
  // edges can be told apart where they cross; the others stay black.
  const uses = new Map<string, number>();
  for (const { events } of edges.values()) {
    const [event] = events;
    if (event !== undefined && events.every((e) => e === event)) {
      uses.set(event, (uses.get(event) ?? 0) + 1);
    }
  }
  const colours = new Map<string, string>();
  for (const [event, n] of uses) {
    if (n > 1) colours.set(event, EDGE_COLOURS[colours.size % EDGE_COLOURS.length] ?? 'black');
  }

  // A label node per edge (named in definition order), in the cluster of the edge's block, and the
  // two edges through it. A self-transition's label sits beside its state, on the same rank, and
  // the loop runs from the state's top right corner through the label back to its bottom right.
  const labels = new Map<AnyStateNode, string[]>();
  const through: string[] = [];
  for (const e of edges.values()) {
    const colour = new Set(e.events).size === 1 ? colours.get(e.events[0] ?? '') : undefined;
    const look = [...(colour ? [`color="${colour}"`] : []), ...(e.inert ? ['style=dashed'] : [])];
    const attrs = (extra: (string | false | undefined)[]): string => {
      const all = [...extra.filter((a): a is string => typeof a === 'string'), ...look];
      return all.length > 0 ? ` [${all.join(', ')}]` : '';
    };
    const loop = e.from === e.to;
    const label = fresh(loop ? `${e.from}__self` : `${e.from}__${e.to}`);
    const text = [
      `label=${dotString(e.lines.join('\n'))}`,
      ...(colour ? [`fontcolor="${colour}"`] : []),
      LABEL_NODE,
    ];
    const node = `${label} [${text.join(', ')}];`;
    const list = labels.get(e.block) ?? [];
    list.push(loop ? `{ rank=same; ${e.from}; ${node} }` : node);
    labels.set(e.block, list);
    through.push(
      `  ${e.from} -> ${label}${attrs(['arrowhead=none', e.tail && `ltail=${e.tail}`, loop && 'tailport=ne'])};`,
      `  ${label} -> ${e.to}${attrs([e.head && `lhead=${e.head}`, loop && 'headport=se'])};`,
    );
  }

  const out: string[] = [];
  const render = (n: AnyStateNode, indent: string): void => {
    const start = startOf(n);
    if (start !== undefined) out.push(`${indent}${start} [shape=point, width=0.12];`);
    const any = anys.get(n);
    if (any !== undefined) out.push(`${indent}${any} [label="any state", style="rounded,dashed"];`);
    for (const c of children(n)) {
      const id = ref(c);
      if (composite(c)) {
        out.push(`${indent}subgraph ${cluster(c)} {`);
        out.push(`${indent}  label=${stateLabel(c.key, c.description)};`);
        // Set on each cluster, as a cluster's attributes are its nested clusters' defaults.
        out.push(`${indent}  style=${n.type === 'parallel' ? '"rounded,dashed"' : 'rounded'};`);
        render(c, `${indent}  `);
        out.push(`${indent}}`);
      } else if (c.type === 'history') {
        const h = c.history === 'deep' ? 'H*' : 'H';
        out.push(`${indent}${id} [label=${dotString(h)}, shape=circle, margin=0];`);
      } else {
        const final = c.type === 'final' ? ', peripheries=2' : '';
        out.push(`${indent}${id} [label=${stateLabel(c.key, c.description)}${final}];`);
      }
    }
    for (const l of labels.get(n) ?? []) out.push(`${indent}${l}`);
    const initial = n.type === 'compound' ? n.initial.target[0] : undefined;
    if (start !== undefined && initial) {
      const into = composite(initial) ? `, lhead=${cluster(initial)}, minlen=3` : '';
      const to = composite(initial) ? inside(initial) : ref(initial);
      out.push(`${indent}${start} -> ${to} [arrowsize=0.6${into}];`);
    }
  };
  render(root, '  ');

  const head = [
    `digraph ${dotString(machine.id)} {`,
    '  compound=true;',
    '  rankdir=TB;',
    '  outputorder=edgesfirst;',
    '  nodesep=0.3;',
    '  ranksep=0.3;',
    '  fontname="Arial";',
    '  fontsize=12;',
    '  node [shape=box, style=rounded, fontname="Arial", fontsize=12, margin="0.12,0.06"];',
    `  edge [fontname="Arial", fontsize=${SMALL_PT}, arrowsize=0.7];`,
    `  label=${stateLabel(machine.id, root.description, 80)};`,
    '  labelloc=t;',
  ];
  return `${[...head, ...out, ...through, '}'].join('\n')}\n`;
}

/** The `<id>.json` text of one machine: its serialisable definition. */
export function renderJson(machine: AnyStateMachine): string {
  return `${JSON.stringify(machine.toJSON(), null, 2)}\n`;
}

/** Graphviz compiled to WebAssembly, loaded once per process on first use. */
let graphviz: Promise<Viz> | undefined;

/**
 * The `<id>.svg` text of one machine: `renderDot` laid out and drawn by Graphviz (`dot`), offline.
 * The same Graphviz build draws the same bytes. Throws when Graphviz reports an error or a warning
 * (a warning means `renderDot` wrote something it should not have).
 */
export async function renderSvg(machine: AnyStateMachine): Promise<string> {
  graphviz ??= instance();
  const result = (await graphviz).render(renderDot(machine), { format: 'svg', engine: 'dot' });
  if (result.status !== 'success' || result.errors.length > 0) {
    const why = result.errors.map((e) => `${e.level ?? 'error'}: ${e.message.trim()}`).join('; ');
    throw new Error(`Graphviz could not draw the machine "${machine.id}": ${why}`);
  }
  return result.output.endsWith('\n') ? result.output : `${result.output}\n`;
}

/** The machines to draw, in id order. Throws when two of them share an id. */
function byId(all: Readonly<Record<string, AnyStateMachine>>): AnyStateMachine[] {
  const seen = new Map<string, AnyStateMachine>();
  for (const m of Object.values(all)) {
    if (seen.has(m.id)) throw new Error(`two machines share the id "${m.id}"`);
    seen.set(m.id, m);
  }
  return [...seen.keys()].sort().flatMap((id) => seen.get(id) ?? []);
}

export interface WriteStatechartsOptions {
  /** The machines to draw, by id (default: every machine of `src/actors`). */
  machines?: Readonly<Record<string, AnyStateMachine>>;
  /**
   * Deletes `.mmd`/`.json`/`.svg` files in `outDir` that no machine produced (for the committed
   * folder).
   */
  prune?: boolean;
}

/**
 * Writes `<id>.json`, `<id>.mmd` and `<id>.svg` for every machine into `outDir` (created if
 * missing) and returns the written paths. Throws when two machines share an id.
 */
export async function writeStatecharts(
  outDir: string,
  options: WriteStatechartsOptions = {},
): Promise<string[]> {
  const drawn = byId(options.machines ?? (machines as Record<string, AnyStateMachine>));
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const machine of drawn) {
    for (const [ext, text] of [
      ['json', renderJson(machine)],
      ['mmd', renderMermaid(machine)],
      ['svg', await renderSvg(machine)],
    ] as const) {
      const file = join(outDir, `${machine.id}.${ext}`);
      writeFileSync(file, text);
      written.push(file);
    }
  }
  if (options.prune) {
    const keep = new Set(written.map((f) => basename(f)));
    for (const f of readdirSync(outDir)) {
      if (/\.(mmd|json|svg)$/.test(f) && !keep.has(f)) rmSync(join(outDir, f));
    }
  }
  return written;
}

export const README_BEGIN = '<!-- statecharts:begin -->';
export const README_END = '<!-- statecharts:end -->';

/**
 * What README.md holds between `README_BEGIN` and `README_END`: for each machine (in id order) a
 * heading, a link to its `.svg`, and its `.mmd` text unchanged in a `mermaid` block.
 */
export function renderReadmeSection(
  all: Readonly<Record<string, AnyStateMachine>> = machines as Record<string, AnyStateMachine>,
): string {
  const parts = byId(all).map(
    (m) =>
      `### ${m.id}\n\n` +
      `Graphviz: [\`statecharts/${m.id}.svg\`](statecharts/${m.id}.svg)\n\n` +
      `\`\`\`mermaid\n${renderMermaid(m)}\`\`\`\n`,
  );
  return `\n\n${parts.join('\n')}\n`;
}

/** `readme` with the text between its statecharts markers replaced by `section`. */
export function spliceReadme(readme: string, section: string): string {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (begin < 0 || end < begin || readme.includes(README_BEGIN, begin + 1)) {
    throw new Error(`README.md needs one "${README_BEGIN}" followed by one "${README_END}"`);
  }
  return readme.slice(0, begin + README_BEGIN.length) + section + readme.slice(end);
}

/**
 * Brings the statecharts section of the README at `path` up to date (or, with `check`, only
 * compares it) and returns whether it was stale.
 */
export function syncReadme(path: string, check = false): boolean {
  const readme = readFileSync(path, 'utf8');
  const fresh = spliceReadme(readme, renderReadmeSection());
  if (fresh === readme) return false;
  if (!check) writeFileSync(path, fresh);
  return true;
}

/** True when this file is the process entry point (`tsx statecharts/generate.ts [DIR]`). */
function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * `tsx statecharts/generate.ts [DIR] [--check]`: writes the diagrams into DIR, or into this folder
 * (pruning stale ones) and then README.md's statecharts section. With `--check`, README.md is only
 * compared, and a stale section fails the run (the files under statecharts/ are still written:
 * `npm run statecharts:check` compares them with git).
 */
async function main(args: string[]): Promise<void> {
  const check = args.includes('--check');
  const dir = args.find((a) => !a.startsWith('--'));
  const here = fileURLToPath(new URL('.', import.meta.url));
  await writeStatecharts(dir ?? here, { prune: dir === undefined });
  if (dir === undefined && syncReadme(join(here, '..', 'README.md'), check)) {
    if (check) {
      throw new Error('README.md: the statecharts section is stale (run `npm run statecharts`)');
    }
    process.stdout.write('README.md: statecharts section updated\n');
  }
}

if (isMain()) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`statecharts: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
