/**
 * Records written by earlier versions must keep loading: every file under test/fixtures/snapshots/
 * (one folder per record schema) is restored with today's machines and migrations.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { restoreRecords } from '../../../src/store/persistence.js';
import type { StoredRecord } from '../../../src/store/ports.js';
import { TestWorld } from '../../support/system.js';

const ROOT = fileURLToPath(new URL('../../fixtures/snapshots/', import.meta.url));

function fixtures(version: string): StoredRecord[] {
  const dir = join(ROOT, version);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as StoredRecord);
}

const storeOf = (records: StoredRecord[]) => ({
  load: () => Promise.resolve(records),
  write: () => Promise.resolve(),
  health: () => ({ ok: true, detail: '' }),
  close: () => Promise.resolve(),
});

describe('persisted snapshot fixtures', () => {
  it('v1 (a server with two replicas, models, a retired version, a pipeline, experiments) restores', async () => {
    const restore = await restoreRecords(storeOf(fixtures('v1')));
    const w = new TestWorld({ restore, now: 2000 });
    assert.deepEqual(
      w.system
        .listModels(true)
        .map((m) => [m.name, m.deleted, m.versions.map((v) => `${v.version}:${v.state}`)]),
      [
        ['iris', false, ['1:available']],
        ['iris2', false, ['1:available', '2:progressing']],
        ['old', true, ['1:terminated']],
      ],
    );
    assert.equal(w.system.server('mlserver')?.expectedReplicas, 2);
    assert.deepEqual(
      w.system.server('mlserver')?.replicas.map((r) => r.idx),
      [0, 1],
    );
    const p = w.system.pipeline('chain', false)?.versions[0];
    assert.equal(p?.state, 'ready');
    assert.equal(p.modelsReady, true);
    assert.equal(w.system.experiment('ab')?.active, true);
    assert.equal(w.system.experiment('stopped')?.deleted, true);
  });

  it('a record of an unknown schema is refused naming it', async () => {
    const [first] = fixtures('v1');
    assert.ok(first);
    await assert.rejects(restoreRecords(storeOf([{ ...first, schema: 99 }])), {
      message: `record ${first.key} has schema 99; this scheduler reads schema 1`,
    });
  });
});
