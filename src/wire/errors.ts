import { status, type ServiceError } from '@grpc/grpc-js';
import { isSchedulerError, type SchedulerErrorCode } from '../domain/errors.js';

/** The one mapping from domain error codes to gRPC status codes. */
export const GRPC_CODE: Readonly<Record<SchedulerErrorCode, status>> = {
  InvalidSpec: status.INVALID_ARGUMENT,
  NotFound: status.NOT_FOUND,
  AlreadyExists: status.ALREADY_EXISTS,
  FailedPrecondition: status.FAILED_PRECONDITION,
  NoCapacity: status.RESOURCE_EXHAUSTED,
  Unavailable: status.UNAVAILABLE,
  Unimplemented: status.UNIMPLEMENTED,
  Internal: status.INTERNAL,
};

export interface ErrorLogger {
  error(obj: object, msg?: string): void;
}

/**
 * Turns anything thrown below the edge into a gRPC error. Domain errors keep their message; anything
 * else is a bug: it is logged with its stack and the client sees INTERNAL without internals.
 */
export function toServiceError(e: unknown, path: string, log: ErrorLogger): Partial<ServiceError> {
  if (isSchedulerError(e)) return { code: GRPC_CODE[e.code], details: e.message };
  log.error({ err: e, path }, 'unexpected error handling request');
  return { code: status.INTERNAL, details: `internal error handling ${path}` };
}
