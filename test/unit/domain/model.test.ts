/**
 * Comparing definitions (domain/model.ts): `sameJson` says two values are equal exactly when their
 * JSON texts with sorted keys are, whatever the key order and the undefined properties; a spec's
 * runtime info never counts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { diffDefinitions, sameJson, type ModelDefinition } from '../../../src/domain/model.js';

/** The oracle: a JSON text with keys sorted and undefined properties dropped. */
function text(value: unknown): string {
  return JSON.stringify([value], (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>)
            .filter(([, x]) => x !== undefined)
            .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
        )
      : v,
  );
}

/** JSON-like values with undefined in places, over few keys so that equal pairs are common. */
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, undefined, true, false, 0, 1, '', 'a'),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('value'), { maxKeys: 3 }),
  ),
}));

/** The same value with each object's keys in another order. */
function shuffled(v: unknown, seed: number): unknown {
  if (Array.isArray(v)) return v.map((x: unknown) => shuffled(x, seed));
  if (v === null || typeof v !== 'object') return v;
  const entries = Object.entries(v as Record<string, unknown>);
  if (seed % 2 === 1) entries.reverse();
  return Object.fromEntries(entries.map(([k, x]) => [k, shuffled(x, seed >> 1)]));
}

describe('sameJson', () => {
  it('agrees with comparing sorted JSON texts', () => {
    fc.assert(
      fc.property(value, value, (a, b) => {
        assert.equal(sameJson(a, b), text(a) === text(b));
      }),
      { numRuns: 5000 },
    );
  });

  it('ignores key order and undefined properties', () => {
    fc.assert(
      fc.property(value, fc.nat(), (a, seed) => {
        assert.ok(sameJson(a, shuffled(a, seed)));
      }),
    );
    assert.ok(sameJson({ a: 1, b: undefined }, { a: 1 }));
    assert.ok(sameJson([undefined], [null]));
    assert.ok(!sameJson({ a: 1 }, { a: 1, b: null }));
    assert.ok(!sameJson({ b: null }, { a: null }), 'a missing property is not null');
    assert.ok(!sameJson([1, 2], [2, 1]));
    assert.ok(!sameJson({}, []));
  });
});

describe('diffDefinitions', () => {
  const definition = (spec: Partial<ModelDefinition['spec']>): ModelDefinition =>
    ({
      meta: { name: 'iris' },
      spec: { uri: 'gs://models/iris', requirements: ['sklearn'], ...spec },
      deployment: { replicas: 1 },
    }) as unknown as ModelDefinition;

  it('a spec differs in what the client gave, never in the runtime info an agent filled in', () => {
    const a = definition({});
    const withInfo = definition({ runtimeInfo: { mlserver: { parallelWorkers: 2 } } } as never);
    assert.deepEqual(diffDefinitions(a, withInfo), {
      meta: false,
      spec: false,
      deployment: false,
      stream: false,
    });
    assert.equal(diffDefinitions(a, definition({ uri: 'gs://models/iris-2' })).spec, true);
  });
});
