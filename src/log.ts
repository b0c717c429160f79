/** The process logger: JSON lines on stdout (pino). Never called on the hot path. */

import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level = 'info'): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.epochTime });
}
