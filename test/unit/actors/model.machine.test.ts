import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initialTransition, transition } from 'xstate';
import { modelVersionMachine } from '../../../src/actors/model/model.machine.js';
import type { ReplicasChanged } from '../../../src/actors/model/model.events.js';
import { modelStateOf } from '../../../src/actors/supervisor/views.js';
import { summarizeReplicas, type ReplicaSummary } from '../../../src/domain/model.js';

const none: ReplicaSummary = summarizeReplicas([]);

const changed = (
  o: Partial<Omit<ReplicasChanged, 'summary'>> & { summary?: Partial<ReplicaSummary> },
): ReplicasChanged => ({
  type: 'replicas.changed',
  at: 1,
  retiring: false,
  replicas: 2,
  minReplicas: 0,
  otherVersionAvailable: false,
  ...o,
  summary: { ...none, ...o.summary },
});

function derive(...events: Parameters<typeof transition<typeof modelVersionMachine>>[2][]) {
  let [snap] = initialTransition(modelVersionMachine, { model: 'm', version: 1 });
  for (const e of events) [snap] = transition(modelVersionMachine, snap, e);
  return { state: modelStateOf(snap), ctx: snap.context };
}

describe('model version machine', () => {
  it('starts Unknown', () => {
    assert.equal(derive().state, 'unknown');
  });

  it('is Progressing while replicas load, Available when all are', () => {
    assert.equal(derive(changed({ summary: { loading: 2 } })).state, 'progressing');
    const a = derive(changed({ summary: { available: 2 } }));
    assert.equal(a.state, 'available');
    assert.equal(a.ctx.availableReplicas, 2);
  });

  it('is Available with minReplicas available (partial scheduling)', () => {
    assert.equal(
      derive(changed({ replicas: 3, minReplicas: 2, summary: { available: 2 } })).state,
      'available',
    );
  });

  it('is Available with one replica while another version is Available (rolling update)', () => {
    assert.equal(
      derive(changed({ otherVersionAvailable: true, summary: { available: 1, loading: 1 } })).state,
      'available',
    );
  });

  it('is Failed with the newest failure reason when a replica failed', () => {
    const f = derive(changed({ summary: { available: 1, failed: 1, failedReason: 'boom' } }));
    assert.equal(f.state, 'failed');
    assert.equal(f.ctx.reason, 'boom');
    assert.equal(f.ctx.unavailableReplicas, 1);
  });

  it('records ScheduleFailed until the replicas change again', () => {
    const failed = {
      type: 'placement.failed' as const,
      at: 2,
      reason: 'no room',
      availableReplicas: 0,
      unavailableReplicas: 2,
    };
    assert.equal(derive(failed).state, 'scheduleFailed');
    assert.equal(derive(failed, changed({ summary: { loading: 1 } })).state, 'progressing');
  });

  it('retires: Terminating while replicas unload, then Terminated; TerminateFailed on failure', () => {
    assert.equal(
      derive(changed({ retiring: true, summary: { unloading: 1 } })).state,
      'terminating',
    );
    assert.equal(derive(changed({ retiring: true })).state, 'terminated');
    const tf = derive(
      changed({ retiring: true, summary: { unloadFailed: 1, unloadFailedReason: 'disk' } }),
    );
    assert.equal(tf.state, 'terminateFailed');
    assert.equal(tf.ctx.reason, 'disk');
  });

  it('never returns from retirement to an active state', () => {
    const s = derive(
      changed({ retiring: true, summary: { unloading: 1 } }),
      changed({ summary: { available: 2 } }),
    );
    assert.equal(s.state, 'terminating');
  });
});
