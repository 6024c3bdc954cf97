/**
 * The file store: the SnapshotStore contract (plain, and compacting after every write), then what
 * only it promises: torn log tails are cut off, each crash window of a compaction recovers, the
 * files stay bounded, the directory lock, failed appends leave nothing behind, and load speed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  appendFile,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileStoreError } from '../../../src/store/file/errors.js';
import type { FileStoreOptions } from '../../../src/store/file/file-store.js';
import { openFileStore } from '../../../src/store/file/file-store.js';
import { crc32, encodeFrame, scanFrames, tableCrc32 } from '../../../src/store/file/framing.js';
import type { StoredRecord, WriteBatch } from '../../../src/store/ports.js';
import { describeSnapshotStoreContract } from '../../support/store-contract.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mlsched-file-store-'));
  dirs.push(dir);
  return dir;
}

function contract(name: string, options: FileStoreOptions): void {
  describeSnapshotStoreContract(name, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlsched-file-store-'));
    return {
      store: await openFileStore(dir, options),
      reopen: () => openFileStore(dir, options),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  });
}

contract('file', {});
contract('file, compacting after every write', { compactMinBytes: 0, compactRatio: 0 });

const rec = (key: string, value: unknown): StoredRecord => ({ key, schema: 1, value });
const put = (...records: StoredRecord[]): WriteBatch => ({ put: records, del: [] });
/** The log line the store writes for a batch (to forge the files a crash leaves). */
const logLine = (batch: WriteBatch): Buffer =>
  encodeFrame(JSON.stringify({ put: batch.put, del: batch.del }));

async function loaded(dir: string, options: FileStoreOptions = {}): Promise<StoredRecord[]> {
  const store = await openFileStore(dir, options);
  try {
    return sortByKey(await store.load());
  } finally {
    await store.close();
  }
}

/** Polls `condition` until it holds (compactions run in the background). */
async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`);
    await sleep(2);
  }
}

/** FileHandle's prototype, to fake failing system calls. */
async function fileHandlePrototype(dir: string): Promise<FileHandleMethods> {
  const probe = await open(join(dir, 'probe'), 'w');
  await probe.close();
  await rm(join(dir, 'probe'));
  return Object.getPrototypeOf(probe) as FileHandleMethods;
}

interface FileHandleMethods {
  write: (buf: Buffer, off: number, len: number, pos: number) => Promise<unknown>;
  datasync: () => Promise<void>;
  sync: () => Promise<void>;
}

/** Flips the lowest bit of byte `i`. */
function flipBit(buf: Buffer, i: number): void {
  buf.writeUInt8(buf.readUInt8(i) ^ 1, i);
}

function sortByKey(records: StoredRecord[]): StoredRecord[] {
  return [...records].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

async function files(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** Writes `batches` to a new store in `dir` (no compaction) and closes it. */
async function seed(dir: string, batches: WriteBatch[]): Promise<void> {
  const store = await openFileStore(dir);
  for (const b of batches) await store.write(b);
  await store.close();
}

const three = [put(rec('a', 1)), put(rec('b', { x: 'two' })), { put: [rec('c', 3)], del: ['a'] }];
const afterThree = [rec('b', { x: 'two' }), rec('c', 3)];

describe('FileStore framing', () => {
  it('the table CRC-32 matches the check value and the native one', () => {
    assert.equal(tableCrc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    for (let n = 0; n < 200; n++) {
      const buf = Buffer.from(Array.from({ length: n * 7 }, (_, i) => (i * 31 + n) & 0xff));
      assert.equal(tableCrc32(buf), crc32(buf));
    }
  });

  it('frames round-trip and scanning stops at the first bad frame', () => {
    const lines = ['{"a":1}', '"ünï\\n"', '[]'].map(encodeFrame);
    const good = Buffer.concat(lines);
    assert.deepEqual(
      scanFrames(good).frames.map((f) => f.json),
      ['{"a":1}', '"ünï\\n"', '[]'],
    );
    const flipped = Buffer.from(good);
    flipBit(flipped, (lines[0]?.length ?? 0) + 12);
    assert.equal(scanFrames(flipped).validEnd, lines[0]?.length);
    assert.equal(scanFrames(good.subarray(0, good.length - 1)).frames.length, 2);
  });
});

describe('FileStore torn log tails', () => {
  const half = logLine(put(rec('d', 4)));
  const badCrc = Buffer.from(logLine(put(rec('d', 4))));
  const wrongCrc = (Number.parseInt(badCrc.toString('latin1', 0, 8), 16) + 1) >>> 0;
  badCrc.write(wrongCrc.toString(16).padStart(8, '0'), 0, 'latin1');
  const tails: [string, Buffer][] = [
    ['half a line', half.subarray(0, half.length >> 1)],
    ['a whole line with a bad checksum', badCrc],
    ['zeros (the size grew, the data never came)', Buffer.alloc(4096)],
    ['garbage without a newline', Buffer.from('not a frame at all')],
    ['a torn line followed by a valid one', Buffer.concat([half.subarray(0, 20), half])],
  ];
  for (const [what, tail] of tails) {
    it(`ignores and cuts off ${what}, and later writes survive`, async () => {
      const dir = await tempDir();
      await seed(dir, three);
      const log = join(dir, 'log.1');
      const size = (await stat(log)).size;
      await appendFile(log, tail);

      const store = await openFileStore(dir);
      assert.deepEqual(sortByKey(await store.load()), afterThree);
      assert.equal(store.stats().tornBytesDropped, tail.length);
      assert.match(store.health().detail, /torn bytes/);
      assert.equal((await stat(log)).size, size, 'the torn tail is cut off before appending');
      await store.write(put(rec('e', 5)));
      await store.close();

      assert.deepEqual(await loaded(dir), [...afterThree, rec('e', 5)]);
    });
  }

  it('refuses a damaged snapshot, naming it', async () => {
    const dir = await tempDir();
    await seed(dir, three);
    const store = await openFileStore(dir, { compactMinBytes: 0 });
    await store.write(put(rec('z', 26))); // compacts into snapshot.2.json
    await store.close();
    const snapshot = join(dir, 'snapshot.2.json');
    const buf = await readFile(snapshot);
    flipBit(buf, buf.length - 5);
    await writeFile(snapshot, buf);
    await assert.rejects(openFileStore(dir), (e: unknown) => {
      assert.ok(e instanceof FileStoreError);
      assert.equal(e.code, 'Corrupt');
      assert.ok(e.message.includes(snapshot), e.message);
      return true;
    });
    await rm(snapshot);
    await assert.rejects(openFileStore(dir), /log files \(log\.2\) but no snapshot/);
  });
});

describe('FileStore compaction crash windows', () => {
  it('log.N+1 started, snapshot.N+1 unfinished: replays snapshot.N, log.N and log.N+1', async () => {
    const dir = await tempDir();
    await seed(dir, three);
    await writeFile(
      join(dir, 'log.2'),
      Buffer.concat([logLine(put(rec('d', 4))), logLine({ put: [], del: ['b'] })]),
    );
    await writeFile(join(dir, 'snapshot.2.json.tmp'), '0badc0de {"format":');
    const expected = [rec('c', 3), rec('d', 4)];
    assert.deepEqual(await loaded(dir), expected);
    assert.deepEqual(await files(dir), ['log.1', 'log.2', 'snapshot.1.json']);

    const store = await openFileStore(dir, { compactMinBytes: 0 });
    await store.write(put(rec('e', 5)));
    await store.close();
    assert.deepEqual(await files(dir), ['log.3', 'snapshot.3.json']);
    assert.deepEqual(await loaded(dir), [...expected, rec('e', 5)]);
  });

  it('the first load after opening (the records as parsed then) equals every later one', async () => {
    const dir = await tempDir();
    await seed(dir, three);
    await writeFile(
      join(dir, 'log.2'),
      Buffer.concat([
        logLine(put(rec('d', 4))),
        logLine({ put: [], del: ['b'] }),
        logLine(put(rec('c', 30))),
      ]),
    );
    const store = await openFileStore(dir);
    const first = sortByKey(await store.load());
    const second = sortByKey(await store.load());
    assert.deepEqual(first, second);
    assert.deepEqual(first, [rec('c', 30), rec('d', 4)]);
    // Copies: changing what a load gave changes no later load.
    (first[0] as { value: unknown }).value = 'changed';
    assert.deepEqual(sortByKey(await store.load()), second);
    await store.write(put(rec('e', 5)));
    assert.deepEqual(sortByKey(await store.load()), [...second, rec('e', 5)]);
    await store.close();
  });

  it('snapshot.N+1 durable, older generation not yet deleted: uses N+1, deletes the rest', async () => {
    const dir = await tempDir();
    await seed(dir, three);
    const old = await Promise.all(['snapshot.1.json', 'log.1'].map((f) => readFile(join(dir, f))));
    const store = await openFileStore(dir, { compactMinBytes: 0 });
    await store.write(put(rec('d', 4)));
    await store.close();
    assert.deepEqual(await files(dir), ['log.2', 'snapshot.2.json']);
    await writeFile(join(dir, 'snapshot.1.json'), old[0] ?? '');
    await writeFile(join(dir, 'log.1'), old[1] ?? '');
    assert.deepEqual(await loaded(dir), [...afterThree, rec('d', 4)]);
    assert.deepEqual(await files(dir), ['log.2', 'snapshot.2.json']);
  });

  it('refuses a damaged log that a newer log follows, and a gap in the chain', async () => {
    const dir = await tempDir();
    await seed(dir, three);
    await writeFile(join(dir, 'log.2'), logLine(put(rec('d', 4))));
    await appendFile(join(dir, 'log.1'), 'torn');
    await assert.rejects(openFileStore(dir), (e: unknown) => {
      assert.ok(e instanceof FileStoreError && e.code === 'Corrupt');
      assert.match(e.message, /log\.1 is damaged .* newer log follows/);
      return true;
    });
    const gap = await tempDir();
    await seed(gap, three);
    await writeFile(join(gap, 'log.3'), logLine(put(rec('d', 4))));
    await assert.rejects(
      openFileStore(gap),
      /log\.2 is missing between snapshot\.1\.json and log\.3/,
    );
  });
});

describe('FileStore compaction', () => {
  it('keeps every record and bounds the files while writes continue', async () => {
    const dir = await tempDir();
    const options = { compactMinBytes: 16 * 1024, compactRatio: 1 };
    const store = await openFileStore(dir, options);
    const expected = new Map<string, StoredRecord>();
    let maxBytes = 0;
    for (let round = 0; round < 100; round++) {
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 20; i++) {
        const n = round * 20 + i;
        const r = rec(`model:m${n % 25}`, { n, text: 'é'.repeat(n % 200) });
        expected.set(r.key, r);
        const doomed = `model:m${(n + 7) % 25}`;
        const batch = n % 9 === 0 ? { put: [r], del: [doomed] } : put(r);
        if (n % 9 === 0) expected.delete(doomed);
        writes.push(store.write(batch));
      }
      await Promise.all(writes);
      let bytes = 0;
      for (const f of await readdir(dir)) {
        bytes += (await stat(join(dir, f)).catch(() => ({ size: 0 }))).size; // may be gone by now
      }
      maxBytes = Math.max(maxBytes, bytes);
    }
    assert.deepEqual(sortByKey(await store.load()), sortByKey([...expected.values()]));
    const { compactions } = store.stats();
    assert.ok(compactions >= 10, `${compactions} compactions`);
    await store.close();
    const names = await files(dir);
    assert.equal(names.length, 2, names.join(' '));
    assert.match(names.join(' '), /^log\.(\d+) snapshot\.\1\.json$/);
    // A snapshot (≤ 8 KiB of live data), up to two logs of at most the threshold and one group.
    assert.ok(maxBytes < 64 * 1024, `the files reached ${maxBytes} bytes`);
    assert.deepEqual(await loaded(dir, options), sortByKey([...expected.values()]));
  });
});

describe('FileStore lock', () => {
  const lockOf = async (dir: string): Promise<unknown> =>
    JSON.parse(await readFile(join(dir, 'lock'), 'utf8'));

  it('a second open of the same directory fails while the first is open', async () => {
    const dir = await tempDir();
    const first = await openFileStore(dir);
    assert.deepEqual(await lockOf(dir), {
      pid: process.pid,
      start: ((await lockOf(dir)) as { start: string }).start,
    });
    await assert.rejects(openFileStore(join(dir, '.')), (e: unknown) => {
      assert.ok(e instanceof FileStoreError && e.code === 'Locked');
      assert.ok(e.message.includes(dir), e.message);
      assert.match(e.message, /already open in this process/);
      return true;
    });
    await first.close();
    assert.deepEqual(await files(dir), ['log.1', 'snapshot.1.json'], 'close removes the lock');
    const second = await openFileStore(dir);
    await second.close();
  });

  it('a live process holding the lock keeps it; once it is dead the lock is taken over', async () => {
    const dir = await tempDir();
    await seed(dir, three);
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], {
      stdio: 'ignore',
    });
    await once(holder, 'spawn');
    const pid = holder.pid ?? 0;
    await writeFile(join(dir, 'lock'), JSON.stringify({ pid }));
    try {
      await assert.rejects(openFileStore(dir), (e: unknown) => {
        assert.ok(e instanceof FileStoreError && e.code === 'Locked');
        assert.ok(e.message.includes(`locked by pid ${pid}`), e.message);
        assert.ok(e.message.includes(join(dir, 'lock')), e.message);
        return true;
      });
      // Same pid, but a different process start time: the pid was reused, the lock is stale.
      await writeFile(join(dir, 'lock'), JSON.stringify({ pid, start: '1' }));
      const store = await openFileStore(dir);
      await store.close();
      await writeFile(join(dir, 'lock'), JSON.stringify({ pid }));
    } finally {
      holder.kill('SIGKILL');
      await once(holder, 'exit');
    }
    const store = await openFileStore(dir);
    assert.deepEqual(sortByKey(await store.load()), afterThree);
    assert.equal(((await lockOf(dir)) as { pid: number }).pid, process.pid);
    await store.close();
  });

  it('takes over the lock of a process that exited but is not reaped yet (a zombie)', async () => {
    const dir = await tempDir();
    await seed(dir, three);
    // `sh` starts a child it never waits for (it execs sleep): the killed child stays a zombie.
    const parent = spawn('sh', ['-c', 'sleep 60 & echo $!; exec sleep 60'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const [out] = (await once(parent.stdout, 'data')) as [Buffer];
      const pid = Number(out.toString().trim());
      // Fields 3 (state) and 22 (start time) of /proc/<pid>/stat.
      const stat = () => {
        const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return text.slice(text.lastIndexOf(')') + 2).split(' ');
      };
      const start = stat()[19];
      // Once sh has become sleep: sh itself would reap the child when it dies.
      while (readFileSync(`/proc/${parent.pid ?? 0}/comm`, 'utf8').trim() !== 'sleep')
        await sleep(5);
      process.kill(pid, 'SIGKILL');
      while (stat()[0] !== 'Z') await sleep(5);
      await writeFile(join(dir, 'lock'), JSON.stringify({ pid, start }));
      const store = await openFileStore(dir);
      assert.deepEqual(sortByKey(await store.load()), afterThree);
      await store.close();
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('takes over a lock of a dead pid, of this pid (a restarted container), or unreadable', async () => {
    const dir = await tempDir();
    await seed(dir, three);
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    for (const content of [
      JSON.stringify({ pid: dead }),
      JSON.stringify({ pid: process.pid, start: '1' }),
      '',
      'garbage',
    ]) {
      await writeFile(join(dir, 'lock'), content);
      const store = await openFileStore(dir);
      assert.deepEqual(sortByKey(await store.load()), afterThree, content);
      await store.close();
    }
    assert.deepEqual(await files(dir), ['log.1', 'snapshot.1.json']);
  });
});

describe('FileStore writes', () => {
  it('creates a missing directory, with parents', async () => {
    const dir = join(await tempDir(), 'a', 'b', 'c');
    await seed(dir, three);
    assert.deepEqual(await loaded(dir), afterThree);
  });

  it('refuses invalid batches, writing nothing, and stays healthy', async () => {
    const dir = await tempDir();
    const store = await openFileStore(dir);
    await store.write(put(rec('a', 1)));
    for (const batch of [
      put(rec('', 1)),
      put(rec('k'.repeat(1025), 1)),
      put(rec('ok', 1n)),
      put(rec('ok', undefined)),
      { put: [{ key: 'ok', schema: Number.NaN, value: 1 }], del: [] },
      { put: [rec('ok', 1)], del: [''] },
    ]) {
      await assert.rejects(store.write(batch), (e: unknown) => {
        assert.ok(e instanceof FileStoreError && e.code === 'Invalid', String(e));
        return true;
      });
    }
    assert.equal(store.health().ok, true);
    await store.close();
    assert.deepEqual(await loaded(dir), [rec('a', 1)]);
  });

  const logs: [string, FileStoreOptions, string, number][] = [
    ['the first log', {}, 'log.1', 0],
    ['a log a compaction started', { compactMinBytes: 0, compactRatio: 1 }, 'log.2', 1],
  ];
  for (const [which, options, log, compactions] of logs) {
    it(`a failed append or fdatasync to ${which} rejects, reports unhealthy, leaves nothing behind`, async () => {
      const dir = await tempDir();
      const store = await openFileStore(dir, options);
      const a = rec('a', 'x'.repeat(500)); // big enough to compact into generation 2 when asked
      await store.write(put(a));
      await waitFor(() => store.stats().compactions === compactions); // before faking failures
      const proto = await fileHandlePrototype(dir);
      const { write, datasync } = proto;
      try {
        proto.datasync = () => Promise.reject(new Error('EIO: simulated'));
        await assert.rejects(store.write(put(rec('lost', 1))), (e: unknown) => {
          assert.ok(e instanceof FileStoreError && e.code === 'Io');
          assert.ok(e.message.includes(join(dir, log)), e.message);
          return true;
        });
        assert.equal(store.health().ok, false);
        assert.ok(store.health().detail.includes(`${log} failed: EIO: simulated`));
        proto.datasync = datasync;
        // Half the frame reaches the file, then the write fails: the next append cuts it off.
        proto.write = async function (this: unknown, buf, off, len, pos) {
          await write.call(this, buf, off, len >> 1, pos);
          throw new Error('ENOSPC: simulated');
        };
        await assert.rejects(store.write(put(rec('lost2', 2))), /ENOSPC: simulated/);
        proto.write = write;
        await store.write(put(rec('b', 2)));
        assert.equal(store.health().ok, true, store.health().detail);
        assert.deepEqual(sortByKey(await store.load()), [a, rec('b', 2)]);
      } finally {
        proto.write = write;
        proto.datasync = datasync;
        await store.close();
      }
      assert.deepEqual(await files(dir), [log, log.replace('log', 'snapshot') + '.json']);
      const bytes = await readFile(join(dir, log));
      assert.equal(scanFrames(bytes).validEnd, bytes.length, 'no hole, no partial frame');
      const again = await openFileStore(dir);
      assert.deepEqual(sortByKey(await again.load()), [a, rec('b', 2)]);
      assert.equal(again.stats().tornBytesDropped, 0);
      await again.close();
    });
  }

  it('a failed compaction keeps the chain, writes go on, and a later one succeeds', async () => {
    const dir = await tempDir();
    const options = { compactMinBytes: 1024, compactRatio: 0 };
    const store = await openFileStore(dir, options);
    const proto = await fileHandlePrototype(dir);
    const { sync } = proto;
    let syncs = 0;
    // Sync 1 makes the new log's directory entry durable; sync 2 is the snapshot's: it fails.
    proto.sync = function (this: unknown) {
      return ++syncs === 2 ? Promise.reject(new Error('EIO: simulated')) : sync.call(this);
    };
    const expected = new Map<string, StoredRecord>();
    const writeSome = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const r = rec(`k${i % 10}`, { i, text: 'y'.repeat(100) });
        expected.set(r.key, r);
        await store.write(put(r));
      }
    };
    let written = 0;
    try {
      // Write until the log outgrows the threshold and a compaction starts log.2.
      while (!(await files(dir)).includes('log.2')) await writeSome(written, ++written);
      await waitFor(() => store.health().detail.includes('last compaction failed'));
      assert.equal(store.health().ok, true);
      assert.match(store.health().detail, /snapshot\.2\.json failed: EIO: simulated/);
      assert.deepEqual(await files(dir), ['lock', 'log.1', 'log.2', 'snapshot.1.json']);
    } finally {
      proto.sync = sync;
    }
    await writeSome(written, written + 30);
    await waitFor(() => store.stats().compactions > 0);
    assert.doesNotMatch(store.health().detail, /failed/);
    await store.close();
    assert.match((await files(dir)).join(' '), /^log\.(\d+) snapshot\.\1\.json$/);
    assert.deepEqual(await loaded(dir), sortByKey([...expected.values()]));
  });

  it('loads 10,000 records of 2 KB in well under a second', async (t) => {
    const dir = await tempDir();
    const store = await openFileStore(dir);
    const text = 'x'.repeat(1900);
    const started = performance.now();
    for (let b = 0; b < 20; b++) {
      const batch: StoredRecord[] = [];
      for (let i = 0; i < 500; i++) {
        const n = b * 500 + i;
        batch.push(rec(`model:m${n}`, { n, spec: { text, replicas: n % 5 } }));
      }
      await store.write(put(...batch));
    }
    const wrote = performance.now() - started;
    await store.close();
    const t0 = performance.now();
    const reopened = await openFileStore(dir);
    const records = await reopened.load();
    const loadMs = performance.now() - t0;
    await reopened.close();
    assert.equal(records.length, 10_000);
    t.diagnostic(
      `20 batches of 500 x 2 KB written in ${wrote.toFixed(0)} ms; open + load ${loadMs.toFixed(0)} ms`,
    );
    assert.ok(loadMs < 1000, `open + load took ${loadMs.toFixed(0)} ms`);
  });
});
