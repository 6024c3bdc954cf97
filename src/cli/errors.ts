/**
 * How the `mlsched` commands fail: an exit code and one line on stderr. Kept apart from the gRPC
 * client so that a command that fails early (or `--version`) does not load it.
 */

/** Exit codes of the client commands (README "The mlsched client"). */
export const EXIT = {
  ok: 0,
  /** The scheduler refused or failed the request (unknown resource, invalid spec, ...). */
  failed: 1,
  /** Bad command line or manifest: nothing was sent. */
  usage: 2,
  /** `-w` did not see the state within `--timeout`. */
  timeout: 3,
  /** The scheduler could not be reached (of several, none leads or answers). */
  unreachable: 4,
} as const;

/**
 * A failure the command reports as one line on stderr, exiting with `code`; `cause` is the gRPC
 * error it comes from, if any.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}
