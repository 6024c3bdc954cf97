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

const ref = (n: Node): string => (n.parent ? n.path.join('_') : 'any');

function guardName(t: { guard?: unknown }): string {
  const g = t.guard;
  if (!g) return '';
  if (typeof g === 'string') return ` [${g}]`;
  if (typeof g === 'object' && 'type' in g && typeof g.type === 'string') return ` [${g.type}]`;
  return ' [guard]';
}

const oneLine = (text: string) => text.replace(/[:;\n]+/g, ',').trim();

/** Declares the states under `n` (nested ones as composites), each with its description. */
function declare(n: Node, indent: string, out: string[]): void {
  for (const c of Object.values(n.states) as Node[]) {
    out.push(`${indent}state "${c.key}" as ${ref(c)}`);
    if (c.description) out.push(`${indent}${ref(c)} : ${oneLine(c.description)}`);
    if (Object.keys(c.states).length > 0) {
      out.push(`${indent}state ${ref(c)} {`);
      declare(c, `${indent}  `, out);
      out.push(`${indent}}`);
    }
  }
  const initial = n.initial.target[0] as Node | undefined;
  if (initial) out.push(`${indent}[*] --> ${ref(initial)}`);
  for (const c of Object.values(n.states) as Node[]) {
    if (c.type === 'final') out.push(`${indent}${ref(c)} --> [*]`);
  }
}

/** Every transition, drawn from the state that declares it ('any' for the machine's own). */
function transitions(n: Node, out: string[]): void {
  for (const [event, ts] of n.transitions) {
    for (const t of ts) {
      for (const target of (t.target ?? [n]) as Node[]) {
        out.push(`  ${ref(n)} --> ${ref(target)}: ${event}${guardName(t)}`);
      }
    }
  }
  for (const t of n.always ?? []) {
    for (const target of (t.target ?? []) as Node[]) {
      out.push(`  ${ref(n)} --> ${ref(target)}: (always)${guardName(t)}`);
    }
  }
  for (const c of Object.values(n.states) as Node[]) transitions(c, out);
}

/**
 * The Mermaid text of one machine. Transitions the machine handles in every state start from a
 * pseudo-state `any`.
 */
export function renderMermaid(machine: AnyStateMachine): string {
  const root = machine.root as Node;
  const out = ['stateDiagram-v2'];
  if (root.description) out.push(`  %% ${oneLine(root.description)}`);
  if (root.transitions.size > 0) out.push('  state "any state" as any');
  declare(root, '  ', out);
  transitions(root, out);
  return `${out.join('\n')}\n`;
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
