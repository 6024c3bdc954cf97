/**
 * Explanations of placement (every server filter, every replica filter, the sorters' tie-breaks and
 * the suggestions), and plans, through the system facade with recording agents.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes } from '../../../src/domain/quantity.js';
import { explainPlacement } from '../../../src/placement/explain.js';
import { plan } from '../../../src/placement/plan.js';
import {
  NO_MATCHING_SERVERS,
  NOT_ENOUGH_REPLICAS,
  type PlacementReplica,
  type PlacementRequest,
} from '../../../src/placement/types.js';
import { replica, request, server } from '../../support/placement.js';
import { def, TestWorld } from '../../support/system.js';

const MiB = 1024 * 1024;

/** A sklearn model needing 100 MiB a replica. */
const req = (o: Partial<PlacementRequest> = {}): PlacementRequest =>
  request({ requiredMemory: 100 * MiB, ...o });

/** A server replica with `free` bytes free. */
const rep = (idx: number, free: number, o: Partial<PlacementReplica> = {}) => replica(idx, free, o);

describe('explainPlacement', () => {
  it('is plan, observed: the same result', () => {
    const servers = [
      server('b', [rep(0, 500 * MiB), rep(1, 50 * MiB)]),
      server('a', [rep(0, 10 * MiB)]),
      server('c', [rep(0, 900 * MiB)], { shared: false }),
    ];
    for (const r of [req(), req({ replicas: 2 }), req({ replicas: 2, minReplicas: 1 })]) {
      assert.deepEqual(explainPlacement(r, servers).result, plan(r, servers));
    }
  });

  it('names the first server filter that rejects each server, with what it lacks', () => {
    const servers = [
      server('empty', []),
      server('dedicated', [rep(0, 900 * MiB)], { shared: false }),
      server('leaving', [rep(0, 900 * MiB)], { expectedReplicas: 0 }),
      server('triton', [rep(0, 900 * MiB, { capabilities: ['onnx'] })]),
    ];
    const e = explainPlacement(req({ requirements: ['sklearn', 'xgboost'] }), servers);
    assert.deepEqual(e.result, { ok: false, reason: NO_MATCHING_SERVERS });
    const by = Object.fromEntries(e.servers.map((s) => [s.name, s]));
    assert.equal(by['empty']?.rejectedBy, 'hasReplicas');
    assert.equal(by['dedicated']?.rejectedBy, 'sharing');
    assert.match(by['dedicated'].why, /not shared/);
    assert.equal(by['leaving']?.rejectedBy, 'notDeleted');
    assert.equal(by['triton']?.rejectedBy, 'requirements');
    assert.deepEqual(by['triton'].missingCapabilities, ['sklearn', 'xgboost']);
    assert.ok(e.suggestions.includes('server `triton` lacks `sklearn`, `xgboost`'));
    assert.ok(e.suggestions.some((s) => s.startsWith('server `empty` has no replica connected')));
  });

  it('a model naming a server that is not there says so', () => {
    const e = explainPlacement(req({ server: 'gpu' }), [server('cpu', [rep(0, 900 * MiB)])]);
    assert.match(e.servers[0]?.why ?? '', /the model asks for server `gpu`/);
    assert.ok(e.suggestions.some((s) => s.startsWith('no server named `gpu` is connected')));
  });

  it('names the replica filters with their numbers, and what unloading would free', () => {
    const servers = [
      server('mlserver', [
        rep(0, 80 * MiB, { reservedMemory: 0 }),
        rep(1, 500 * MiB, { draining: true, capabilities: ['sklearn', 'alibi-explain'] }),
        rep(2, 500 * MiB, { capabilities: ['sklearn'] }),
      ]),
    ];
    const e = explainPlacement(req({ explainer: true, replicas: 1 }), servers, (_s, idx) =>
      idx === 0
        ? {
            memoryBytes: 1000 * MiB,
            overCommitPercentage: 10,
            models: [
              { model: 'm7', bytes: 300 * MiB },
              { model: 'm8', bytes: 30 * MiB },
            ],
          }
        : undefined,
    );
    assert.deepEqual(e.result, { ok: false, reason: NOT_ENOUGH_REPLICAS });
    const [mlserver] = e.servers;
    assert.equal(mlserver?.verdict, 'tooFewReplicas');
    assert.deepEqual(
      mlserver.replicas.map((r) => r.rejectedBy),
      ['memory', 'notDraining', 'explainer'],
    );
    assert.equal(mlserver.replicas[0]?.overCommitPercentage, 10);
    assert.match(mlserver.replicas[0].why, /^20 MiB short: 80 MiB free/);
    assert.ok(
      e.suggestions.includes(
        'replica mlserver/0 is 20 MiB short; unloading `m8` would free 30 MiB',
      ),
      e.suggestions.join('\n'),
    );
    assert.ok(e.suggestions.includes('replica mlserver/1 is draining'));
    assert.ok(e.suggestions.includes('replica mlserver/2 lacks `alibi-explain`'));
  });

  it('reserved memory counts against free memory', () => {
    const e = explainPlacement(req(), [
      server('s', [rep(0, 150 * MiB, { reservedMemory: 100 * MiB })]),
    ]);
    assert.equal(e.servers[0]?.replicas[0]?.freeBytes, 50 * MiB);
    assert.match(e.servers[0].replicas[0].why, /100 MiB reserved for loads in flight/);
  });

  it('too few replicas: scale to what is wanted, or place fewer with min replicas', () => {
    const e = explainPlacement(req({ replicas: 3 }), [
      server('mlserver', [rep(0, 900 * MiB), rep(1, 900 * MiB)]),
    ]);
    assert.ok(e.suggestions.includes('needs 3 replicas, server `mlserver` has 2: scale it to 3'));
    assert.ok(e.suggestions.includes('or set min replicas to 2 to place 2 now'));
  });

  it('the tie-breaks: current server first, then by name; replicas by holding, free memory, index', () => {
    const servers = [
      server('b', [rep(0, 200 * MiB), rep(1, 900 * MiB)]),
      server('a', [rep(0, 900 * MiB)]),
    ];
    const fresh = explainPlacement(req(), servers);
    assert.equal(fresh.result.ok && fresh.result.server, 'a');
    assert.match(fresh.tieBreak, /^`a` is the first server, by name/);
    assert.deepEqual(
      fresh.servers.map((s) => [s.name, s.verdict]),
      [
        ['a', 'chosen'],
        ['b', 'notConsidered'],
      ],
    );
    const moved = explainPlacement(
      req({ currentServer: 'b', current: { 0: { placed: true, loadSent: true } } }),
      servers,
    );
    assert.equal(moved.result.ok && moved.result.server, 'b');
    assert.match(moved.tieBreak, /^`b` already hosts this version/);
    // Replica 0 holds the version, so it ranks first although replica 1 has more free memory.
    assert.deepEqual(
      moved.servers[0]?.replicas.map((r) => [r.idx, r.verdict, r.rank]),
      [
        [0, 'chosen', 1],
        [1, 'suitable', 2],
      ],
    );
  });

  it('ranks suitable replicas by free memory, then by index, and says which were not needed', () => {
    const e = explainPlacement(req({ replicas: 2 }), [
      server('s', [rep(0, 300 * MiB), rep(1, 500 * MiB), rep(2, 500 * MiB), rep(3, 50 * MiB)]),
    ]);
    assert.deepEqual(
      e.servers[0]?.replicas.map((r) => [r.idx, r.verdict, r.rank ?? null]),
      [
        [0, 'suitable', 3],
        [1, 'chosen', 1],
        [2, 'chosen', 2],
        [3, 'rejected', null],
      ],
    );
    assert.deepEqual(e.result.ok && e.result.replicaIdxs, [1, 2]);
  });

  it('a partial placement says how it was chosen and how to get all replicas', () => {
    const e = explainPlacement(req({ replicas: 3, minReplicas: 1 }), [
      server('s', [rep(0, 900 * MiB), rep(1, 10 * MiB)]),
    ]);
    assert.equal(e.result.ok && e.result.partial, true);
    assert.match(e.tieBreak, /no server had 3 suitable replicas/);
    assert.ok(e.suggestions.includes('replica s/1 is 90 MiB short'));
    assert.ok(e.suggestions.includes('needs 3 replicas, server `s` has 2: scale it to 3'));
  });

  it('formats bytes', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(120 * MiB), '120 MiB');
    assert.equal(formatBytes(1.5 * MiB), '1.5 MiB');
    assert.equal(formatBytes(12 * 1024 * MiB), '12288 MiB');
    assert.equal(formatBytes(12 * 1024 * MiB, { gib: true }), '12 GiB');
    assert.equal(formatBytes(9 * 1024 * MiB, { gib: true }), '9216 MiB');
  });
});

describe('explainModel and plan through the scheduler', () => {
  it('a ScheduleFailed model is explained with the reason it states', () => {
    const w = new TestWorld();
    w.join('mlserver', 0, { memory: 1000, capabilities: ['sklearn'] });
    w.system.loadModel(def('big', { memory: 5000 }));
    const e = w.system.explainModel('big');
    assert.equal(e?.state, 'scheduleFailed');
    assert.equal(e.reason, NOT_ENOUGH_REPLICAS);
    assert.deepEqual(e.placement?.result, { ok: false, reason: NOT_ENOUGH_REPLICAS });
    // 5000 B never fit a replica of 1000 B with 10% over-commit, however empty.
    assert.deepEqual(e.placement.suggestions, [
      'replica mlserver/0 holds at most 1100 B in all (1000 B + 10% over-commit), the model ' +
        'needs 5000 B: give it less memory, or the server more',
    ]);
    assert.equal(w.system.explainModel('nope'), undefined);
  });

  it('a placed model is explained on the replicas it holds; deleted ones say so', () => {
    const w = new TestWorld();
    w.join('mlserver', 0);
    w.join('mlserver', 1);
    w.system.loadModel(def('m', { replicas: 2 }));
    w.ackAll();
    const e = w.system.explainModel('m');
    assert.equal(e?.state, 'available');
    assert.deepEqual(e.replicas, [0, 1]);
    assert.deepEqual(e.placement?.result, {
      ok: true,
      server: 'mlserver',
      replicaIdxs: [0, 1],
      partial: false,
    });
    w.system.unloadModel('m');
    assert.match(w.system.explainModel('m')?.note ?? '', /being deleted/);
  });

  it('plan places models in order on a copy: reservations count, nothing changes', () => {
    const w = new TestWorld();
    w.join('mlserver', 0, { memory: 1000 });
    const before = JSON.stringify(w.views());
    const p = w.system.plan([], [def('a', { memory: 600 }), def('b', { memory: 600 })]);
    assert.deepEqual(
      p.models.map((m) => [m.model, m.outcome]),
      [
        ['a', 'placed'],
        ['b', 'failed'],
      ],
    );
    assert.equal(p.models[1]?.explanation?.placement?.servers[0]?.replicas[0]?.reservedBytes, 600);
    assert.deepEqual(
      p.capacity.map((c) => [c.server, c.idx, c.freeBytes]),
      [['mlserver', 0, 400]],
    );
    assert.equal(JSON.stringify(w.views()), before, 'the scheduler is unchanged');
    assert.deepEqual(w.agents.take(), [], 'no agent was asked anything');
  });

  it('plan with a Server declaration assumes its missing replicas like its first one', () => {
    const w = new TestWorld();
    w.join('mlserver', 0, { memory: 1000 });
    const declare = { name: 'mlserver', expectedReplicas: 2, minReplicas: 0, maxReplicas: 0 };
    const p = w.system.plan(
      [{ ...declare, shared: true }],
      [def('m', { replicas: 2, memory: 500 })],
    );
    assert.equal(p.models[0]?.outcome, 'placed');
    assert.deepEqual(p.assumptions, [
      'replica mlserver/1 joins like mlserver/0, shared as declared',
    ]);
    assert.deepEqual(
      p.capacity.map((c) => [c.idx, c.assumed]),
      [
        [0, false],
        [1, true],
      ],
    );
  });

  it('plan declares a server with no replica connected, and says nothing can go there yet', () => {
    const w = new TestWorld();
    w.join('mlserver', 0, { memory: 1000 });
    const declare = { name: 'gpu', expectedReplicas: 2, minReplicas: 0, maxReplicas: 0 };
    const p = w.system.plan([{ ...declare, shared: true }], [def('m', { server: 'gpu' })]);
    assert.deepEqual(p.assumptions, [
      'server gpu has no replica connected: its capabilities and memory are unknown, so nothing ' +
        'is placed on it until one connects',
    ]);
    assert.equal(p.models[0]?.outcome, 'failed');
    assert.deepEqual(
      p.capacity.map((c) => `${c.server}/${c.idx}`),
      ['mlserver/0'],
    );
  });

  it('plan says which models outside it would move too (one waiting for a declared replica)', () => {
    const w = new TestWorld();
    w.join('mlserver', 0, { memory: 1000 });
    w.system.loadModel(def('waits', { replicas: 2, memory: 100 }));
    w.ackAll();
    const declare = { name: 'mlserver', expectedReplicas: 2, minReplicas: 0, maxReplicas: 0 };
    const p = w.system.plan([{ ...declare, shared: true }], [def('new', { memory: 100 })]);
    assert.deepEqual(
      p.alsoChanged.map((c) => [c.now.model, c.before, c.now.server, c.now.replicas]),
      [['waits', 'nowhere', 'mlserver', [0, 1]]],
    );
    assert.equal(w.system.explainModel('waits')?.state, 'scheduleFailed', 'nothing changed');
  });

  it('plan retries the models waiting for capacity in the order they started waiting (regression)', () => {
    // Found by the plan property: m1 waits before m5's new version; the plan's copy had retried
    // them in the order of the records (m5 first), so m1 got another replica than applying gives.
    const w = new TestWorld();
    const caps = ['sklearn', 'xgboost'];
    w.join('mlserver', 0, { memory: 100, available: 110, capabilities: caps, shared: false });
    w.system.loadModel(def('m5', { replicas: 0, memory: 0, server: 'mlserver' }));
    w.system.loadModel(def('m1', { memory: 0, requirements: ['xgboost'] }));
    w.system.loadModel(def('m5', { memory: 100, requirements: ['xgboost'], uri: 'gs://m/m5/v2' }));
    const declared = { name: 'mlserver', expectedReplicas: 2, minReplicas: 0, maxReplicas: 0 };
    const p = w.system.plan([{ ...declared, shared: true }], [def('m2', { replicas: 0 })]);
    w.system.serverNotify([{ ...declared, shared: true }]);
    w.join('mlserver', 1, { memory: 100, available: 110, capabilities: caps });
    const m1 = p.alsoChanged.find((c) => c.now.model === 'm1')?.now;
    assert.deepEqual(
      [m1?.server, m1?.replicas],
      ['mlserver', w.system.explainModel('m1')?.replicas],
    );
  });

  it('plan says which LoadModel would be refused, and why', () => {
    const w = new TestWorld();
    w.join('s1', 0);
    w.system.loadModel(def('m'));
    w.ackAll();
    w.system.unloadModel('m');
    const p = w.system.plan([], [def('m')]);
    assert.equal(p.models[0]?.outcome, 'refused');
    assert.match(p.models[0].error ?? '', /in process of deletion/);
  });
});
