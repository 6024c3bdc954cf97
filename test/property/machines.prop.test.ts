/**
 * Each machine against its hand-written transition table (test/support/transition-tables.ts):
 * random event sequences follow the table step by step, every table state is reachable and nothing
 * else is, and every (reachable state, alphabet event) pair goes where the table says. Driven through
 * the pure `initialTransition`/`transition`. FC_NUM_RUNS scales the random runs; a failure prints the
 * seed and path that reproduce it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import {
  createActor,
  initialTransition,
  transition,
  type AnyStateMachine,
  type EventFromLogic,
  type InputFrom,
  type SnapshotFrom,
  type StateValue,
} from 'xstate';
import { Cell } from '../../src/actors/cell.js';
import { machines } from '../../src/actors/index.js';
import { MODEL_STATES, REPLICA_STATES } from '../../src/domain/model.js';
import { PIPELINE_STATES } from '../../src/domain/pipeline.js';
import type { ServerReplicaState } from '../../src/domain/server.js';
import { fcParams } from '../support/fc.js';
import { fromStates, predict, tables, type TransitionTable } from '../support/transition-tables.js';

const MAX_EVENTS = 60;

type Snap = SnapshotFrom<AnyStateMachine>;
type Ev = { type: string } & Record<string, unknown>;

/** The innermost state name of a (possibly nested) state value: `{ active: 'failed' }` → `failed`. */
function leaf(value: StateValue): string {
  if (typeof value === 'string') return value;
  const children = Object.values(value);
  const [only] = children;
  if (children.length !== 1 || only === undefined) {
    throw new Error(`not a single active leaf: ${JSON.stringify(value)}`);
  }
  return leaf(only);
}

/** The event with a new `at`, so a stray stamp on an ignored event shows in the context. */
const restamp = <E extends object>(e: E, at: number): E => ('at' in e ? { ...e, at } : e);

/** An event as text, without its time (undefined fields shown, not dropped). */
function label(e: { type: string }): string {
  const { type, at: _at, ...rest } = e as Ev;
  const text = JSON.stringify(rest, (_key, v: unknown) => (v === undefined ? 'undefined' : v));
  return Object.keys(rest).length === 0 ? type : `${type} ${text}`;
}

const differs = (a: unknown, b: unknown) => !isDeepStrictEqual(a, b);

interface Spec<TM extends AnyStateMachine, S extends string, G extends string> {
  machine: TM;
  input: InputFrom<TM>;
  table: TransitionTable<S, EventFromLogic<TM>, G>;
  /** The domain's list of states the machine must have exactly (where the domain has one). */
  domainStates?: readonly string[];
}

/** Every check, for one machine and its table: the one implementation the six machines share. */
function describeMachine<TM extends AnyStateMachine, S extends string, G extends string>(
  name: string,
  spec: Spec<TM, S, G>,
): void {
  const { table } = spec;
  const logic: AnyStateMachine = spec.machine;
  const alphabet = table.alphabet as readonly Ev[];
  const tableStates = new Set<string>(Object.keys(table.states));
  /** Every tag some state of the machine has. */
  const allTags = new Set<string>();
  const collectTags = (node: AnyStateMachine['root']): void => {
    for (const t of node.tags) allTags.add(t);
    for (const child of Object.values(node.states)) collectTags(child);
  };
  collectTags(logic.root);
  const terminal = new Set<string>(table.terminal);
  const start = (): Snap => initialTransition(logic, spec.input)[0];
  const step = (s: Snap, e: Ev): Snap => transition(logic, s, e)[0];
  /** Where the table sends `event` from `from` (the same state when it is ignored), and why. */
  const tableSays = (from: string, event: Ev) => {
    const row = predict(table, from, event as EventFromLogic<TM>);
    return row ? { to: row.to as string, why: row.why } : undefined;
  };

  let explored: Map<string, Snap> | undefined;
  /** Every leaf state the real machine reaches with the alphabet, with one snapshot in each. */
  function explore(): Map<string, Snap> {
    if (explored) return explored;
    const first = start();
    const seen = new Map([[leaf(first.value), first]]);
    const queue = [first];
    for (let s = queue.shift(); s; s = queue.shift()) {
      for (const e of alphabet) {
        const next = step(s, e);
        const key = leaf(next.value);
        if (!seen.has(key)) {
          seen.set(key, next);
          queue.push(next);
        }
      }
    }
    explored = seen;
    return seen;
  }

  describe(`${name} machine against its transition table`, () => {
    it('has a well-formed table: initial state, states, and no row that can never apply', () => {
      assert.equal(leaf(start().value), table.initial, `${name}: initial state`);
      if (spec.domainStates) {
        assert.deepEqual(
          [...tableStates].sort(),
          [...spec.domainStates].sort(),
          `${name}: table states vs the domain's list`,
        );
      }
      for (const s of terminal) assert.ok(tableStates.has(s), `${name}: terminal ${s} unknown`);
      const leaving = table.rows.filter((r) => fromStates(r).some((s) => terminal.has(s)));
      assert.deepEqual(leaving, [], `${name}: rows out of a terminal state`);
      const dead = table.rows.filter(
        (row) =>
          !fromStates(row).some((from) =>
            alphabet.some((e) => e.type === row.event && predict(table, from, e as never) === row),
          ),
      );
      assert.deepEqual(
        dead.map((r) => `${JSON.stringify(r.from)} --${r.event}[${r.guard ?? ''}]--> ${r.to}`),
        [],
        `${name}: rows shadowed by earlier rows or not exercised by the alphabet`,
      );
    });

    it('random event sequences follow the table, and terminal states are terminal', () => {
      const byType = new Map<string, Ev[]>();
      for (const e of alphabet) byType.set(e.type, [...(byType.get(e.type) ?? []), e]);
      const event = fc.oneof(...[...byType.values()].map((group) => fc.constantFrom(...group)));
      fc.assert(
        fc.property(fc.array(event, { maxLength: MAX_EVENTS }), (events) => {
          let snap = start();
          const trail = [leaf(snap.value)];
          const where = () => `${name}: ${trail.join(' ')}`;
          events.forEach((raw, i) => {
            const e = restamp(raw, 1_000 + i);
            const from = leaf(snap.value);
            const next = step(snap, e);
            const to = leaf(next.value);
            trail.push(`--${label(e)}--> ${to}`);
            assert.ok(tableStates.has(to), `${where()}\nreached ${to}, which is not in the table`);
            if (terminal.has(from)) {
              assert.ok(
                !differs(next.value, snap.value) && !differs(next.context, snap.context),
                `${where()}\nan event changed terminal state ${from} (context or value)`,
              );
            }
            const want = tableSays(from, e);
            if (want) {
              assert.equal(to, want.to, `${where()}\ntable: ${from} → ${want.to} (${want.why})`);
            } else {
              assert.equal(to, from, `${where()}\ntable: ${from} ignores ${e.type}`);
              assert.deepEqual(next.value, snap.value, `${where()}\nignored event moved the state`);
              assert.deepEqual(
                next.context,
                snap.context,
                `${where()}\nignored event changed the context`,
              );
            }
            // A machine is done only in a terminal state (a nested final state need not be done).
            assert.ok(
              next.status !== 'done' || terminal.has(to),
              `${where()}\nthe machine is done in ${to}, which the table says is not terminal`,
            );
            snap = next;
          });
        }),
        fcParams(200),
      );
    });

    it('steps the same through a Cell as through a live actor, restored, passivated or not', () => {
      const byType = new Map<string, Ev[]>();
      for (const e of alphabet) byType.set(e.type, [...(byType.get(e.type) ?? []), e]);
      const event = fc.oneof(...[...byType.values()].map((group) => fc.constantFrom(...group)));
      fc.assert(
        fc.property(
          fc.array(event, { maxLength: MAX_EVENTS }),
          fc.nat(MAX_EVENTS),
          fc.array(fc.boolean(), { minLength: MAX_EVENTS, maxLength: MAX_EVENTS }),
          (events, restoreAt, passivateAt) => {
            const live = createActor(logic, { input: spec.input }).start();
            let cell = Cell.of(logic, { input: spec.input });
            const same = (where: string) => {
              const a = live.getSnapshot();
              // Read as a passive cell answers (no resolving), then as a full snapshot.
              const tags = [...allTags].filter((t) => cell.hasTag(t));
              assert.deepEqual(
                { value: cell.value, context: cell.context, status: cell.status, tags },
                {
                  value: a.value,
                  context: a.context,
                  status: a.status,
                  tags: [...allTags].filter((t) => a.hasTag(t)),
                },
                `${name}: ${where} (read passively)`,
              );
              const b = cell.getSnapshot();
              assert.deepEqual(
                { value: b.value, context: b.context, status: b.status },
                { value: a.value, context: a.context, status: a.status },
                `${name}: ${where}`,
              );
            };
            same('initial');
            events.forEach((raw, i) => {
              // The store's round trip: what a restart restores the actor from.
              if (i === restoreAt) cell = Cell.of(logic, { snapshot: cell.getPersistedSnapshot() });
              const e = restamp(raw, 1_000 + i);
              live.send(e);
              cell.send(e);
              // An idle actor passivated (as the least recently used are): read passively, then
              // resolved by `same`, and passivated again to be stepped from its value and context.
              if (passivateAt[i]) cell.passivate();
              same(
                `after ${events
                  .slice(0, i + 1)
                  .map(label)
                  .join(', ')}`,
              );
              if (passivateAt[i]) cell.passivate();
            });
            live.stop();
          },
        ),
        fcParams(200),
      );
      // And every alphabet event from every reachable state, whatever the random runs drew.
      for (const [from, snap] of explore()) {
        const persisted = logic.getPersistedSnapshot(snap);
        for (const raw of alphabet) {
          const e = restamp(raw, 999_999);
          const live = createActor(logic, { snapshot: persisted }).start();
          const cell = Cell.of(logic, { snapshot: persisted });
          live.send(e);
          cell.send(e);
          const [a, b] = [live.getSnapshot(), cell.getSnapshot()];
          live.stop();
          assert.deepEqual(
            { value: b.value, context: b.context, status: b.status },
            { value: a.value, context: a.context, status: a.status },
            `${name}: ${from} --${label(e)}-->`,
          );
        }
      }
    });

    it('reaches exactly the table’s states', () => {
      const reached = [...explore().keys()].sort();
      assert.deepEqual(reached, [...tableStates].sort(), `${name}: states the machine reaches`);
      // The table on its own reaches them all too.
      const byTable = new Set<string>([table.initial]);
      const queue: string[] = [table.initial];
      for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
        for (const e of alphabet) {
          const to = tableSays(s, e)?.to ?? s;
          if (!byTable.has(to)) {
            byTable.add(to);
            queue.push(to);
          }
        }
      }
      assert.deepEqual([...byTable].sort(), [...tableStates].sort(), `${name}: table reachability`);
    });

    it('takes the table’s transition for every reachable state and alphabet event', () => {
      const mismatches: string[] = [];
      for (const [from, snap] of explore()) {
        for (const raw of alphabet) {
          const e = restamp(raw, 999_999);
          const next = step(snap, e);
          const to = leaf(next.value);
          const want = tableSays(from, e);
          const what = `${name}: in ${from} on ${label(e)}`;
          if (want && to !== want.to) {
            mismatches.push(`${what}: machine → ${to}, table → ${want.to} (${want.why})`);
          } else if (!want && to !== from) {
            mismatches.push(`${what}: machine → ${to}, table → ${from} (ignored: no row)`);
          } else if (
            (!want || terminal.has(from)) &&
            (differs(next.value, snap.value) || differs(next.context, snap.context))
          ) {
            const why = terminal.has(from) ? `${from} is terminal` : 'ignored per table';
            mismatches.push(`${what}: ${why}, but the machine changed its context`);
          } else if (next.status === 'done' && !terminal.has(to)) {
            mismatches.push(`${what}: the machine is done in ${to}, not terminal per the table`);
          }
        }
      }
      if (mismatches.length > 0) {
        assert.fail(
          `${mismatches.length} transition(s) differ from the table:\n${mismatches.join('\n')}`,
        );
      }
    });
  });
}

const input = { model: 'm1', version: 1 };
/** The domain names server-replica states by a type only: its list, checked both ways by tsc. */
const serverReplicaStates: Record<ServerReplicaState, true> = { connected: true, draining: true };

describeMachine('modelVersion', {
  machine: machines.modelVersion,
  input,
  table: tables.modelVersion,
  domainStates: MODEL_STATES,
});
describeMachine('modelReplica', {
  machine: machines.modelReplica,
  input: { ...input, server: 's1', idx: 0 },
  table: tables.modelReplica,
  domainStates: REPLICA_STATES,
});
describeMachine('server', {
  machine: machines.server,
  input: { name: 's1', shared: true, at: 0 },
  table: tables.server,
});
describeMachine('serverReplica', {
  machine: machines.serverReplica,
  input: {
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
    availableMemoryBytes: 1000,
    at: 0,
  },
  table: tables.serverReplica,
  domainStates: Object.keys(serverReplicaStates),
});
describeMachine('pipelineVersion', {
  machine: machines.pipelineVersion,
  input: { name: 'p1', version: 1, uid: 'cg5fm6c6dpcs73c4qhe0', at: 0, modelsReady: false },
  table: tables.pipelineVersion,
  domainStates: PIPELINE_STATES,
});
describeMachine('experiment', {
  machine: machines.experiment,
  input: { name: 'e' },
  table: tables.experiment,
});
