/**
 * The conformance suite of the SnapshotStore port (src/store/ports.ts): every implementation (memory,
 * file, Redis) runs the same tests through `describeSnapshotStoreContract` (BullMQ-style adapter
 * conformance), so they are interchangeable behind `--store`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SnapshotStore, StoredRecord, WriteBatch } from '../../src/store/ports.js';

/** A fresh, empty store with the means to "restart" it and to remove what it left behind. */
export interface StoreHarness {
  readonly store: SnapshotStore;
  /**
   * Opens the same data again, as a restarted process would. The suite closes the previous store
   * first (stores that lock their data may refuse to open it twice).
   */
  reopen(): Promise<SnapshotStore>;
  /** Removes the data (temp directory, key prefix). Called once, after every store is closed. */
  cleanup(): Promise<void>;
}

/** What each test gets: the current store and a restart that closes it and reopens the data. */
interface Ctx {
  readonly store: SnapshotStore;
  /** Closes `store` (once) and returns a reopened store, which becomes `store`. */
  restart(): Promise<SnapshotStore>;
  /** Closes a store of this test (once). */
  close(store: SnapshotStore): Promise<void>;
}

const rec = (key: string, value: unknown, schema = 1): StoredRecord => ({ key, schema, value });
const put = (...records: StoredRecord[]): WriteBatch => ({ put: records, del: [] });
const del = (...keys: string[]): WriteBatch => ({ put: [], del: keys });

/** Records sorted by key, as plain objects, for deep comparison. */
async function loaded(store: SnapshotStore): Promise<StoredRecord[]> {
  const records = await store.load();
  return records
    .map((r) => ({ key: r.key, schema: r.schema, value: r.value }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function sorted(records: StoredRecord[]): StoredRecord[] {
  return [...records].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** JSON values of every kind the port allows. */
const VALUES: Record<string, unknown> = {
  nested: { a: { b: { c: [1, { d: 'deep' }, [2, [3, []]]] } }, empty: {} },
  array: [0, -1, 2.5, 'two', null, true, false, { x: [] }],
  unicode: 'héllo wörld ✓ 日本語 🎉 \u2028\u2029 "quoted" \\ back\nslash\ttab \u0000 \uffff',
  zero: 0,
  negative: -42,
  fraction: -0.000123,
  large: Number.MAX_SAFE_INTEGER,
  tiny: 5e-324,
  huge: 1.7976931348623157e308,
  null: null,
  true: true,
  false: false,
  emptyString: '',
  emptyArray: [],
  emptyObject: {},
  keys: { 'odd key: "quoted"\n': 1, '': 2, ünï: 3, __proto__x: 4 },
};

/**
 * Registers the conformance tests of `name`. `open` gives a fresh, empty store per test; the suite
 * closes every store it opened before calling `cleanup`.
 */
export function describeSnapshotStoreContract(
  name: string,
  open: () => Promise<StoreHarness>,
): void {
  /** Runs `body` with a fresh store, then closes what is still open and cleans up. */
  async function withStore(body: (ctx: Ctx) => Promise<void>): Promise<void> {
    const harness = await open();
    const closed = new Set<SnapshotStore>();
    const opened: SnapshotStore[] = [harness.store];
    const close = async (store: SnapshotStore) => {
      if (closed.has(store)) return;
      closed.add(store);
      await store.close();
    };
    const ctx = {
      store: harness.store,
      close,
      restart: async () => {
        await close(ctx.store);
        const store = await harness.reopen();
        opened.push(store);
        ctx.store = store;
        return store;
      },
    };
    try {
      await body(ctx);
    } finally {
      for (const store of opened) await close(store);
      await harness.cleanup();
    }
  }

  describe(`SnapshotStore contract: ${name}`, () => {
    it('loads nothing from a new store, and is healthy', () =>
      withStore(async ({ store }) => {
        assert.deepEqual(await store.load(), []);
        assert.equal(store.health().ok, true, store.health().detail);
      }));

    it('loads what was put', () =>
      withStore(async ({ store }) => {
        await store.write(put(rec('model:a', { replicas: 1 }), rec('server:s', { memory: 10 })));
        assert.deepEqual(await loaded(store), [
          rec('model:a', { replicas: 1 }),
          rec('server:s', { memory: 10 }),
        ]);
      }));

    it('an empty batch resolves and changes nothing', () =>
      withStore(async ({ store }) => {
        await store.write(put(rec('k', 1)));
        await store.write({ put: [], del: [] });
        assert.deepEqual(await loaded(store), [rec('k', 1)]);
      }));

    it('a later put replaces the record (value and schema)', () =>
      withStore(async (ctx) => {
        await ctx.store.write(put(rec('model:a', { v: 1 }, 1)));
        await ctx.store.write(put(rec('model:a', { v: 2, extra: [1] }, 2)));
        assert.deepEqual(await loaded(ctx.store), [rec('model:a', { v: 2, extra: [1] }, 2)]);
        assert.deepEqual(await loaded(await ctx.restart()), [
          rec('model:a', { v: 2, extra: [1] }, 2),
        ]);
      }));

    it('del removes the record, also after a restart', () =>
      withStore(async (ctx) => {
        await ctx.store.write(put(rec('a', 1), rec('b', 2)));
        await ctx.store.write(del('a'));
        assert.deepEqual(await loaded(ctx.store), [rec('b', 2)]);
        assert.deepEqual(await loaded(await ctx.restart()), [rec('b', 2)]);
      }));

    it('del of a missing key is fine', () =>
      withStore(async (ctx) => {
        await ctx.store.write(del('never-written'));
        await ctx.store.write({ put: [rec('a', 1)], del: ['also-missing'] });
        assert.deepEqual(await loaded(ctx.store), [rec('a', 1)]);
        assert.deepEqual(await loaded(await ctx.restart()), [rec('a', 1)]);
      }));

    it('a batch puts and deletes different keys together', () =>
      withStore(async (ctx) => {
        await ctx.store.write(put(rec('a', 1), rec('b', 2)));
        await ctx.store.write({ put: [rec('c', 3), rec('a', 10)], del: ['b'] });
        const expected = [rec('a', 10), rec('c', 3)];
        assert.deepEqual(await loaded(ctx.store), expected);
        assert.deepEqual(await loaded(await ctx.restart()), expected);
      }));

    it('batches apply in the order write was called, even when concurrent', () =>
      withStore(async (ctx) => {
        await Promise.all([ctx.store.write(put(rec('k', 1))), ctx.store.write(put(rec('k', 2)))]);
        assert.deepEqual(await loaded(ctx.store), [rec('k', 2)]);
        const writes: Promise<void>[] = [];
        for (let i = 0; i < 50; i++) {
          writes.push(ctx.store.write(i % 7 === 6 ? del('k') : put(rec('k', i))));
        }
        writes.push(ctx.store.write(put(rec('k', 'last'))));
        await Promise.all(writes);
        assert.deepEqual(await loaded(ctx.store), [rec('k', 'last')]);
        assert.deepEqual(await loaded(await ctx.restart()), [rec('k', 'last')]);
      }));

    it('values of every JSON kind come back deep-equal after a restart', () =>
      withStore(async (ctx) => {
        const records = Object.entries(VALUES).map(([key, value]) => rec(`value:${key}`, value));
        records.push(rec('value:all', VALUES));
        await ctx.store.write(put(...records));
        assert.deepEqual(await loaded(ctx.store), sorted(records));
        assert.deepEqual(await loaded(await ctx.restart()), sorted(records));
      }));

    it('keeps schema numbers', () =>
      withStore(async (ctx) => {
        const records = [
          rec('s0', 'a', 0),
          rec('s1', 'b', 1),
          rec('s2', 'c', 2),
          rec('s9', 'd', 9),
        ];
        await ctx.store.write(put(...records));
        assert.deepEqual(await loaded(ctx.store), records);
        assert.deepEqual(await loaded(await ctx.restart()), records);
      }));

    it('stored values are copies: changing a written or loaded object changes nothing', () =>
      withStore(async ({ store }) => {
        const value = { list: [1, 2], inner: { x: 1 } };
        const write = store.write(put(rec('k', value)));
        value.list.push(3);
        value.inner.x = 99;
        await write;
        const [first] = await store.load();
        assert.ok(first);
        (first.value as { inner: { x: number } }).inner.x = -1;
        assert.deepEqual(await loaded(store), [rec('k', { list: [1, 2], inner: { x: 1 } })]);
      }));

    it('records survive close() and reopen()', () =>
      withStore(async (ctx) => {
        await ctx.store.write(put(rec('model:a', { n: 1 }), rec('model:b', { n: 2 })));
        await ctx.store.write({ put: [rec('model:c', { n: 3 })], del: ['model:a'] });
        const expected = [rec('model:b', { n: 2 }), rec('model:c', { n: 3 })];
        const again = await ctx.restart();
        assert.deepEqual(await loaded(again), expected);
        await again.write(put(rec('model:d', { n: 4 })));
        assert.deepEqual(await loaded(await ctx.restart()), [
          ...expected,
          rec('model:d', { n: 4 }),
        ]);
      }));

    it('10,000 records written in batches of 500 load back complete', () =>
      withStore(async (ctx) => {
        const expected: StoredRecord[] = [];
        for (let b = 0; b < 20; b++) {
          const batch: StoredRecord[] = [];
          for (let i = 0; i < 500; i++) {
            const n = b * 500 + i;
            batch.push(rec(`model:m${String(n).padStart(5, '0')}`, { n, text: 'x'.repeat(100) }));
          }
          expected.push(...batch);
          await ctx.store.write(put(...batch));
        }
        assert.deepEqual(await loaded(ctx.store), expected);
        assert.deepEqual(await loaded(await ctx.restart()), expected);
      }));

    it('concurrent writes all resolve and all land', () =>
      withStore(async (ctx) => {
        const expected = Array.from({ length: 200 }, (_, i) =>
          rec(`k${String(i).padStart(3, '0')}`, i),
        );
        await Promise.all(expected.map((r) => ctx.store.write(put(r))));
        assert.deepEqual(await loaded(ctx.store), expected);
        assert.deepEqual(await loaded(await ctx.restart()), expected);
      }));

    it('a write after close() rejects', () =>
      withStore(async (ctx) => {
        const { store } = ctx;
        await store.write(put(rec('a', 1)));
        await ctx.close(store);
        await assert.rejects(store.write(put(rec('b', 2))));
        assert.deepEqual(await loaded(await ctx.restart()), [rec('a', 1)]);
      }));
  });
}
