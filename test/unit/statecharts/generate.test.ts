import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { and, createMachine, not, setup } from 'xstate';
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { machines } from '../../../src/actors/index.js';
import {
  README_BEGIN,
  README_END,
  dotString,
  guardLabel,
  renderDot,
  renderJson,
  renderMermaid,
  renderReadmeSection,
  renderSvg,
  spliceReadme,
  writeStatecharts,
} from '../../../statecharts/generate.js';

const loader = setup({
  types: {
    context: {} as { attempts: number },
    events: {} as { type: 'model.load' } | { type: 'agent.loaded' } | { type: 'model.unload' },
  },
  guards: {
    hasCapacity: () => true,
    withinRetries: () => true,
  },
  delays: { loadTimeout: 1_000 },
}).createMachine({
  id: 'loader',
  description: 'Loads one model: then serves it',
  context: { attempts: 0 },
  initial: 'idle',
  on: { 'model.unload': '.unloaded' },
  states: {
    idle: {
      description: 'Nothing requested yet.',
      on: {
        'model.load': [
          { target: 'loading', guard: 'hasCapacity' },
          { target: 'failed', guard: not('hasCapacity') },
        ],
        'model.unload': {},
      },
    },
    loading: {
      initial: 'sending',
      states: {
        sending: {
          always: { target: 'waiting', guard: and(['hasCapacity', 'withinRetries']) },
        },
        waiting: {
          description: 'The agent was asked; waiting for its report.',
          on: { 'agent.loaded': 'done' },
          after: { loadTimeout: '#loader.failed' },
        },
        done: { type: 'final' },
      },
      onDone: 'loaded',
    },
    loaded: { tags: ['available'] },
    failed: { on: { 'model.load': 'loading' } },
    unloaded: { type: 'final' },
  },
});

const expected = `stateDiagram-v2
  %% Loads one model, then serves it
  state "any state" as any
  idle : Nothing requested yet.
  state loading {
    state "sending" as loading_sending
    state "waiting" as loading_waiting
    loading_waiting : The agent was asked, waiting for its report.
    state "done" as loading_done
    [*] --> loading_sending
    loading_done --> [*]
    loading_sending --> loading_waiting: (always) [and(hasCapacity, withinRetries)]
    loading_waiting --> loading_done: agent.loaded
  }
  loaded
  failed
  unloaded
  [*] --> idle
  unloaded --> [*]
  any --> unloaded: model.unload
  idle --> loading: model.load [hasCapacity]
  idle --> failed: model.load [not(hasCapacity)]
  idle --> idle: model.unload (ignored)
  loading --> loaded: onDone
  loading_waiting --> failed: after loadTimeout
  failed --> loading: model.load
`;

describe('statecharts/generate', () => {
  it('renders a setup() machine as a Mermaid stateDiagram-v2', () => {
    assert.equal(renderMermaid(loader), expected);
  });

  it('is deterministic', () => {
    assert.equal(renderMermaid(loader), renderMermaid(loader));
    assert.equal(renderJson(loader), renderJson(loader));
  });

  it('writes the machine definition as JSON with a final newline', () => {
    const json = renderJson(loader);
    assert.ok(json.endsWith('}\n'));
    const parsed = JSON.parse(json) as { id: string; states: Record<string, unknown> };
    assert.equal(parsed.id, 'loader');
    assert.deepEqual(Object.keys(parsed.states), [
      'idle',
      'loading',
      'loaded',
      'failed',
      'unloaded',
    ]);
  });

  it('names guards by their config, never by their implementation', () => {
    assert.equal(guardLabel('hasCapacity'), 'hasCapacity');
    assert.equal(guardLabel({ type: 'hasCapacity', params: { n: 1 } }), 'hasCapacity');
    assert.equal(guardLabel(not(and(['a', { type: 'b' }]))), 'not(and(a, b))');
    assert.equal(
      guardLabel(() => true),
      'inline',
    );
  });
});

/** Parallel regions, history, and transitions into, out of and within composite states. */
const player = createMachine({
  id: 'player',
  type: 'parallel',
  states: {
    audio: {
      initial: 'muted',
      states: {
        muted: { on: { 'audio.toggle': 'unmuted' } },
        unmuted: { on: { 'audio.toggle': 'muted' } },
      },
    },
    video: {
      initial: 'idle',
      on: { reset: '.idle' },
      states: {
        idle: { on: { play: 'playing' } },
        playing: {
          initial: 'buffering',
          on: { stop: 'idle', restart: 'playing' },
          states: {
            buffering: { on: { ready: 'running' } },
            running: {},
            hist: { type: 'history', history: 'deep' },
          },
        },
        paused: { on: { resume: 'playing.hist' } },
      },
    },
  },
});

/** A state name and a guard with quotes and a backslash in them. */
const quoted = setup({
  types: { events: {} as { type: 'say' } },
  guards: { 'is "ok" \\ really': () => true },
}).createMachine({
  id: 'quoted',
  initial: 'say "hi"',
  states: {
    'say "hi"': { on: { say: { target: 'done', guard: 'is "ok" \\ really' } } },
    done: { type: 'final' },
  },
});

const all = Object.values(machines) as AnyStateMachine[];

const statesOf = (m: AnyStateMachine): AnyStateNode[] => {
  const out: AnyStateNode[] = [];
  const walk = (n: AnyStateNode): void => {
    for (const c of Object.values(n.states)) {
      out.push(c);
      walk(c);
    }
  };
  walk(m.root);
  return out;
};

/** The DOT string syntax undone: `\"` and `\\` back to `"` and `\`, `\n` to a line break. */
const undot = (s: string): string =>
  s.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));

/** The transitions a DOT graph draws: label node, the node into it, the node out of it. */
function dotTransitions(dot: string): { from: string; to: string; lines: string[] }[] {
  const labels = new Map<string, string[]>();
  for (const m of dot.matchAll(/(\w+) \[label="((?:[^"\\]|\\.)*)"[^\n]*shape=plaintext/g)) {
    labels.set(m[1] ?? '', undot(m[2] ?? '').split('\n'));
  }
  const into = new Map<string, string>();
  const outOf = new Map<string, string>();
  for (const m of dot.matchAll(/^ {2}(\w+) -> (\w+)/gm)) {
    const [, from = '', to = ''] = m;
    if (labels.has(to)) into.set(to, from);
    if (labels.has(from)) outOf.set(from, to);
  }
  return [...labels].map(([id, lines]) => ({
    from: into.get(id) ?? '',
    to: outOf.get(id) ?? '',
    lines,
  }));
}

/** The `from --> to: label` transitions of a Mermaid diagram (not the `[*]` ones). */
const mermaidTransitions = (mmd: string): { from: string; to: string; label: string }[] =>
  [...mmd.matchAll(/^ *(\w+) --> (\w+): (.*)$/gm)].map(([, from = '', to = '', label = '']) => ({
    from,
    to,
    label,
  }));

/** A DOT node id standing for the state `id`: itself, or a node inside its cluster. */
const standsFor = (node: string, id: string): boolean => node === id || node.startsWith(`${id}_`);

describe('statecharts/generate: renderDot', () => {
  for (const machine of [...all, loader, player]) {
    it(`draws every state of ${machine.id}, composite ones as clusters`, () => {
      const dot = renderDot(machine);
      for (const s of statesOf(machine)) {
        const id = s.path.join('_');
        if (Object.keys(s.states).length > 0) {
          assert.match(dot, new RegExp(`subgraph cluster_${id} \\{\\n *label=<<b>${s.key}</b>`));
        } else if (s.type === 'history') {
          assert.match(dot, new RegExp(`\\b${id} \\[label="H\\*?", shape=circle`));
        } else {
          const final = s.type === 'final' ? '.*, peripheries=2' : '';
          assert.match(dot, new RegExp(`\\b${id} \\[label=<<b>${s.key}</b>${final}`));
        }
      }
    });

    it(`draws every transition of ${machine.id}, between the ends the Mermaid diagram names`, () => {
      const drawn = dotTransitions(renderDot(machine));
      const expected = mermaidTransitions(renderMermaid(machine));
      assert.deepEqual(drawn.flatMap((t) => t.lines).sort(), expected.map((t) => t.label).sort());
      for (const t of expected) {
        assert.ok(
          drawn.some(
            (d) => d.lines.includes(t.label) && standsFor(d.from, t.from) && standsFor(d.to, t.to),
          ),
          `${t.from} --> ${t.to}: ${t.label}`,
        );
      }
    });
  }

  it('marks each initial state with a filled dot pointing at it', () => {
    const dot = renderDot(loader);
    assert.match(dot, /^ {2}start \[shape=point, width=0\.12\];$/m);
    assert.match(dot, /^ {2}start -> idle \[arrowsize=0\.6\];$/m);
    assert.match(dot, /^ {4}loading__start -> loading_sending \[arrowsize=0\.6\];$/m);
  });

  it('clips edges leaving or entering a composite state at its cluster', () => {
    const dot = renderDot(loader);
    // loading --> loaded: onDone leaves the cluster; idle --> loading enters it.
    assert.match(dot, /-> \w+ \[arrowhead=none, ltail=cluster_loading\]/);
    assert.match(dot, /-> loading__start \[lhead=cluster_loading/);
  });

  it('labels a transition "event" or "event [guard]", one line per transition on shared ends', () => {
    const server = renderDot(machines.server as AnyStateMachine);
    assert.match(server, /label="agent\.replicaLeft \[lastReplicaLeft\]"/);
    assert.match(server, /label="operator\.declared\\nagent\.replicaJoined"/);
  });

  it('escapes quotes and backslashes in labels', () => {
    assert.equal(dotString('a "b" \\ c\nd'), '"a \\"b\\" \\\\ c\\nd"');
    const dot = renderDot(quoted);
    assert.match(dot, /<b>say &quot;hi&quot;<\/b>/);
    assert.ok(dot.includes('label="say [is \\"ok\\" \\\\ really]"'), dot);
  });

  it('is deterministic', () => {
    for (const m of [...all, loader, player]) assert.equal(renderDot(m), renderDot(m));
  });
});

describe('statecharts/generate: renderSvg', () => {
  for (const machine of [...all, loader, player, quoted]) {
    it(`draws ${machine.id} with every state's name, without a Graphviz warning`, async () => {
      const svg = await renderSvg(machine);
      assert.match(svg, /^<\?xml [^]*<svg [^]*<\/svg>\n$/);
      for (const s of statesOf(machine)) {
        const name = s.type === 'history' ? (s.history === 'deep' ? 'H*' : 'H') : s.key;
        const text = name.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
        assert.ok(svg.includes(`>${text}</text>`), `${machine.id}: ${name}`);
      }
    });
  }

  it('is byte-identical from one run to the next', async () => {
    for (const m of [...all, player]) assert.equal(await renderSvg(m), await renderSvg(m));
  });
});

describe('statecharts/generate: files and README', () => {
  it('writes <id>.json, <id>.mmd and <id>.svg, and prunes stale ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'statecharts-'));
    try {
      writeFileSync(join(dir, 'gone.svg'), '<svg/>');
      writeFileSync(join(dir, 'keep.txt'), 'x');
      const written = await writeStatecharts(dir, { machines: { loader }, prune: true });
      assert.deepEqual(
        written.map((f) => f.slice(dir.length + 1)),
        ['loader.json', 'loader.mmd', 'loader.svg'],
      );
      assert.deepEqual(readdirSync(dir).sort(), [
        'keep.txt',
        'loader.json',
        'loader.mmd',
        'loader.svg',
      ]);
      assert.equal(readFileSync(join(dir, 'loader.svg'), 'utf8'), await renderSvg(loader));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("embeds each machine's .mmd text, unchanged, in a mermaid block", () => {
    const section = renderReadmeSection({ server: machines.server as AnyStateMachine, loader });
    assert.ok(section.includes(`\`\`\`mermaid\n${renderMermaid(loader)}\`\`\`\n`));
    assert.ok(section.indexOf('### loader') < section.indexOf('### server'));
    assert.ok(section.includes('(statecharts/server.svg)'));
  });

  it('replaces only the text between the README markers', () => {
    const readme = `# x\n\n${README_BEGIN}\nold\n${README_END}\n\nrest\n`;
    assert.equal(
      spliceReadme(readme, '\nnew\n'),
      `# x\n\n${README_BEGIN}\nnew\n${README_END}\n\nrest\n`,
    );
    assert.throws(() => spliceReadme('# no markers\n', 'x'), /statecharts:begin/);
  });
});
