/**
 * The directory lock of the file store: `DIR/lock` holds `{"pid":…,"start":…}` of the process that
 * owns the directory, so two schedulers never append to the same log.
 *
 * The lock appears atomically with its content (written to a private temporary file, then
 * hard-linked to `lock`, which fails if `lock` exists). A lock whose process is gone is stale and is
 * taken over: its pid is not running, or has exited and waits only for its parent to reap it (a
 * zombie, state `Z` or `X` in `/proc/<pid>/stat`: it holds no files any more, and a supervisor that
 * restarts a killed scheduler at once meets exactly this), or runs a different program than the one
 * that took the lock (the process start time in `/proc/<pid>/stat` differs: pids are reused, and a
 * container restarts as pid 1 every time), or it names this process but this process does not hold
 * it (the previous incarnation of a restarted container). Stale locks are moved aside with `rename` (atomic) and
 * checked before they are deleted, so two processes taking over the same stale lock cannot both win.
 */
import { randomBytes } from 'node:crypto';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, FileStoreError, ioError } from './errors.js';
import { FILE_MODE } from './modes.js';

/** Directories (real paths) locked by this process, so a second open here fails too. */
const held = new Set<string>();

/** A held directory lock. */
export interface DirLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. Never throws. */
  release(): Promise<void>;
}

interface Owner {
  readonly pid: number;
  readonly start?: string;
}

/**
 * Takes the lock of `dir` (a real path) or throws `Locked` naming the holder's pid and the lock
 * file, or `Io` when the lock file cannot be written.
 */
export async function acquireLock(dir: string): Promise<DirLock> {
  const path = join(dir, 'lock');
  if (held.has(dir)) {
    throw new FileStoreError(
      'Locked',
      path,
      `file store ${dir} is already open in this process (pid ${process.pid}); close it first`,
    );
  }
  const start = (await procStat(process.pid))?.start;
  const mine = `${JSON.stringify(start === undefined ? { pid: process.pid } : { pid: process.pid, start })}\n`;
  const tmp = join(dir, `lock.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, mine, { flag: 'wx', mode: FILE_MODE });
  } catch (e) {
    throw ioError('creating the lock', tmp, e);
  }
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await linkOrCreate(tmp, path, mine);
        held.add(dir);
        return {
          path,
          release: async () => {
            held.delete(dir);
            try {
              if ((await readFile(path, 'utf8')) === mine) await unlink(path);
            } catch {
              // Already gone, or unreadable: nothing of ours to remove.
            }
          },
        };
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw ioError('creating the lock', path, e);
      }
      await takeOverIfStale(dir, path, start !== undefined);
    }
    throw new FileStoreError(
      'Locked',
      path,
      `file store ${dir}: could not take the lock ${path} (other processes keep taking it)`,
    );
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** Moves a stale lock aside; throws `Locked` when its owner is alive. */
async function takeOverIfStale(dir: string, path: string, haveProc: boolean): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return; // released meanwhile: try again
    throw ioError('reading the lock', path, e);
  }
  const owner = parseOwner(text);
  if (owner !== undefined && (await isAlive(owner, haveProc))) {
    throw new FileStoreError(
      'Locked',
      path,
      `file store ${dir} is locked by pid ${owner.pid} (${path}): another mlsched uses it; stop ` +
        'that process, or delete the lock file if that pid is not an mlsched',
    );
  }
  const aside = `${path}.stale.${process.pid}.${randomBytes(6).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return; // someone else moved it: try again
    throw ioError('moving the stale lock', path, e);
  }
  // Between our read and our rename another process may have replaced the stale lock with its
  // own: then we moved a live lock aside, and put it back (if `lock` is free, else it lost anyway).
  const moved = await readFile(aside, 'utf8').catch(() => text);
  if (moved !== text) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

/**
 * Creates `path` with the content of `tmp`, failing with EEXIST when it exists: a hard link where the
 * file system has them (the lock appears with its content), else an exclusive create.
 */
async function linkOrCreate(tmp: string, path: string, content: string): Promise<void> {
  try {
    await link(tmp, path);
  } catch (e) {
    const code = errnoCode(e);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw e;
    await writeFile(path, content, { flag: 'wx', mode: FILE_MODE });
  }
}

function parseOwner(text: string): Owner | undefined {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || !('pid' in v)) return undefined;
    const pid = v.pid;
    if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
    const start = 'start' in v && typeof v.start === 'string' ? v.start : undefined;
    return start === undefined ? { pid } : { pid, start };
  } catch {
    return undefined; // empty or garbage: no owner
  }
}

/** Whether the lock's owner still runs (`haveProc`: this system has `/proc/<pid>/stat`). */
async function isAlive(owner: Owner, haveProc: boolean): Promise<boolean> {
  // This process holds no lock on the directory (checked first), so the lock is a previous
  // incarnation's that happened to get the same pid.
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if (errnoCode(e) !== 'EPERM') return false; // ESRCH: no such process
  }
  if (!haveProc) return true;
  const stat = await procStat(owner.pid);
  // Gone since the kill() above, exited (a zombie not yet reaped), or a different process under a
  // reused pid.
  return (
    stat !== undefined &&
    !EXITED.has(stat.state) &&
    (owner.start === undefined || stat.start === owner.start)
  );
}

/** Process states of `/proc/<pid>/stat` after exit: zombie, dead (`x` before Linux 3.13). */
const EXITED = new Set(['Z', 'X', 'x']);

/**
 * The state (field 3 of `/proc/<pid>/stat`) and start time (field 22, clock ticks since boot) of a
 * process, or undefined where there is no `/proc` or no such process. Together with the pid the
 * start time identifies a process across pid reuse.
 */
async function procStat(pid: number): Promise<{ state: string; start: string } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: count after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [state, start] = [fields[0], fields[19]];
    return state === undefined || start === undefined ? undefined : { state, start };
  } catch {
    return undefined;
  }
}
