/**
 * A plan is what applying the same manifests then does. fast-check builds a fleet (servers with
 * replicas of random memory and capabilities, shared or not), loads some models (some loaded, some
 * still loading), then plans a list of Model manifests and Server declarations; the same are then
 * applied to the scheduler (the declared replicas joining as their agents would announce them,
 * the models loaded in order). After each model, the scheduler has it as the plan said (state,
 * reason, server, replicas), placement decides now what the plan decided, and the capacity left
 * equals the plan's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SchedulerError } from '../../src/domain/errors.js';
import type { PlacementResult } from '../../src/placement/types.js';
import type { ServerDeclaration } from '../../src/domain/server.js';
import { fcParams } from '../support/fc.js';
import { def, TestWorld } from '../support/system.js';

const SERVERS = ['mlserver', 'triton', 'gpu'] as const;
const MODELS = ['m1', 'm2', 'm3', 'm4', 'm5'] as const;
const CAPABILITIES = ['sklearn', 'xgboost', 'alibi-explain'] as const;
const OVERCOMMIT = 10;

const serverArb = fc.record({
  name: fc.constantFrom(...SERVERS),
  replicas: fc.integer({ min: 1, max: 3 }),
  memory: fc.integer({ min: 1, max: 10 }).map((k) => k * 100),
  capabilities: fc.subarray([...CAPABILITIES], { minLength: 1 }),
  shared: fc.boolean(),
});

const modelArb = fc.record({
  name: fc.constantFrom(...MODELS),
  memory: fc.integer({ min: 0, max: 8 }).map((k) => k * 100),
  replicas: fc.integer({ min: 0, max: 4 }),
  minReplicas: fc.integer({ min: 0, max: 2 }),
  requirements: fc.subarray(['sklearn', 'xgboost'], { minLength: 1 }),
  server: fc.option(fc.constantFrom(...SERVERS), { nil: undefined }),
  uri: fc.integer({ min: 0, max: 1 }),
});
type ModelArb = typeof modelArb extends fc.Arbitrary<infer T> ? T : never;

const toDef = ({ server, ...m }: ModelArb) =>
  def(m.name, {
    ...m,
    ...(server === undefined ? {} : { server }),
    uri: `gs://m/${m.name}/${m.uri}`,
  });

const declarationArb = fc.record({
  name: fc.constantFrom(...SERVERS),
  expectedReplicas: fc.integer({ min: 0, max: 5 }),
  shared: fc.boolean(),
});

/**
 * Answers every op sent so far with success, in order, as agents would; a report the scheduler
 * refuses (a load answered after the replica was asked to unload) changes nothing, as from a real
 * agent.
 */
function answerAll(w: TestWorld): void {
  for (let ops = w.agents.ops.splice(0); ops.length > 0; ops = w.agents.ops.splice(0)) {
    for (const { server, idx, op } of ops) {
      const event = op.operation === 'load' ? 'loaded' : 'unloaded';
      try {
        w.reply(server, idx, op.definition.meta.name, op.version, event);
      } catch (e) {
        if (!(e instanceof SchedulerError)) throw e;
      }
    }
  }
}

/** A placement result with its replicas in index order (a decision lists them best first). */
const sortedResult = (r: PlacementResult | undefined) =>
  r?.ok ? { ...r, replicaIdxs: [...r.replicaIdxs].sort((a, b) => a - b) } : r;

let plansChecked = 0;
/** Models outside a plan that it said it would move (and that applying it moved). */
let alsoChanged = 0;
const outcomes = new Map<string, number>();

describe('plan', () => {
  it('equals what applying the same manifests then does', (t) => {
    fc.assert(
      fc.property(
        fc.uniqueArray(serverArb, { selector: (s) => s.name, maxLength: 3 }),
        fc.array(modelArb, { maxLength: 4 }),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.uniqueArray(declarationArb, { selector: (d) => d.name, maxLength: 2 }),
        fc.array(modelArb, { minLength: 1, maxLength: 5 }),
        (fleet, existing, acked, declared, manifests) => {
          const w = new TestWorld();
          const joinAs = (server: string, idx: number, s: (typeof fleet)[number]) => {
            w.join(server, idx, {
              memory: s.memory,
              available: Math.floor(s.memory * (1 + OVERCOMMIT / 100)),
              capabilities: s.capabilities,
              shared: s.shared,
            });
          };
          for (const s of fleet) for (let k = 0; k < s.replicas; k++) joinAs(s.name, k, s);
          // Some models are loaded, the later ones may still be loading.
          existing.forEach((m, k) => {
            try {
              w.system.loadModel(toDef(m));
            } catch {
              // Refused (deleted meanwhile, say): not part of the state then.
            }
            if (acked[k]) answerAll(w);
          });
          const declarations: ServerDeclaration[] = declared.map((d) => ({
            ...d,
            minReplicas: 0,
            maxReplicas: 0,
          }));
          const definitions = manifests.map(toDef);
          const where = (name: string) => {
            const e = w.system.explainModel(name);
            return e && e.replicas.length > 0 ? `${e.server}/${e.replicas.join(',')}` : 'nowhere';
          };
          const others = w.system
            .modelNames()
            .filter((n) => !definitions.some((d) => d.meta.name === n));
          const before = new Map(others.map((n) => [n, where(n)]));
          const plan = w.system.plan(declarations, definitions);
          plansChecked++;
          for (const c of plan.alsoChanged) {
            assert.equal(c.before, before.get(c.now.model), `${c.now.model}: where it was`);
          }

          // Apply the same: the declarations, the replicas the plan assumed, then the models.
          if (declarations.length > 0) w.system.serverNotify(declarations);
          // (The plan lists its replicas, and assumed them joining, by server and index.)
          for (const c of plan.capacity.filter((x) => x.assumed)) {
            const first = fleet.find((s) => s.name === c.server);
            const declaration = declared.find((d) => d.name === c.server);
            assert.ok(first && declaration, `replica ${c.server}/${c.idx} assumed undeclared`);
            // An agent of a declared server announces what the operator declared (one Server).
            joinAs(c.server, c.idx, { ...first, shared: declaration.shared });
          }
          definitions.forEach((d, k) => {
            const planned = plan.models[k];
            if (planned) outcomes.set(planned.outcome, (outcomes.get(planned.outcome) ?? 0) + 1);
            let error: string | undefined;
            try {
              w.system.loadModel(d);
            } catch (e) {
              error = (e as Error).message;
            }
            if (error !== undefined) {
              assert.deepEqual(planned, { model: d.meta.name, outcome: 'refused', error });
              return;
            }
            // The model as the scheduler has it after the load, and placement's decision (as
            // made when planning, and as made again now on the applied state).
            const real = w.system.explainModel(d.meta.name);
            const { placement: decision, ...planState } = planned?.explanation ?? {};
            const { placement: again, ...realState } = real ?? {};
            const what = `model ${k} (${d.meta.name})`;
            assert.deepEqual(planState, realState, `${what} placed otherwise than planned`);
            assert.deepEqual(sortedResult(decision?.result), sortedResult(again?.result), what);
          });
          assert.deepEqual(
            w.system.plan([], []).capacity,
            plan.capacity.map((c) => ({ ...c, assumed: false })),
            'capacity left',
          );
          // The models outside the plan: those it said it would move are where it said; the
          // others did not move.
          const moved = new Map(plan.alsoChanged.map((c) => [c.now.model, c.now]));
          for (const name of others) {
            const now = moved.get(name);
            if (now) alsoChanged++;
            const expected = now
              ? now.replicas.length > 0
                ? `${now.server}/${now.replicas.join(',')}`
                : 'nowhere'
              : before.get(name);
            assert.equal(where(name), expected, `${name}, outside the plan`);
          }
        },
      ),
      fcParams(200),
    );
    const tally = [...outcomes].map(([outcome, n]) => `${n} ${outcome}`).join(', ');
    t.diagnostic(
      `${plansChecked} plans checked; models planned: ${tally}; ` +
        `${alsoChanged} models outside a plan moved by it`,
    );
  });
});
