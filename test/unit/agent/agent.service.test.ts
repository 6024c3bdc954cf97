/**
 * The agent service's announcement hook: before an agent's re-announcement is taken in (a call that
 * keeps the process busy in proportion to the models announced), it says how many models come,
 * so that with `--ha` the leader keeps its lease through it (src/app/term.ts).
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { status } from '@grpc/grpc-js';
import { describe, it } from 'node:test';
import type { SchedulerSystem } from '../../../src/actors/index.js';
import { AgentService } from '../../../src/agent/agent.service.js';
import { AgentSubscribeRequest } from '../../../src/gen/mlops/agent/agent.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A Subscribe call as grpc-js hands it over, enough for the service. */
function subscribeCall(models: string[], version = 1) {
  return Object.assign(new EventEmitter(), {
    cancelled: false,
    writableEnded: false,
    destroyed: false,
    write: () => true,
    end: () => undefined,
    request: AgentSubscribeRequest.fromPartial({
      serverName: 'mlserver',
      replicaIdx: 0,
      shared: true,
      replicaConfig: {
        inferenceSvc: 'mlserver-0',
        inferenceHttpPort: 9000,
        inferenceGrpcPort: 9500,
        memoryBytes: 10_000,
        capabilities: ['sklearn'],
        overCommitPercentage: 10,
      },
      availableMemoryBytes: 10_000,
      loadedModels: models.map((name) => ({
        model: {
          meta: { name },
          modelSpec: { uri: `gs://models/${name}`, requirements: ['sklearn'], memoryBytes: 100 },
        },
        version,
      })),
    }),
  });
}

describe('AgentService: a re-announcement is announced first', () => {
  it('says how many models come, before the system takes them in', () => {
    const events: string[] = [];
    const service = new AgentService({
      log: silent,
      announcing: (models) => events.push(`announcing ${models}`),
    });
    service.attach({
      replicaJoined: (join: { loaded: readonly unknown[] }) =>
        events.push(`joined with ${join.loaded.length}`),
      replicaLeft: () => undefined,
    } as unknown as SchedulerSystem);
    const subscribe = service.implementation().subscribe as (call: unknown) => void;
    subscribe(subscribeCall(['a', 'b', 'c']));
    assert.deepEqual(events, ['announcing 3', 'joined with 3']);
  });
});

describe('AgentService: a subscription is checked whole before it waits its turn', () => {
  it('refuses a second stream for a connected replica at once when a model it announces is bad', () => {
    const joined: number[] = [];
    const service = new AgentService({ log: silent });
    service.attach({
      replicaJoined: (join: { loaded: readonly unknown[] }) => joined.push(join.loaded.length),
      replicaLeft: () => undefined,
    } as unknown as SchedulerSystem);
    const subscribe = service.implementation().subscribe as (call: unknown) => void;
    const first = subscribeCall(['a']);
    subscribe(first);
    // The same replica again, announcing version 0 (no such version): refused now, not queued
    // (before, it was decoded only when the first stream ended, outside any error handler).
    const second = subscribeCall(['b'], 0);
    const errors: { code?: number; details?: string }[] = [];
    second.on('error', (e: { code?: number; details?: string }) => errors.push(e));
    subscribe(second);
    const [error, ...more] = errors;
    assert.ok(error);
    assert.equal(more.length, 0);
    assert.equal(error.code, status.INVALID_ARGUMENT);
    assert.match(error.details ?? '', /loadedModels\[0\]\.version/);
    first.emit('close');
    assert.deepEqual(joined, [1], 'the refused stream never joins');
  });
});
