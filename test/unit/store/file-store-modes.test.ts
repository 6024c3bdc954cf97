/**
 * The file store keeps its records private: the directory is created 0700 and every file 0600
 * under the usual umask 022 (records hold storage credentials), and a store made with looser
 * modes is tightened on open, saying which paths were.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openFileStore } from '../../../src/store/file/file-store.js';

const mode = async (path: string) => (await stat(path)).mode & 0o777;
const record = { key: 'model:iris', schema: 1, value: { rclone: 'secret' } };

let root: string;
let umask: number;
before(async () => {
  // What most systems run with; the files must be private anyway.
  umask = process.umask(0o022);
  root = await mkdtemp(join(tmpdir(), 'mlsched-file-modes-'));
});
after(async () => {
  process.umask(umask);
  await rm(root, { recursive: true, force: true });
});

/** Every file of `dir` with its mode. */
async function modes(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const name of await readdir(dir)) out[name] = await mode(join(dir, name));
  return out;
}

describe('file store permissions', () => {
  it('creates its directory (and missing parents) 0700 and its files 0600', async () => {
    const dir = join(root, 'new', 'store');
    const store = await openFileStore(dir, { compactMinBytes: 1, compactRatio: 0 });
    await store.write({ put: [record], del: [] });
    // A compaction ran too: its log and snapshot are new files.
    await store.write({ put: [{ ...record, key: 'model:iris2' }], del: [] });
    await store.close();
    const reopened = await openFileStore(dir);
    assert.equal(await mode(join(root, 'new')), 0o700);
    assert.equal(await mode(dir), 0o700);
    const files = await modes(dir);
    assert.ok(Object.keys(files).some((f) => f.startsWith('log.')));
    assert.ok('lock' in files, 'the lock is held');
    for (const [name, m] of Object.entries(files)) assert.equal(m, 0o600, name);
    await reopened.close();
  });

  it('tightens a store made with looser modes on open, and says so', async () => {
    const dir = join(root, 'loose');
    await (await openFileStore(dir)).close();
    await chmod(dir, 0o755);
    const loose = Object.keys(await modes(dir));
    for (const name of loose) await chmod(join(dir, name), 0o644);
    const warnings: { obj: object; msg: string }[] = [];
    const store = await openFileStore(dir, {
      logger: { warn: (obj, msg) => warnings.push({ obj, msg }) },
    });
    assert.equal(await mode(dir), 0o700);
    for (const [name, m] of Object.entries(await modes(dir))) assert.equal(m, 0o600, name);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]?.msg ?? '', /now private: 0700 for the directory, 0600 for files/);
    assert.deepEqual(warnings[0]?.obj, {
      dir,
      tightened: [
        { path: dir, was: '0755' },
        ...loose.map((name) => ({ path: join(dir, name), was: '0644' })),
      ],
    });
    await store.close();

    // Private already: nothing to say.
    warnings.length = 0;
    await (
      await openFileStore(dir, { logger: { warn: (obj, msg) => warnings.push({ obj, msg }) } })
    ).close();
    assert.deepEqual(warnings, []);
  });
});
