/** Logs server state changes (up, down, draining, disabled, ejected, added, removed) with their reason, found by comparing snapshots. */

import type { Logger } from '../log.js';
import type { Server } from '../pool/server.js';

interface Seen {
  state: string;
  reason: string | null;
}

// Comparing snapshots (run each second by the sampler, and at once after an admin action) rather
// than hooking every writer of the state bits: health checks, outlier ejection, admin and reload
// all change them, and every change is reported exactly once whoever made it.
export class StateLog {
  readonly #log: Logger;
  readonly #seen = new Map<Server, Seen>();
  #primed = false;

  constructor(log: Logger) {
    this.#log = log;
  }

  check(servers: Iterable<Server>): void {
    const present = new Set<Server>();
    for (const s of servers) {
      present.add(s);
      const state = s.state;
      const reason = s.reason;
      const seen = this.#seen.get(s);
      if (!seen) {
        this.#seen.set(s, { state, reason });
        if (this.#primed) this.#emit(s, null, state, reason);
      } else if (seen.state !== state || (state !== 'up' && seen.reason !== reason)) {
        this.#emit(s, seen.state, state, reason);
        seen.state = state;
        seen.reason = reason;
      }
    }
    for (const [s, seen] of this.#seen) {
      if (present.has(s)) continue;
      this.#seen.delete(s);
      this.#emit(s, seen.state, 'removed', null);
    }
    this.#primed = true;
  }

  #emit(s: Server, from: string | null, to: string, reason: string | null): void {
    const fields = { pool: s.pool, server: s.name, from, to, reason };
    if (to === 'down' || to === 'ejected') this.#log.warn(fields, 'server state');
    else this.#log.info(fields, 'server state');
  }
}
