/**
 * The one error type of the scheduler's domain. Adapters translate `code` to their wire status in one
 * place (api/errors.ts, agent/errors.ts); nothing below the edge knows gRPC.
 */
export type SchedulerErrorCode =
  | 'InvalidSpec'
  | 'NotFound'
  | 'AlreadyExists'
  | 'FailedPrecondition'
  | 'NoCapacity'
  | 'Unavailable'
  | 'Unimplemented'
  | 'Internal';

/** A failure the caller can act on; `message` is one line and names the offending field when there is one. */
export class SchedulerError extends Error {
  override readonly name = 'SchedulerError';
  constructor(
    readonly code: SchedulerErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

/** Bad input: a missing, malformed or out-of-range field. Produced before anything changes. */
export const invalidSpec = (field: string, problem: string): SchedulerError =>
  new SchedulerError('InvalidSpec', `${field}: ${problem}`, { field });

/**
 * The request is well formed but the current state refuses it (unknown model on unload or status, a
 * model still being deleted). Seldon's operator relies on FAILED_PRECONDITION for these.
 */
export const failedPrecondition = (message: string, details: Record<string, unknown> = {}) =>
  new SchedulerError('FailedPrecondition', message, details);

/** An agent reported something that does not match what the scheduler asked of it. */
export const internal = (message: string, details: Record<string, unknown> = {}) =>
  new SchedulerError('Internal', message, details);

/** The service cannot take the request right now (shutting down, not the leader). */
export const unavailable = (message: string) => new SchedulerError('Unavailable', message);

/** Type guard for {@link SchedulerError}. */
export const isSchedulerError = (e: unknown): e is SchedulerError => e instanceof SchedulerError;
