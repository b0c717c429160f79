/** Bearer-token check for admin POSTs, in constant time: both sides hashed to equal-length digests, then crypto.timingSafeEqual; refusals logged, rate-limited, with the caller's address. */

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../log.js';
import { RejectionLog } from '../metrics/rejection-log.js';
import { normalizeAddress } from '../edge/client-address.js';

/** Window of the `admin unauthorized` line: the first refusal at once, then one summary per window. */
const REFUSAL_WINDOW_MS = 10_000;

export class TokenCheck {
  readonly #digest: Buffer | null;
  readonly #refusals: RejectionLog | null;
  #flushTimer: NodeJS.Timeout | null = null;

  /** `token` '' means no token configured: every request passes. With `log`, refusals are logged. */
  constructor(token: string, log?: Logger, windowMs = REFUSAL_WINDOW_MS) {
    this.#digest = token === '' ? null : digest(token);
    this.#refusals = log ? new RejectionLog(log, windowMs, Date.now, { msg: 'admin unauthorized', scope: 'path' }) : null;
    this.#tickMs = Math.min(1000, windowMs);
  }

  readonly #tickMs: number;

  get required(): boolean {
    return this.#digest !== null;
  }

  allows(req: IncomingMessage): boolean {
    if (this.#digest === null) return true;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '');
    // Hash even when the header is absent, so the time taken does not say which check failed.
    const given = digest(m?.[1] ?? '');
    const ok = timingSafeEqual(given, this.#digest) && m !== null;
    if (!ok) this.#refused(req);
    return ok;
  }

  /** Logs the refusal (rate-limited per window, with the caller's address); a summary timer runs only while a window is open. */
  #refused(req: IncomingMessage): void {
    const log = this.#refusals;
    if (!log) return;
    const path = (req.url ?? '/').split('?')[0]!;
    log.note(path, 'WSLB_ERR_ADMIN_UNAUTHORIZED', 401, normalizeAddress(req.socket?.remoteAddress ?? ''));
    if (this.#flushTimer) return;
    this.#flushTimer = setInterval(() => {
      log.flush();
      if (log.open === 0 && this.#flushTimer) { clearInterval(this.#flushTimer); this.#flushTimer = null; }
    }, this.#tickMs);
    this.#flushTimer.unref();
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
