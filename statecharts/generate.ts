/**
 * Writes each machine's diagram: `<id>.json` (the serialisable machine definition) and `<id>.mmd`
 * (a Mermaid stateDiagram-v2 walked from `machine.root`). `npm run statecharts` regenerates them,
 * `npm run statecharts:check` fails when the committed ones are stale, and `mlsched statecharts
 * --out DIR` writes them elsewhere through `writeStatecharts`.
 *
 * The output is a pure function of the machine definitions: states and transitions keep their
 * definition order (guard order is semantic, and state order drives the layout), machines are
 * written in id order, and nothing depends on time, locale or the file system.
 */
import { mkdirSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

interface Edge {
  from: string;
  to: string;
  label: string;
}

/**
 * The Mermaid `stateDiagram-v2` text of one machine. States are named by their path
 * (`parent_child`), nested states sit in `state parent { ... }`, parallel regions are separated by
 * `--`, and descriptions become `state : text`. Transitions read `from --> to: event [guard]`, each
 * in the innermost composite holding both ends: the machine's own start from the pseudo-state
 * `any`, targetless ones are self-loops (`(ignored)` when they only swallow the event), eventless
 * ones read `(always)`, and generated events read `after <delay>`, `onDone`, `onError(<src>)`.
 */
export function renderMermaid(machine: AnyStateMachine): string {
  const root = machine.root;
  const ANY = 'any';
  const ids = new Map<AnyStateNode, string>([[root, ANY]]);
  const used = new Set<string>([ANY]);

  // Mermaid ids are global to the diagram: the state's path, made identifier-safe and unique.
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

  const edges = new Map<AnyStateNode, Edge[]>();
  const addEdge = (block: AnyStateNode, edge: Edge): void => {
    const list = edges.get(block) ?? [];
    list.push(edge);
    edges.set(block, list);
  };
  const collect = (n: AnyStateNode): void => {
    const all: [string, AnyTransitionDefinition][] = [];
    for (const ts of n.transitions.values()) for (const t of ts) all.push([eventLabel(n, t), t]);
    for (const t of n.always ?? []) all.push(['(always)', t]);
    for (const [event, t] of all) {
      // A transition without target or actions swallows the event (often to shadow an ancestor's).
      const inert = !t.target && t.actions.length === 0 && !t.reenter;
      const guard = t.guard === undefined ? '' : ` [${guardLabel(t.guard)}]`;
      const label = oneLine(`${event}${guard}${inert ? ' (ignored)' : ''}`);
      for (const target of t.target ?? [n]) {
        addEdge(blockOf(n, target), { from: ref(n), to: ref(target), label });
      }
    }
    for (const c of children(n)) collect(c);
  };
  collect(root);

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
    for (const e of edges.get(n) ?? []) out.push(`${indent}${e.from} --> ${e.to}: ${e.label}`);
  };
  render(root, '  ');

  const head = ['stateDiagram-v2'];
  if (root.description) head.push(`  %% ${oneLine(root.description)}`);
  const anyUsed = [...edges.values()].some((es) => es.some((e) => e.from === ANY || e.to === ANY));
  if (anyUsed) head.push(`  state "any state" as ${ANY}`);
  return `${[...head, ...out].join('\n')}\n`;
}

/** The `<id>.json` text of one machine: its serialisable definition. */
export function renderJson(machine: AnyStateMachine): string {
  return `${JSON.stringify(machine.toJSON(), null, 2)}\n`;
}

export interface WriteStatechartsOptions {
  /** The machines to draw, by id (default: every machine of `src/actors`). */
  machines?: Readonly<Record<string, AnyStateMachine>>;
  /** Deletes `.mmd`/`.json` files in `outDir` that no machine produced (for the committed folder). */
  prune?: boolean;
}

/**
 * Writes `<id>.json` and `<id>.mmd` for every machine into `outDir` (created if missing) and
 * returns the written paths. Throws when two machines share an id.
 */
export function writeStatecharts(outDir: string, options: WriteStatechartsOptions = {}): string[] {
  const all = Object.values(options.machines ?? machines) as AnyStateMachine[];
  const byId = new Map<string, AnyStateMachine>();
  for (const m of all) {
    if (byId.has(m.id)) throw new Error(`two machines share the id "${m.id}"`);
    byId.set(m.id, m);
  }
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const id of [...byId.keys()].sort()) {
    const machine = byId.get(id);
    if (!machine) continue;
    for (const [ext, text] of [
      ['json', renderJson(machine)],
      ['mmd', renderMermaid(machine)],
    ] as const) {
      const file = join(outDir, `${id}.${ext}`);
      writeFileSync(file, text);
      written.push(file);
    }
  }
  if (options.prune) {
    const keep = new Set(written.map((f) => basename(f)));
    for (const f of readdirSync(outDir)) {
      if (/\.(mmd|json)$/.test(f) && !keep.has(f)) rmSync(join(outDir, f));
    }
  }
  return written;
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

if (isMain()) {
  writeStatecharts(process.argv[2] ?? fileURLToPath(new URL('.', import.meta.url)), {
    prune: process.argv[2] === undefined,
  });
}
