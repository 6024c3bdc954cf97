/**
 * The memory store: the SnapshotStore contract (a "restart" hands the records to a new instance,
 * as if memory survived), plus what only it promises.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { describeSnapshotStoreContract } from '../../support/store-contract.js';

describeSnapshotStoreContract('memory', () => {
  let current = new MemoryStore();
  return Promise.resolve({
    store: current,
    reopen: async () => {
      current = new MemoryStore(await current.load());
      return current;
    },
    cleanup: () => Promise.resolve(),
  });
});

describe('MemoryStore', () => {
  it('refuses bad keys, schemas and non-JSON values, applying nothing of the batch', async () => {
    const store = new MemoryStore();
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const bad = [
      {
        put: [
          { key: 'ok', schema: 1, value: 1 },
          { key: '', schema: 1, value: 1 },
        ],
        del: [],
      },
      { put: [{ key: 'x'.repeat(1025), schema: 1, value: 1 }], del: [] },
      { put: [{ key: 'ok', schema: Number.NaN, value: 1 }], del: [] },
      { put: [{ key: 'ok', schema: 1, value: undefined }], del: [] },
      { put: [{ key: 'ok', schema: 1, value: 10n }], del: [] },
      { put: [{ key: 'ok', schema: 1, value: cyclic }], del: [] },
      { put: [{ key: 'ok', schema: 1, value: 1 }], del: [''] },
    ];
    for (const batch of bad) await assert.rejects(store.write(batch), /memory store: .*key|'ok'/);
    assert.deepEqual(await store.load(), []);
    assert.equal(store.health().ok, true);
  });

  it('starts from the records it is given (copies)', async () => {
    const value = { a: [1] };
    const store = new MemoryStore([{ key: 'k', schema: 3, value }]);
    value.a.push(2);
    assert.deepEqual(await store.load(), [{ key: 'k', schema: 3, value: { a: [1] } }]);
  });

  it('is unhealthy once closed', async () => {
    const store = new MemoryStore();
    await store.close();
    assert.equal(store.health().ok, false);
    await assert.rejects(store.write({ put: [], del: [] }), /memory store is closed/);
  });
});
