import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { plan } from '../../../src/placement/plan.js';
import { replica, request, server } from '../../support/placement.js';
import { NO_MATCHING_SERVERS, NOT_ENOUGH_REPLICAS } from '../../../src/placement/types.js';

/** A replica of the version that is Available (its state's tags: placed, load sent). */
const AVAILABLE = { placed: true, loadSent: true };

const req = request;

describe('plan', () => {
  it('fails with no matching servers when there are none', () => {
    assert.deepEqual(plan(req(), []), { ok: false, reason: NO_MATCHING_SERVERS });
  });

  it('requires every requirement in the capabilities (trimmed, case-sensitive)', () => {
    const s = [server('s1', [replica(0)])];
    assert.equal(plan(req({ requirements: ['xgboost', ' sklearn '] }), s).ok, true);
    assert.deepEqual(plan(req({ requirements: ['pytorch'] }), s), {
      ok: false,
      reason: NO_MATCHING_SERVERS,
    });
    assert.deepEqual(plan(req({ requirements: ['SKLEARN'] }), s), {
      ok: false,
      reason: NO_MATCHING_SERVERS,
    });
  });

  it('excludes servers without replicas, unshared ones (unless pinned) and deleted ones', () => {
    assert.equal(plan(req(), [server('s1', [])]).ok, false);
    assert.equal(plan(req(), [server('s1', [replica(0)], { shared: false })]).ok, false);
    assert.equal(
      plan(req({ server: 's1' }), [server('s1', [replica(0)], { shared: false })]).ok,
      true,
    );
    assert.equal(plan(req({ server: 's2' }), [server('s1', [replica(0)])]).ok, false);
    assert.deepEqual(plan(req(), [server('s1', [replica(0)], { expectedReplicas: 0 })]), {
      ok: false,
      reason: NO_MATCHING_SERVERS,
    });
  });

  it('fails with not enough replicas when memory, explainer or draining rule every replica out', () => {
    const s = [server('s1', [replica(0, 1000)])];
    assert.deepEqual(plan(req({ requiredMemory: 2000 }), s), {
      ok: false,
      reason: NOT_ENOUGH_REPLICAS,
    });
    assert.deepEqual(plan(req({ explainer: true }), s), { ok: false, reason: NOT_ENOUGH_REPLICAS });
    assert.deepEqual(plan(req(), [server('s1', [replica(0, 1000, { draining: true })])]), {
      ok: false,
      reason: NOT_ENOUGH_REPLICAS,
    });
    assert.equal(
      plan(req({ explainer: true }), [
        server('s1', [replica(0, 1000, { capabilities: ['sklearn', 'alibi-explain'] })]),
      ]).ok,
      true,
    );
  });

  it('counts reserved memory against free memory', () => {
    const s = [server('s1', [replica(0, 1000, { reservedMemory: 600 })])];
    assert.equal(plan(req({ requiredMemory: 600 }), s).ok, false);
    assert.equal(plan(req({ requiredMemory: 400 }), s).ok, true);
  });

  it('keeps replicas that already host the version even when they are full', () => {
    const s = [server('s1', [replica(0, 0), replica(1, 0), replica(2, 100)])];
    const r = plan(
      req({ replicas: 3, currentServer: 's1', current: { 0: AVAILABLE, 1: AVAILABLE } }),
      s,
    );
    assert.deepEqual(r, { ok: true, server: 's1', replicaIdxs: [0, 1, 2], partial: false });
  });

  it('a replica only asked to load is preferred, but needs its memory: its agent was not told yet', () => {
    const s = [server('s1', [replica(0, 0), replica(1, 900)])];
    const asked = { placed: true, loadSent: false };
    assert.deepEqual(plan(req({ replicas: 1, currentServer: 's1', current: { 0: asked } }), s), {
      ok: true,
      server: 's1',
      replicaIdxs: [1],
      partial: false,
    });
    const roomy = [server('s1', [replica(0, 500), replica(1, 900)])];
    assert.deepEqual(
      plan(req({ replicas: 1, currentServer: 's1', current: { 0: asked } }), roomy),
      { ok: true, server: 's1', replicaIdxs: [0], partial: false },
    );
  });

  it('prefers hosting replicas, then the most free memory, then the lowest index', () => {
    const s = [server('s1', [replica(0, 500), replica(1, 900), replica(2, 900), replica(3, 100)])];
    assert.deepEqual(plan(req({ replicas: 2 }), s), {
      ok: true,
      server: 's1',
      replicaIdxs: [1, 2],
      partial: false,
    });
    const down = plan(
      req({ replicas: 1, currentServer: 's1', current: { 0: AVAILABLE, 3: AVAILABLE } }),
      s,
    );
    assert.deepEqual(down, { ok: true, server: 's1', replicaIdxs: [0], partial: false });
  });

  it('prefers the current server, then servers by name (deterministic)', () => {
    const s = [server('b', [replica(0)]), server('a', [replica(0)]), server('c', [replica(0)])];
    assert.deepEqual(plan(req(), s), plan(req(), [...s].reverse()));
    const r = plan(req(), s);
    assert.equal(r.ok && r.server, 'a');
    const cur = plan(req({ currentServer: 'c' }), s);
    assert.equal(cur.ok && cur.server, 'c');
  });

  it('places minReplicas when replicas do not fit anywhere (partial), full fits win', () => {
    const small = server('a', [replica(0), replica(1)]);
    assert.deepEqual(plan(req({ replicas: 3, minReplicas: 2 }), [small]), {
      ok: true,
      server: 'a',
      replicaIdxs: [0, 1],
      partial: true,
    });
    assert.deepEqual(plan(req({ replicas: 3, minReplicas: 0 }), [small]), {
      ok: false,
      reason: NOT_ENOUGH_REPLICAS,
    });
    const big = server('b', [replica(0), replica(1), replica(2)]);
    const r = plan(req({ replicas: 3, minReplicas: 2, currentServer: 'a' }), [small, big]);
    assert.equal(r.ok && r.server, 'b');
  });

  it('places nothing for zero replicas', () => {
    assert.deepEqual(plan(req({ replicas: 0 }), [server('a', [replica(0)])]), {
      ok: true,
      server: 'a',
      replicaIdxs: [],
      partial: false,
    });
  });
});
