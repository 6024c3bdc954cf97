/**
 * Why the file store refused something. Every message names the file or directory concerned.
 *
 * - `Locked`: another process (or another open store in this process) holds the directory's lock;
 *   produced by `openFileStore`.
 * - `Corrupt`: a snapshot or a log other than the newest is damaged, or files the store needs are
 *   missing, so loading would lose acknowledged writes; produced by `openFileStore`. A torn tail of
 *   the newest log is not corruption: it is the unacknowledged end of a write cut by a crash and is
 *   cut off silently.
 * - `Invalid`: a batch with a bad key, schema or a value that is not JSON; produced by `write`
 *   before anything is written.
 * - `Closed`: `write` after `close`.
 * - `Io`: the file system failed (full disk, permissions, I/O error); `cause` has the system error.
 */
export type FileStoreErrorCode = 'Locked' | 'Corrupt' | 'Invalid' | 'Closed' | 'Io';

/** An error of the file store, with the path it concerns. */
export class FileStoreError extends Error {
  override readonly name = 'FileStoreError';
  constructor(
    readonly code: FileStoreErrorCode,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The system error code (`ENOENT`, `EEXIST`, ...) of a failed `node:fs` call, if any. */
export function errnoCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null || !('code' in e)) return undefined;
  return typeof e.code === 'string' ? e.code : undefined;
}

/** Wraps a file-system failure as an `Io` error naming what was being done to which path. */
export function ioError(action: string, path: string, cause: unknown): FileStoreError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new FileStoreError('Io', path, `file store: ${action} ${path} failed: ${reason}`, {
    cause,
  });
}
