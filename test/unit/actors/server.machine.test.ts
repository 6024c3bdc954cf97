import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initialTransition, transition } from 'xstate';
import { serverReplicaMachine } from '../../../src/actors/server/server-replica.machine.js';
import { serverMachine } from '../../../src/actors/server/server.machine.js';

const declaration = (expectedReplicas: number, shared = false) => ({
  name: 'ignored',
  expectedReplicas,
  minReplicas: 1,
  maxReplicas: 3,
  shared,
  kubernetesMeta: { namespace: 'seldon', generation: 2 },
});

describe('server machine', () => {
  it('is declared until a replica joins, serves, and is removed when the last one leaves', () => {
    let [s] = initialTransition(serverMachine, { name: 's1', shared: true, at: 1 });
    assert.equal(s.value, 'declared');
    assert.equal(s.context.expectedReplicas, -1);
    [s] = transition(serverMachine, s, { type: 'agent.replicaJoined', at: 2, shared: true });
    assert.equal(s.value, 'serving');
    [s] = transition(serverMachine, s, { type: 'agent.replicaLeft', at: 3, remaining: 1 });
    assert.equal(s.value, 'serving');
    [s] = transition(serverMachine, s, { type: 'agent.replicaLeft', at: 4, remaining: 0 });
    assert.equal(s.value, 'removed');
    assert.equal(s.status, 'done');
  });

  it('takes expected/min/max replicas and Kubernetes meta from ServerNotify, but not `shared`', () => {
    let [s] = initialTransition(serverMachine, { name: 's1', shared: true, at: 1 });
    [s] = transition(serverMachine, s, {
      type: 'operator.declared',
      at: 2,
      declaration: declaration(2),
    });
    assert.equal(s.context.name, 's1');
    assert.equal(s.context.expectedReplicas, 2);
    assert.equal(s.context.maxReplicas, 3);
    assert.deepEqual(s.context.kubernetesMeta, { namespace: 'seldon', generation: 2 });
    assert.equal(s.context.shared, true, 'shared is only set when the server is created');
    [s] = transition(serverMachine, s, { type: 'agent.replicaJoined', at: 3, shared: false });
    assert.equal(s.context.shared, false, 'an agent subscribing sets it');
  });
});

describe('server replica machine', () => {
  const input = {
    server: 's1',
    idx: 0,
    config: {
      inferenceSvc: 's1-0',
      inferenceHttpPort: 9000,
      inferenceGrpcPort: 9500,
      memoryBytes: 1000,
      capabilities: ['sklearn'],
      overCommitPercentage: 10,
    },
    availableMemoryBytes: 1100,
    at: 1,
  };

  it('records reported memory, and drains for good', () => {
    let [s] = initialTransition(serverReplicaMachine, input);
    assert.equal(s.value, 'connected');
    [s] = transition(serverReplicaMachine, s, {
      type: 'agent.memoryReported',
      at: 2,
      availableMemoryBytes: 600,
    });
    assert.equal(s.context.availableMemoryBytes, 600);
    [s] = transition(serverReplicaMachine, s, { type: 'agent.drainRequested', at: 3 });
    assert.equal(s.value, 'draining');
    assert.ok(s.hasTag('draining'));
    [s] = transition(serverReplicaMachine, s, {
      type: 'agent.memoryReported',
      at: 4,
      availableMemoryBytes: 700,
    });
    assert.equal(s.value, 'draining');
    assert.equal(s.context.availableMemoryBytes, 700);
  });
});
