/** Test helper: a pino logger whose JSON lines are parsed into an array the test can read. */

import pino from 'pino';
import { Writable } from 'node:stream';

export interface Line { level: number; msg: string; [k: string]: unknown }

export function captureLog(level: pino.Level = 'info'): { log: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Line);
      cb();
    },
  });
  return { log: pino({ level, base: undefined }, stream), lines };
}

/** One turn of the event loop (lets a logger's stream write). */
export const tick = (): Promise<void> => new Promise((res) => setImmediate(res));
