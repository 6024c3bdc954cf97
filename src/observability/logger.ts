import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stderr (stdout carries only the 'listening' line). */
export function createLogger(level: string, name = 'mlsched'): Logger {
  return pino({ name, level }, pino.destination({ fd: 2, sync: true }));
}
