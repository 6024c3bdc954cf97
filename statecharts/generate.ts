/**
 * Writes each machine's diagram: `<id>.json` (the machine definition) and `<id>.mmd` (a Mermaid
 * stateDiagram-v2 walked from the machine's state nodes). `npm run statecharts` regenerates them;
 * `npm run statecharts:check` fails when the committed ones are stale.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnyStateMachine, StateNode } from 'xstate';
import { machines } from '../src/actors/index.js';

type Node = StateNode<any, any>;

const ref = (n: Node): string => n.path.join('_') || n.machine.id;

function guardName(t: { guard?: unknown }): string {
  const g = t.guard;
  if (!g) return '';
  if (typeof g === 'string') return ` [${g}]`;
  if (typeof g === 'object' && 'type' in g && typeof g.type === 'string') return ` [${g.type}]`;
  return ' [guard]';
}

function renderNode(n: Node, indent: string, out: string[]): void {
  const children = Object.values(n.states) as Node[];
  for (const c of children) {
    if (Object.keys(c.states).length > 0) {
      out.push(`${indent}state ${ref(c)} {`);
      renderNode(c, `${indent}  `, out);
      out.push(`${indent}}`);
    }
    if (c.description)
      out.push(`${indent}${ref(c)}: ${c.key} - ${c.description.replace(/[:\n]/g, ' ')}`);
  }
  const initial = n.initial.target[0];
  if (initial) out.push(`${indent}[*] --> ${ref(initial as Node)}`);
  for (const c of children) {
    if (c.type === 'final') out.push(`${indent}${ref(c)} --> [*]`);
  }
  for (const source of [n, ...children]) {
    if (source === n && n.parent) continue;
    const lines: string[] = [];
    for (const [event, ts] of source.transitions) {
      for (const t of ts) {
        for (const target of t.target ?? [source]) {
          const from = source === n ? '[*]' : ref(source);
          lines.push(`${indent}${from} --> ${ref(target as Node)}: ${event}${guardName(t)}`);
        }
      }
    }
    for (const t of source.always ?? []) {
      for (const target of t.target ?? []) {
        lines.push(`${indent}${ref(source)} --> ${ref(target as Node)}: (always)${guardName(t)}`);
      }
    }
    out.push(...lines);
  }
}

/** The Mermaid text of one machine. Root-level transitions are drawn from each state they leave. */
export function renderMermaid(machine: AnyStateMachine): string {
  const out = ['stateDiagram-v2'];
  if (machine.root.description) out.push(`  %% ${machine.root.description}`);
  renderNode(machine.root as Node, '  ', out);
  // Transitions declared on the root (or on a compound state) apply to every state inside it.
  for (const holder of allNodes(machine.root as Node)) {
    if (Object.keys(holder.states).length === 0 || (holder !== machine.root && !holder.parent))
      continue;
    for (const [event, ts] of holder.transitions) {
      for (const t of ts) {
        for (const target of t.target ?? []) {
          const from = holder === machine.root ? '[*]' : ref(holder);
          out.push(
            `  ${from} --> ${ref(target as Node)}: ${event} (from any state)${guardName(t)}`,
          );
        }
      }
    }
  }
  return `${[...new Set(out)].join('\n')}\n`;
}

function allNodes(n: Node): Node[] {
  return [n, ...(Object.values(n.states) as Node[]).flatMap(allNodes)];
}

/** Writes `<id>.json` and `<id>.mmd` for every machine into `dir`. */
export function writeStatecharts(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const machine of Object.values(machines) as AnyStateMachine[]) {
    writeFileSync(
      join(dir, `${machine.id}.json`),
      `${JSON.stringify(machine.toJSON(), null, 2)}\n`,
    );
    writeFileSync(join(dir, `${machine.id}.mmd`), renderMermaid(machine));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeStatecharts(process.argv[2] ?? fileURLToPath(new URL('.', import.meta.url)));
}
