/**
 * The persistence subscriber against a scripted store: changes are coalesced per key and written
 * one batch at a time, durable() waits for the store, failures are retried with the latest state.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Persistence, SCHEMA_VERSION } from '../../../src/store/persistence.js';
import type { SnapshotStore, StoredRecord, WriteBatch } from '../../../src/store/ports.js';
import { def, TestWorld } from '../../support/system.js';

/** A store whose writes wait until the test settles them. */
class ScriptedStore implements SnapshotStore {
  readonly batches: WriteBatch[] = [];
  private pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  load(): Promise<StoredRecord[]> {
    return Promise.resolve([]);
  }
  write(batch: WriteBatch): Promise<void> {
    this.batches.push(batch);
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }
  health() {
    return { ok: true, detail: '' };
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  settle(ok = true): void {
    for (const p of this.pending.splice(0)) {
      if (ok) p.resolve();
      else p.reject(new Error('store down'));
    }
  }
  keys(i: number): string[] {
    const b = this.batches[i];
    return b ? [...b.put.map((r) => r.key), ...b.del.map((k) => `-${k}`)].sort() : [];
  }
}

const silent = { info: () => undefined, warn: () => undefined };
const tick = () => new Promise((r) => setImmediate(r));

describe('persistence', () => {
  it('coalesces a tick of changes into one batch of the changed records only', async () => {
    const w = new TestWorld();
    const store = new ScriptedStore();
    const p = new Persistence(w.system, store, { log: silent });
    for (let i = 0; i < 50; i++) w.system.loadModel(def(`m${i}`, { replicas: 0 }));
    await tick();
    assert.equal(store.batches.length, 1);
    assert.equal(store.batches[0]?.put.length, 50);
    assert.ok(store.batches[0].put.every((r) => r.schema === SCHEMA_VERSION));
    store.settle();
    await tick();
    w.system.loadModel(def('m7', { replicas: 0, uri: 'gs://v2' }));
    await tick();
    assert.deepEqual(store.keys(1), ['model:m7']);
    await p.close(0);
  });

  it('many changes at once go in batches of at most maxBatch; durable() waits for the last', async () => {
    const w = new TestWorld();
    const store = new ScriptedStore();
    const p = new Persistence(w.system, store, { log: silent, maxBatch: 20 });
    for (let i = 0; i < 50; i++) w.system.loadModel(def(`m${i}`, { replicas: 0 }));
    let done = false;
    const durable = p.durable().then(() => (done = true));
    const sizes: number[] = [];
    for (let b = 0; b < 3; b++) {
      await tick(); // the previous write's end schedules the next one
      await tick();
      sizes.push(store.batches[b]?.put.length ?? 0);
      assert.equal(done, false, `durable before batch ${b + 1} of 3 is stored`);
      store.settle();
    }
    await durable;
    assert.deepEqual(sizes, [20, 20, 10]);
    assert.equal(new Set(store.batches.flatMap((b) => b.put.map((r) => r.key))).size, 50);
    await p.close(0);
  });

  it('durable() resolves once its changes are stored, while later ones keep coming', async () => {
    const w = new TestWorld();
    const store = new ScriptedStore();
    const p = new Persistence(w.system, store, { log: silent, maxBatch: 20 });
    for (let i = 0; i < 50; i++) w.system.loadModel(def(`m${i}`, { replicas: 0 }));
    let done = false;
    const durable = p.durable().then(() => (done = true));
    for (let b = 0; b < 3; b++) {
      await tick();
      await tick();
      // A steady stream of new changes: the store never catches up with all of them.
      for (let i = 0; i < 25; i++) w.system.loadModel(def(`n${b}-${i}`, { replicas: 0 }));
      assert.equal(done, false, `durable before batch ${b + 1} of 3 is stored`);
      store.settle();
    }
    await durable;
    assert.ok(p.pending > 0, 'later changes still wait');
    await p.close(0);
  });

  it('durable() resolves only once the store has the changes', async () => {
    const w = new TestWorld();
    const store = new ScriptedStore();
    const p = new Persistence(w.system, store, { log: silent });
    w.system.loadModel(def('a', { replicas: 0 }));
    let done = false;
    const durable = p.durable().then(() => (done = true));
    await tick();
    await tick();
    assert.equal(done, false);
    // Changes during the write go in the next batch; durable() of now waits for that one too.
    w.system.loadModel(def('b', { replicas: 0 }));
    let laterDone = false;
    const later = p.durable().then(() => (laterDone = true));
    store.settle();
    await durable;
    assert.equal(laterDone, false);
    await tick();
    assert.deepEqual(store.keys(1), ['model:b']);
    store.settle();
    await later;
    await p.close(0);
  });

  it('a failing store is retried with the latest state; the scheduler keeps serving', async () => {
    const w = new TestWorld();
    const store = new ScriptedStore();
    const p = new Persistence(w.system, store, { log: silent, retryBaseMs: 5, retryMaxMs: 10 });
    w.system.loadModel(def('a', { replicas: 0 }));
    await tick();
    store.settle(false);
    await tick();
    assert.equal(p.healthy, false);
    assert.equal(p.pending, 1);
    w.system.loadModel(def('a', { replicas: 0, uri: 'gs://newer' }));
    assert.equal(w.system.model('a', false)?.versions[0]?.version, 2);
    // The retry comes after the back-off: waited for, not assumed within a fixed time.
    for (let i = 0; i < 200 && store.batches.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const retried = store.batches.at(-1);
    const record = retried?.put.find((r) => r.key === 'model:a')?.value as {
      versions: { version: number }[];
    };
    assert.deepEqual(
      record.versions.map((v) => v.version),
      [1, 2],
    );
    store.settle();
    await p.durable();
    assert.equal(p.healthy, true);
    assert.equal(p.stats.failures, 1);
    await p.close(0);
  });

  it('with refuseOnFailure, a failed write refuses the calls waiting on it at once', async () => {
    const w = new TestWorld();
    const store = new ScriptedStore();
    const p = new Persistence(w.system, store, {
      log: silent,
      retryBaseMs: 5,
      retryMaxMs: 10,
      refuseOnFailure: true,
    });
    w.system.loadModel(def('a', { replicas: 0 }));
    const waiting = p.durable();
    await tick();
    store.settle(false);
    await assert.rejects(waiting, /the change was not stored: store down/);
    // The change is still retried (after the back-off: waited for, not assumed within a fixed
    // time), and a later call is told once it is stored.
    for (let i = 0; i < 200 && store.batches.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.deepEqual(store.keys(1), ['model:a']);
    w.system.loadModel(def('b', { replicas: 0 }));
    const later = { stored: false };
    const durable = p.durable().then(() => (later.stored = true));
    for (let i = 0; i < 20 && !later.stored; i++) {
      store.settle();
      await new Promise((r) => setTimeout(r, 5));
    }
    await durable;
    assert.deepEqual(store.keys(2), ['model:b']);
    await p.close(0);
  });

  it('with refuseOnFailure, close() during a failing write still closes (nothing thrown)', async () => {
    const w = new TestWorld();
    const store = new ScriptedStore();
    const p = new Persistence(w.system, store, { log: silent, refuseOnFailure: true });
    w.system.loadModel(def('a', { replicas: 0 }));
    await tick();
    const closed = p.close(5000);
    store.settle(false);
    await closed;
  });

  it('a store that was unreachable is retried as soon as it is back, not after the back-off', async () => {
    const w = new TestWorld();
    const store = new ScriptedStore();
    let reachable = true;
    store.health = () => ({ ok: reachable, detail: '' });
    const p = new Persistence(w.system, store, { log: silent, retryBaseMs: 60_000 });
    w.system.loadModel(def('a', { replicas: 0 }));
    await tick();
    reachable = false;
    store.settle(false);
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(store.batches.length, 1, 'no retry while unreachable (back-off of a minute)');
    reachable = true;
    // Polled every 50 ms: retried soon (well before the minute of back-off), waited for here.
    const written = (): number => store.batches.length;
    for (let i = 0; i < 400 && written() < 2; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(written(), 2, 'retried once reachable again');
    assert.deepEqual(store.keys(1), ['model:a']);
    store.settle();
    await p.durable();
    await p.close(0);
  });

  it('a resource that is gone is deleted from the store', async () => {
    const w = new TestWorld({ deletedTtlMs: 1000 });
    const store = new ScriptedStore();
    const p = new Persistence(w.system, store, { log: silent });
    w.system.loadModel(def('a', { replicas: 0 }));
    w.system.unloadModel('a');
    await tick();
    store.settle();
    await tick();
    w.advance(1000);
    await tick();
    assert.deepEqual(store.keys(store.batches.length - 1), ['-model:a']);
    store.settle();
    await p.close(0);
  });
});
