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
    const { records: restore } = await restoreRecords(storeOf(fixtures('v1')));
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

  it('records holding values the wire cannot carry are quarantined; the rest restores', async () => {
    const records = fixtures('v1');
    const bad = (key: string, edit: (v: Record<string, unknown>) => void): StoredRecord => {
      const r = records.find((x) => x.key === key);
      assert.ok(r, key);
      const value = structuredClone(r.value) as Record<string, unknown>;
      edit(value);
      return { ...r, value };
    };
    interface Versions {
      versions: { version: number; definition: { meta: object } }[];
    }
    const tooHigh = bad('model:iris', (v) => {
      (v as unknown as Versions).versions[0]!.version = 2 ** 32;
    });
    const badGeneration = bad('model:iris2', (v) => {
      const [first] = (v as unknown as Versions).versions;
      first!.definition.meta = { name: 'iris2', kubernetesMeta: { namespace: '', generation: -1 } };
    });
    const rest = records.filter((r) => r.key !== 'model:iris' && r.key !== 'model:iris2');
    const { records: restored, quarantined } = await restoreRecords(
      storeOf([...rest, tooHigh, badGeneration]),
    );
    assert.deepEqual(quarantined, [
      { key: 'model:iris', why: 'version 4294967296 is not a whole number from 1 to 4294967295' },
      {
        key: 'model:iris2',
        why: 'kubernetesMeta.generation -1 is not a whole number from 0 to 4294967295',
      },
    ]);
    assert.deepEqual(
      restored.map((r) => r.key),
      rest.map((r) => r.key),
    );
    const w = new TestWorld({ restore: restored, now: 2000 });
    assert.deepEqual(
      w.system.listModels(false).map((m) => m.name),
      ['old'],
    );
  });
});
