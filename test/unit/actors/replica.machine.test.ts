import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getShortestPaths } from 'xstate/graph';
import { initialTransition, transition } from 'xstate';
import { replicaMachine } from '../../../src/actors/replica/replica.machine.js';
import type { ReplicaEvent } from '../../../src/actors/replica/replica.events.js';

const input = { model: 'm1', version: 1, server: 's1', idx: 0 };

/** Runs events from the initial state; returns the final state value and context. */
function run(...events: ReplicaEvent[]) {
  let [snap] = initialTransition(replicaMachine, input);
  for (const e of events) [snap] = transition(replicaMachine, snap, e);
  return snap;
}

const at = 1;
describe('replica machine', () => {
  it('loads: LoadRequested → Loading → Loaded → Available', () => {
    const s = run(
      { type: 'placement.loadRequested', at },
      { type: 'agent.loadSent', at },
      { type: 'agent.loaded', at: 5 },
      { type: 'routing.ready', at: 6 },
    );
    assert.equal(s.value, 'available');
    assert.equal(s.context.at, 6);
    assert.equal(s.context.holdsModel, true);
  });

  it('records the agent reason on load failure and forgets the model', () => {
    const s = run(
      { type: 'placement.loadRequested', at },
      { type: 'agent.loadSent', at },
      { type: 'agent.loadFailed', at: 3, reason: 'boom' },
    );
    assert.equal(s.value, 'loadFailed');
    assert.equal(s.context.reason, 'boom');
    assert.equal(s.context.holdsModel, false);
  });

  it('unloads through UnloadEnvoyRequested → UnloadRequested → Unloading → Unloaded', () => {
    const s = run(
      { type: 'agent.announced', at },
      { type: 'placement.unloadEnvoyRequested', at },
      { type: 'routing.removed', at },
      { type: 'agent.unloadSent', at },
      { type: 'agent.unloaded', at },
    );
    assert.equal(s.value, 'unloaded');
    assert.equal(s.context.holdsModel, false);
  });

  it('drops a replica never sent to its agent straight to Unloaded (reservation released)', () => {
    const s = run(
      { type: 'placement.loadRequested', at },
      { type: 'placement.unloadEnvoyRequested', at },
    );
    assert.equal(s.value, 'unloaded');
  });

  it('ignores agent replies that do not match the state', () => {
    const [snap] = initialTransition(replicaMachine, input);
    assert.equal(snap.can({ type: 'agent.loaded', at }), false);
    const loading = run({ type: 'placement.loadRequested', at }, { type: 'agent.loadSent', at });
    assert.equal(loading.can({ type: 'agent.unloaded', at }), false);
    assert.equal(loading.can({ type: 'agent.loaded', at }), true);
  });

  it('drains loaded replicas, and marks retiring ones Unloaded when their server replica leaves', () => {
    assert.equal(
      run({ type: 'agent.announced', at }, { type: 'server.drain', at }).value,
      'draining',
    );
    const gone = run({ type: 'agent.announced', at }, { type: 'server.replicaGone', at: 9 });
    assert.equal(gone.value, 'unloaded');
    assert.equal(gone.context.reason, 'model is removed when server replica was removed');
  });

  it('reaches every state of ModelReplicaState', () => {
    const reached = new Set(
      [
        ...getShortestPaths(replicaMachine, {
          input,
          events: [
            { type: 'placement.loadRequested', at },
            { type: 'placement.unloadEnvoyRequested', at },
            { type: 'placement.unloadRequested', at },
            { type: 'agent.loadSent', at },
            { type: 'agent.loadSendFailed', at, reason: 'x' },
            { type: 'agent.loaded', at },
            { type: 'agent.loadFailed', at, reason: 'x' },
            { type: 'agent.unloadSent', at },
            { type: 'agent.unloaded', at },
            { type: 'agent.unloadFailed', at, reason: 'x' },
            { type: 'agent.announced', at },
            { type: 'routing.ready', at },
            { type: 'routing.failed', at, reason: 'x' },
            { type: 'routing.removed', at },
            { type: 'server.drain', at },
          ],
        }),
      ].map((p) => p.state.value),
    );
    assert.deepEqual([...reached].sort(), [
      'available',
      'draining',
      'loadFailed',
      'loadRequested',
      'loaded',
      'loadedUnavailable',
      'loading',
      'unknown',
      'unloadEnvoyRequested',
      'unloadFailed',
      'unloadRequested',
      'unloaded',
      'unloading',
    ]);
  });
});
