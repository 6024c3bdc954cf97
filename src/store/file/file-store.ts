/**
 * The embedded durable store (`--store file:DIR`, the default of `npm start`): a snapshot plus an
 * append-only log of batches, in one directory owned by one process.
 *
 * Files of `DIR` (a generation `N` counts compactions):
 * - `lock`: `{"pid","start"}` of the owning process (see lock.ts).
 * - `snapshot.<N>.json`: every record as of the start of generation N. Line 1 is a header
 *   `{"format","version","gen","records"}`, then one record per line. Written to `.tmp`, fsync'd,
 *   renamed and the directory fsync'd: it exists complete or not at all.
 * - `log.<N>`: the batches written since `snapshot.<N>.json`, one line per batch,
 *   `{"put":[records],"del":[keys]}`, appended and fdatasync'd before `write` resolves.
 *
 * The directory is created 0700 and every file 0600: records hold model definitions with their
 * storage credentials. A store created looser (by an older mlsched, or by hand) is tightened on
 * open, and `logger` is told which paths were.
 *
 * Every line is framed as `<crc32 hex> <json>\n` (framing.ts). State = the newest snapshot
 * `snapshot.<B>.json`, then `log.<B>`, `log.<B+1>`, … replayed in order. Only the newest log is
 * appended to; only its tail can be torn by a crash, and that tail was never acknowledged.
 *
 * Crash safety, window by window:
 * - During an append: the batch (or the group of batches sharing one fdatasync) was not
 *   acknowledged. Its frame is complete (and replayed) or fails its CRC; replay stops at the first
 *   bad frame, and `open` cuts it off (ftruncate + fsync) before anything is appended after it.
 * - A failed append or fdatasync (disk full, I/O error): the log is cut back to its last durable
 *   length before the next append, so no torn frame ever hides later batches. The in-memory map only
 *   takes a batch once it is durable, so memory and disk agree.
 * - Compaction: (1) `log.<N+1>` is created and the directory fsync'd, then new batches go there;
 *   (2) the records as of that switch are written to `snapshot.<N+1>.json.tmp`, fsync'd, renamed,
 *   and the directory fsync'd; (3) only then are `snapshot.<N>.json` and `log.<N>` deleted. A crash
 *   before (2) completes leaves `snapshot.<N>` + `log.<N>` + `log.<N+1>`, a complete chain (a
 *   leftover `.tmp` is deleted on open); after it, `snapshot.<N+1>` + `log.<N+1>` is complete and
 *   leftovers of older generations are deleted on open. Writes are never blocked by the snapshot.
 *
 * Costs: a write is O(batch) (one append, one fdatasync shared by every batch queued meanwhile).
 * Compaction writes the whole map once the logs outgrow `compactRatio` × the snapshot (at least
 * `compactMinBytes`), so it costs O(1) amortised per byte written, and the files stay within
 * about (1 + compactRatio) × the live data. Open reads the snapshot and logs once.
 */
import type { FileHandle } from 'node:fs/promises';
import {
  chmod,
  mkdir,
  open,
  readdir,
  readFile,
  realpath,
  rename,
  stat,
  unlink,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { SnapshotStore, StoredRecord, StoreHealth, WriteBatch } from '../ports.js';
import { errnoCode, FileStoreError, ioError } from './errors.js';
import { encodeFrame, scanFrames } from './framing.js';
import type { DirLock } from './lock.js';
import { acquireLock } from './lock.js';
import { DIR_MODE, FILE_MODE } from './modes.js';

/** Tuning of {@link openFileStore}; the defaults suit the scheduler. */
export interface FileStoreOptions {
  /** Never compact while the logs hold fewer bytes than this (default 8 MiB). */
  readonly compactMinBytes?: number;
  /** Compact once the logs hold this many times the snapshot's bytes (default 2). */
  readonly compactRatio?: number;
  /** Told when open tightened the modes of the directory or its files (a pino logger fits). */
  readonly logger?: { warn(obj: object, msg: string): void };
}

/** Counters of a {@link FileStore} (for health details, metrics and tests). */
export interface FileStoreStats {
  readonly records: number;
  /** Generation of the newest durable snapshot. */
  readonly generation: number;
  readonly snapshotBytes: number;
  /** Bytes of the logs replayed on top of that snapshot. */
  readonly logBytes: number;
  /** Compactions completed since open. */
  readonly compactions: number;
  /** Torn bytes cut off the newest log when it was opened. */
  readonly tornBytesDropped: number;
}

const SNAPSHOT_FORMAT = 'mlsched.file-store.snapshot';
const FORMAT_VERSION = 1;
const MAX_KEY_LENGTH = 1024;
const SNAPSHOT_CHUNK_BYTES = 1 << 20;

const SNAPSHOT_NAME = /^snapshot\.(\d+)\.json$/;
const SNAPSHOT_TMP_NAME = /^snapshot\.\d+\.json\.tmp$/;
const LOG_NAME = /^log\.(\d+)$/;

/** A batch checked and serialised by `write`: `[key, record JSON]` pairs and keys to delete. */
interface PreparedBatch {
  readonly put: readonly (readonly [string, string])[];
  readonly del: readonly string[];
}

interface QueuedWrite {
  readonly frame: Buffer;
  readonly batch: PreparedBatch;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/**
 * Opens (creating it if missing) the file store in `dir` and takes its lock.
 *
 * @throws FileStoreError `Locked` when another process or another open store of this process
 *   holds `dir`; `Corrupt` when a snapshot or a non-final log is damaged or a needed file is
 *   missing; `Io` when the directory cannot be created or read.
 */
export function openFileStore(dir: string, options: FileStoreOptions = {}): Promise<FileStore> {
  return FileStore.open(dir, options);
}

/** The file-backed {@link SnapshotStore}; see the module comment for the format. */
export class FileStore implements SnapshotStore {
  /** key → the record's JSON text (copies go in and out through JSON). */
  private readonly records = new Map<string, string>();
  /**
   * The records as parsed while opening, handed out by the first `load` (a restore) instead of
   * parsing them all again; dropped then, or at the first write.
   */
  private opened: Map<string, StoredRecord> | undefined = new Map();
  /** Byte size of each log from the snapshot's generation to the active one. */
  private readonly logSizes = new Map<number, number>();
  private queue: QueuedWrite[] = [];
  private pumping: Promise<void> | undefined;
  private compaction: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private closed = false;
  /** A failed append may have left a partial frame: cut the log back before the next one. */
  private needsRepair = false;
  private lastWriteError: string | undefined;
  private lastCompactionError: string | undefined;
  /** After a failed compaction, wait until the logs reach this size before trying again. */
  private retryCompactionAt = 0;
  private compactions = 0;
  private tornBytesDropped = 0;
  private snapshotGen = 0;
  private snapshotBytes = 0;
  private activeGen = 0;
  private log: FileHandle | undefined;
  private readonly compactMinBytes: number;
  private readonly compactRatio: number;

  private constructor(
    /** The store's directory (a real, absolute path). */
    readonly dir: string,
    private readonly lock: DirLock,
    options: FileStoreOptions,
  ) {
    this.compactMinBytes = options.compactMinBytes ?? 8 * 1024 * 1024;
    this.compactRatio = options.compactRatio ?? 2;
  }

  /** See {@link openFileStore}. */
  static async open(dir: string, options: FileStoreOptions = {}): Promise<FileStore> {
    const wanted = resolve(dir);
    await makeDir(wanted);
    let real: string;
    try {
      real = await realpath(wanted);
    } catch (e) {
      throw ioError('resolving', wanted, e);
    }
    const lock = await acquireLock(real);
    const store = new FileStore(real, lock, options);
    try {
      const tightened = await tighten(real);
      if (tightened.length > 0) {
        options.logger?.warn(
          { dir: real, tightened },
          'file store: files readable by others (made by an older mlsched?) are now private: 0700 for the directory, 0600 for files',
        );
      }
      await store.recover();
    } catch (e) {
      await store.log?.close().catch(() => undefined);
      await lock.release();
      throw e;
    }
    return store;
  }

  /** Every record (fresh copies), as of the writes resolved so far. Works after `close` too. */
  load(): Promise<StoredRecord[]> {
    const opened = this.opened;
    this.opened = undefined;
    if (opened) return Promise.resolve([...opened.values()]);
    return Promise.resolve(Array.from(this.records.values(), (json) => parseRecord(json)));
  }

  /**
   * Appends the batch to the log and resolves once it is fdatasync'd. The batch is serialised
   * when called (later changes to its objects do not matter). Rejects with `Invalid` (nothing
   * written), `Closed`, or `Io` (the log was cut back: the batch is not applied).
   */
  write(batch: WriteBatch): Promise<void> {
    if (this.closed) {
      return Promise.reject(
        new FileStoreError('Closed', this.dir, `file store ${this.dir} is closed`),
      );
    }
    let prepared: PreparedBatch;
    try {
      prepared = prepare(batch, this.dir);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    const json = `{"put":[${prepared.put.map(([, record]) => record).join(',')}],"del":${JSON.stringify(prepared.del)}}`;
    const frame = encodeFrame(json);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frame, batch: prepared, resolve, reject });
      this.kick();
    });
  }

  /** Not ok while the last write failed (detail: the error, naming the log file). */
  health(): StoreHealth {
    if (this.closed) return { ok: false, detail: `file store ${this.dir} is closed` };
    if (this.lastWriteError !== undefined) return { ok: false, detail: this.lastWriteError };
    const s = this.stats();
    let detail =
      `file store ${this.dir}: ${s.records} records, generation ${s.generation}, ` +
      `snapshot ${s.snapshotBytes} B, log ${s.logBytes} B`;
    if (s.tornBytesDropped > 0) {
      detail += `; cut ${s.tornBytesDropped} torn bytes (an unacknowledged write) off the log on open`;
    }
    if (this.lastCompactionError !== undefined) {
      detail += `; last compaction failed (will retry): ${this.lastCompactionError}`;
    }
    return { ok: true, detail };
  }

  /** Counters of the store. */
  stats(): FileStoreStats {
    let logBytes = 0;
    for (const size of this.logSizes.values()) logBytes += size;
    return {
      records: this.records.size,
      generation: this.snapshotGen,
      snapshotBytes: this.snapshotBytes,
      logBytes,
      compactions: this.compactions,
      tornBytesDropped: this.tornBytesDropped,
    };
  }

  /**
   * Writes the batches already queued, waits for a running compaction, closes the log and removes
   * the lock. Later writes reject with `Closed`. Never rejects; calling it again is harmless.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      while (this.pumping !== undefined) await this.pumping;
      await this.compaction;
      await this.log?.close().catch(() => undefined);
      this.log = undefined;
      await this.lock.release();
    })();
    return this.closing;
  }

  // ── writing ──────────────────────────────────────────────────────────────────────────────

  private kick(): void {
    this.pumping ??= this.pump().finally(() => {
      this.pumping = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  /** Group commit: everything queued while the previous fdatasync ran shares the next one. */
  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      try {
        await this.append(group.map((w) => w.frame));
      } catch (e) {
        const error = e instanceof FileStoreError ? e : ioError('appending to', this.logPath(), e);
        this.lastWriteError = error.message;
        for (const w of group) w.reject(error);
        continue;
      }
      this.opened = undefined;
      for (const w of group) this.apply(w.batch);
      this.lastWriteError = undefined;
      for (const w of group) w.resolve();
      if (!this.closed) await this.maybeCompact();
    }
  }

  private async append(frames: Buffer[]): Promise<void> {
    const log = this.log;
    const path = this.logPath();
    const size = this.logSizes.get(this.activeGen) ?? 0;
    if (log === undefined)
      throw new FileStoreError('Closed', path, `file store ${this.dir} is closed`);
    if (this.needsRepair) {
      try {
        await log.truncate(size);
        await log.sync();
      } catch (e) {
        throw ioError('cutting back the partial write at the end of', path, e);
      }
      this.needsRepair = false;
    }
    const data = frames.length === 1 && frames[0] !== undefined ? frames[0] : Buffer.concat(frames);
    this.needsRepair = true;
    try {
      await writeAll(log, data, size);
      await log.datasync();
    } catch (e) {
      throw ioError('appending to', path, e);
    }
    this.needsRepair = false;
    this.logSizes.set(this.activeGen, size + data.length);
  }

  private apply(batch: PreparedBatch): void {
    for (const [key, json] of batch.put) this.records.set(key, json);
    for (const key of batch.del) this.records.delete(key);
  }

  // ── compaction ───────────────────────────────────────────────────────────────────────────

  private async maybeCompact(): Promise<void> {
    if (this.compaction !== undefined) return;
    const { logBytes } = this.stats();
    const threshold = this.compactionThreshold();
    if (logBytes < Math.max(threshold, this.retryCompactionAt)) return;
    const gen = this.activeGen + 1;
    const path = this.logPath(gen);
    let next: FileHandle;
    try {
      next = await open(path, 'ax', FILE_MODE);
    } catch (e) {
      this.compactionFailed(ioError('creating', path, e), logBytes + threshold);
      return;
    }
    try {
      await fsyncDir(this.dir);
    } catch (e) {
      await next.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      this.compactionFailed(ioError('syncing', this.dir, e), logBytes + threshold);
      return;
    }
    // From here on batches go to log.<gen>; the snapshot holds exactly what precedes them.
    const previous = this.log;
    this.log = next;
    this.activeGen = gen;
    this.logSizes.set(gen, 0);
    await previous?.close().catch(() => undefined);
    const records = Array.from(this.records.values());
    this.compaction = this.compact(gen, records).finally(() => {
      this.compaction = undefined;
    });
  }

  private async compact(gen: number, records: readonly string[]): Promise<void> {
    let bytes: number;
    try {
      bytes = await writeSnapshot(this.dir, gen, records);
    } catch (e) {
      const { logBytes } = this.stats();
      this.compactionFailed(e, logBytes + this.compactionThreshold());
      return;
    }
    this.snapshotGen = gen;
    this.snapshotBytes = bytes;
    for (const g of Array.from(this.logSizes.keys())) if (g < gen) this.logSizes.delete(g);
    this.compactions++;
    this.lastCompactionError = undefined;
    this.retryCompactionAt = 0;
    await removeGenerationsBefore(this.dir, gen);
  }

  /** Log bytes beyond which a compaction pays for itself. */
  private compactionThreshold(): number {
    return Math.max(this.compactMinBytes, this.compactRatio * this.snapshotBytes);
  }

  private compactionFailed(e: unknown, retryAt: number): void {
    this.lastCompactionError = e instanceof Error ? e.message : String(e);
    this.retryCompactionAt = retryAt;
  }

  // ── recovery ─────────────────────────────────────────────────────────────────────────────

  private async recover(): Promise<void> {
    const dir = this.dir;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      throw ioError('reading', dir, e);
    }
    const snapshots: number[] = [];
    const logs: number[] = [];
    for (const name of names) {
      const snapshot = SNAPSHOT_NAME.exec(name);
      const log = LOG_NAME.exec(name);
      if (snapshot?.[1] !== undefined) snapshots.push(Number(snapshot[1]));
      else if (log?.[1] !== undefined) logs.push(Number(log[1]));
      else if (SNAPSHOT_TMP_NAME.test(name)) await removeFile(join(dir, name)); // an unfinished compaction
    }
    if (snapshots.length === 0) {
      if (logs.length > 0) {
        throw new FileStoreError(
          'Corrupt',
          dir,
          `file store ${dir} has log files (${logs.map((g) => `log.${g}`).join(', ')}) but no ` +
            'snapshot.<N>.json: restore the snapshot, or move the directory aside to start empty',
        );
      }
      // A new store (or one whose first snapshot never completed): start with an empty one.
      await writeSnapshot(dir, 1, []);
      snapshots.push(1);
    }
    const base = Math.max(...snapshots);
    this.snapshotGen = base;
    this.snapshotBytes = await this.readSnapshot(base);
    const chain = logs.filter((g) => g >= base).sort((a, b) => a - b);
    chain.forEach((g, i) => {
      if (g !== base + i) {
        throw new FileStoreError(
          'Corrupt',
          join(dir, `log.${base + i}`),
          `file store ${dir}: log.${base + i} is missing between snapshot.${base}.json and ` +
            `log.${g}; the batches it held are lost, so the store refuses to open`,
        );
      }
    });
    for (const [i, gen] of chain.entries()) await this.replayLog(gen, i === chain.length - 1);
    this.activeGen = chain.at(-1) ?? base;
    const path = this.logPath();
    try {
      this.log = await open(path, 'a', FILE_MODE);
      if (!chain.includes(this.activeGen)) {
        this.logSizes.set(this.activeGen, 0);
        await fsyncDir(dir);
      }
    } catch (e) {
      throw ioError('opening', path, e);
    }
    await removeGenerationsBefore(dir, base);
  }

  /** Loads `snapshot.<gen>.json` into the map; returns its size. @throws Corrupt or Io. */
  private async readSnapshot(gen: number): Promise<number> {
    const path = join(this.dir, `snapshot.${gen}.json`);
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (e) {
      throw ioError('reading', path, e);
    }
    const corrupt = (why: string) =>
      new FileStoreError(
        'Corrupt',
        path,
        `file store: snapshot ${path} is damaged (${why}); restore it from a backup or move the ` +
          'directory aside to start empty',
      );
    const { frames, validEnd } = scanFrames(buf);
    if (validEnd !== buf.length) throw corrupt(`bad checksum or torn line at byte ${validEnd}`);
    const header = parseJson(frames[0]?.json);
    if (!isObject(header) || header['format'] !== SNAPSHOT_FORMAT) throw corrupt('no header');
    const version = header['version'];
    if (version !== FORMAT_VERSION) {
      throw new FileStoreError(
        'Corrupt',
        path,
        `file store: snapshot ${path} has format version ${String(version)}, but this mlsched ` +
          `reads version ${FORMAT_VERSION} (written by a newer mlsched?)`,
      );
    }
    if (header['gen'] !== gen) throw corrupt(`header says generation ${String(header['gen'])}`);
    if (header['records'] !== frames.length - 1) {
      throw corrupt(`header says ${String(header['records'])} records, found ${frames.length - 1}`);
    }
    for (const frame of frames.slice(1)) {
      const record = parseJson(frame.json);
      const key = recordKey(record);
      if (key === undefined) throw corrupt(`not a record at byte ${frame.start}`);
      this.records.set(key, frame.json);
      this.opened?.set(key, record as StoredRecord);
    }
    return buf.length;
  }

  /**
   * Replays `log.<gen>` onto the map. A bad frame in the newest log is a torn, unacknowledged
   * write: it and everything after it are cut off. Anywhere else it is corruption.
   */
  private async replayLog(gen: number, newest: boolean): Promise<void> {
    const path = this.logPath(gen);
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (e) {
      throw ioError('reading', path, e);
    }
    const { frames } = scanFrames(buf);
    let validEnd = 0;
    for (const frame of frames) {
      const parsed = parseBatch(frame.json);
      if (parsed === undefined) break;
      this.apply(parsed.batch);
      for (const [key, record] of parsed.records) this.opened?.set(key, record);
      for (const key of parsed.batch.del) this.opened?.delete(key);
      validEnd = frame.end;
    }
    if (validEnd < buf.length) {
      if (!newest) {
        throw new FileStoreError(
          'Corrupt',
          path,
          `file store: log ${path} is damaged at byte ${validEnd} of ${buf.length} although a ` +
            'newer log follows it; restore it from a backup or move the directory aside',
        );
      }
      try {
        const fh = await open(path, 'r+');
        try {
          await fh.truncate(validEnd);
          await fh.sync();
        } finally {
          await fh.close();
        }
      } catch (e) {
        throw ioError('cutting the torn tail off', path, e);
      }
      this.tornBytesDropped += buf.length - validEnd;
    }
    this.logSizes.set(gen, validEnd);
  }

  private logPath(gen = this.activeGen): string {
    return join(this.dir, `log.${gen}`);
  }
}

// ── helpers ──────────────────────────────────────────────────────────────────────────────────

/** Checks and serialises a batch. @throws FileStoreError `Invalid` naming the key. */
function prepare(batch: WriteBatch, dir: string): PreparedBatch {
  const invalid = (message: string, cause?: unknown) =>
    new FileStoreError('Invalid', dir, `file store ${dir}: ${message}`, { cause });
  const checkKey = (key: string) => {
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw invalid(`key '${key.slice(0, 40)}' must have 1 to ${MAX_KEY_LENGTH} characters`);
    }
  };
  const put = batch.put.map(({ key, schema, value }): [string, string] => {
    checkKey(key);
    if (!Number.isFinite(schema)) throw invalid(`schema of '${key}' is not a number`);
    if (value === undefined) throw invalid(`value of '${key}' is undefined, not JSON`);
    try {
      return [key, JSON.stringify({ key, schema, value })];
    } catch (e) {
      throw invalid(`value of '${key}' is not JSON (${e instanceof Error ? e.message : ''})`, e);
    }
  });
  batch.del.forEach(checkKey);
  return { put, del: [...batch.del] };
}

function parseRecord(json: string): StoredRecord {
  return JSON.parse(json) as StoredRecord;
}

function parseJson(json: string | undefined): unknown {
  if (json === undefined) return undefined;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The key of a parsed record, or undefined when it is not a record. */
function recordKey(v: unknown): string | undefined {
  if (!isObject(v) || !('value' in v) || typeof v['schema'] !== 'number') return undefined;
  const key = v['key'];
  return typeof key === 'string' && key.length > 0 ? key : undefined;
}

/** A log line as a batch (with its records as parsed), or undefined when it is not one. */
function parseBatch(
  json: string,
): { batch: PreparedBatch; records: [string, StoredRecord][] } | undefined {
  const v = parseJson(json);
  if (!isObject(v) || !Array.isArray(v['put']) || !Array.isArray(v['del'])) return undefined;
  const put: [string, string][] = [];
  const records: [string, StoredRecord][] = [];
  for (const record of v['put'] as unknown[]) {
    const key = recordKey(record);
    if (key === undefined) return undefined;
    put.push([key, JSON.stringify(record)]);
    records.push([key, record as StoredRecord]);
  }
  const del: string[] = [];
  for (const key of v['del'] as unknown[]) {
    if (typeof key !== 'string') return undefined;
    del.push(key);
  }
  return { batch: { put, del }, records };
}

/**
 * Writes all of `data` at `position` (explicit, so a log cut back after a failed append is
 * continued at its end, never past it; logs are also opened O_APPEND).
 */
async function writeAll(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await fh.write(data, offset, data.length - offset, position + offset);
    offset += bytesWritten;
  }
}

/**
 * Writes `snapshot.<gen>.json` durably (temporary file, fsync, rename, directory fsync); returns
 * its size. @throws FileStoreError `Io` (the temporary file is removed).
 */
async function writeSnapshot(
  dir: string,
  gen: number,
  records: readonly string[],
): Promise<number> {
  const path = join(dir, `snapshot.${gen}.json`);
  const tmp = `${path}.tmp`;
  let bytes = 0;
  try {
    const fh = await open(tmp, 'w', FILE_MODE);
    try {
      let chunk: Buffer[] = [
        encodeFrame(
          JSON.stringify({
            format: SNAPSHOT_FORMAT,
            version: FORMAT_VERSION,
            gen,
            records: records.length,
          }),
        ),
      ];
      let chunkBytes = 0;
      const flush = async () => {
        const data = Buffer.concat(chunk);
        chunk = [];
        chunkBytes = 0;
        await writeAll(fh, data, bytes);
        bytes += data.length;
      };
      for (const record of records) {
        const frame = encodeFrame(record);
        chunk.push(frame);
        chunkBytes += frame.length;
        if (chunkBytes >= SNAPSHOT_CHUNK_BYTES) await flush();
      }
      await flush();
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await fsyncDir(dir);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw ioError('writing the snapshot', path, e);
  }
  return bytes;
}

/** Deletes the snapshots and logs of generations older than `gen` (best effort: they are dead). */
async function removeGenerationsBefore(dir: string, gen: number): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = SNAPSHOT_NAME.exec(name) ?? LOG_NAME.exec(name);
    if (m?.[1] !== undefined && Number(m[1]) < gen) {
      await unlink(join(dir, name)).catch(() => undefined); // retried on the next open
    }
  }
}

async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw ioError('removing', path, e);
  }
}

/** Makes a directory's entries (created, renamed, removed files) durable. */
async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return; // directories cannot be opened for fsync there
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Takes group and other permissions off `dir` and the files of a store in it (`lock` included);
 * returns the paths it changed, each with its mode before. @throws FileStoreError `Io`.
 */
async function tighten(dir: string): Promise<{ path: string; was: string }[]> {
  const changed: { path: string; was: string }[] = [];
  const ours = (name: string) =>
    name === 'lock' ||
    SNAPSHOT_NAME.test(name) ||
    SNAPSHOT_TMP_NAME.test(name) ||
    LOG_NAME.test(name);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw ioError('reading', dir, e);
  }
  for (const [path, mode] of [
    [dir, DIR_MODE] as const,
    ...names.filter(ours).map((n) => [join(dir, n), FILE_MODE] as const),
  ]) {
    try {
      const was = (await stat(path)).mode & 0o777;
      if ((was & 0o077) === 0) continue;
      await chmod(path, was & mode);
      changed.push({ path, was: was.toString(8).padStart(4, '0') });
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw ioError('restricting the permissions of', path, e);
    }
  }
  return changed;
}

/** Creates `dir` (0700) and its missing parents durably. @throws FileStoreError `Io`. */
async function makeDir(dir: string): Promise<void> {
  try {
    const first = await mkdir(dir, { recursive: true, mode: DIR_MODE });
    if (first === undefined) return;
    // Each created directory's entry lives in its parent: sync from the deepest up.
    for (let d = dir; ; d = dirname(d)) {
      await fsyncDir(dirname(d));
      if (d === first || d === dirname(d)) break;
    }
  } catch (e) {
    if (e instanceof FileStoreError) throw e;
    throw ioError('creating', dir, e);
  }
}
