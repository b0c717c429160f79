/** Server answers to upgrades that opened no tunnel: their status class, and a rate-limited warn line per pool, server and class. */

import type { Logger } from '../log.js';

/**
 * `2xx`..`5xx` by the status code; `invalid` for a 101 the balancer refused (bad or missing
 * Sec-WebSocket-Accept, Upgrade or Connection, an unoffered protocol), an answer that is not
 * HTTP at all (status 0 in the log line) and any status outside 200-599. Other 1xx answers are
 * interim (the final answer that follows is the one counted).
 */
export type AnswerClass = '2xx' | '3xx' | '4xx' | '5xx' | 'invalid';

export const ANSWER_CLASSES: readonly AnswerClass[] = ['2xx', '3xx', '4xx', '5xx', 'invalid'];

export function answerClass(status: number): AnswerClass {
  if (status >= 200 && status < 300) return '2xx';
  if (status >= 300 && status < 400) return '3xx';
  if (status >= 400 && status < 500) return '4xx';
  if (status >= 500 && status < 600) return '5xx';
  return 'invalid';
}

interface Window {
  until: number;
  suppressed: number;
  status: number;     // status of the last suppressed answer (a sample)
  route: string;
}

/** One warn line at once per pool, server and class, then at most one per window carrying the count (like RejectionLog). */
export class AnswerLog {
  readonly #log: Logger;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();

  constructor(log: Logger, windowMs = 10_000, now: () => number = Date.now) {
    this.#log = log;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** `why`: what made a 101 invalid (only then). */
  note(route: string, pool: string, server: string, status: number, cls: AnswerClass, why?: string): void {
    const key = `${pool}\0${server}\0${cls}`;
    const w = this.#windows.get(key);
    if (w) { w.suppressed++; w.status = status; w.route = route; return; }
    this.#windows.set(key, { until: this.#now() + this.#windowMs, suppressed: 0, status, route });
    this.#log.warn({ route, pool, server, status, class: cls, ...(why ? { why } : {}), count: 1 }, 'upgrade not accepted by server');
  }

  /** About once a second (the sampler): ended windows with answers log their count; quiet ones close. */
  flush(now = this.#now()): void {
    for (const [key, w] of this.#windows) {
      if (now < w.until) continue;
      if (w.suppressed === 0) { this.#windows.delete(key); continue; }
      const [pool, server, cls] = key.split('\0');
      this.#log.warn({ route: w.route, pool, server, status: w.status, class: cls, count: w.suppressed, window_s: this.#windowMs / 1000 }, 'upgrade not accepted by server');
      w.suppressed = 0;
      w.until = now + this.#windowMs;
    }
  }
}
