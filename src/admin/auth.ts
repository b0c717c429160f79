/** Bearer-token check for admin POSTs, in constant time: both sides hashed to equal-length digests, then crypto.timingSafeEqual. */

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export class TokenCheck {
  readonly #digest: Buffer | null;

  /** `token` '' means no token configured: every request passes. */
  constructor(token: string) {
    this.#digest = token === '' ? null : digest(token);
  }

  get required(): boolean {
    return this.#digest !== null;
  }

  allows(req: IncomingMessage): boolean {
    if (this.#digest === null) return true;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '');
    // Hash even when the header is absent, so the time taken does not say which check failed.
    const given = digest(m?.[1] ?? '');
    return timingSafeEqual(given, this.#digest) && m !== null;
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
