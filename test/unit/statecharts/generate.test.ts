import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { and, not, setup } from 'xstate';
import { guardLabel, renderJson, renderMermaid } from '../../../statecharts/generate.js';

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
