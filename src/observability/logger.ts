import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * An error as logs show it: its type, message, stack, code and cause, nothing else. pino's own
 * serializer copies every property, and ioredis errors carry the command that failed
 * (`command.args`, and each queued command's in `previousErrors`): a refused write's records,
 * with the model definitions and their storage credentials, or an AUTH's password.
 */
export function errorForLog(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const code = (e as { code?: unknown }).code;
  return {
    type: e.constructor.name,
    message: e.message,
    ...(e.stack === undefined ? {} : { stack: e.stack }),
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    ...(e.cause === undefined ? {} : { cause: errorForLog(e.cause) }),
  };
}

/** Structured JSON logs on stderr (stdout carries only the 'listening' line). */
export function createLogger(level: string, name = 'mlsched'): Logger {
  return pino(
    { name, level, serializers: { err: errorForLog } },
    pino.destination({ fd: 2, sync: true }),
  );
}
