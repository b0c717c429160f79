/** Passive outlier detection (Envoy consecutive-failure ejection): servers failing real upgrades are ejected with backoff. */

import type { PoolConfig } from '../config/types.js';
import type { Server } from './server.js';

/** Longest ejection (Envoy's max_ejection_time default), unless `ejection` itself is longer. */
export const MAX_EJECTION_MS = 300_000;

/** The n-th ejection in a row (1-based) lasts `base` x 2^(n-1), capped. */
export function ejectionMs(base: number, n: number): number {
  const cap = Math.max(MAX_EJECTION_MS, base);
  return Math.min(cap, base * 2 ** Math.max(0, Math.min(n - 1, 30)));
}

/** What an OutlierDetector needs of its pool (a Pool, or a stand-in in unit tests). */
export interface WatchedPool {
  readonly config: PoolConfig;
  readonly servers: readonly Server[];
}

interface Entry {
  consecutive: number;          // failures in a row since the last success
  ejections: number;            // ejections in a row (decays while the server behaves)
  unejectedAt: number;          // when the last ejection ended; -Infinity before any
  timer: NodeJS.Timeout | null;
}

export class OutlierDetector {
  readonly #pool: WatchedPool;
  readonly #now: () => number;
  readonly #entries = new WeakMap<Server, Entry>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Ejections refused because `max_ejected_percent` was reached (for /status and metrics). */
  capped = 0;
  #stopped = false;

  constructor(pool: WatchedPool, now: () => number) {
    this.#pool = pool;
    this.#now = now;
  }

  /**
   * One failed attempt on `server`: connect refused or timed out, a 5xx answer, an invalid
   * 101 or a handshake timeout. `failures` in a row eject it, unless that would put more than
   * `max_ejected_percent` of the pool out at once (Envoy: then nobody more is ejected).
   */
  failure(server: Server, detail: string): void {
    const cfg = this.#pool.config.outlier;
    if (!cfg || server.ejected || this.#stopped) return;
    const e = this.#entry(server);
    e.consecutive++;
    if (e.consecutive < cfg.failures) return;
    const servers = this.#pool.servers;
    let ejected = 0;
    for (const s of servers) if (s.ejected) ejected++;
    if ((ejected + 1) * 100 > cfg.max_ejected_percent * servers.length) {
      this.capped++;
      return;
    }
    // The backoff decays by one step for every base ejection period spent back in service.
    const calm = Math.floor((this.#now() - e.unejectedAt) / cfg.ejection);
    e.ejections = Math.max(0, e.ejections - (Number.isFinite(calm) ? calm : e.ejections)) + 1;
    const ms = ejectionMs(cfg.ejection, e.ejections);
    const reason = `ejected: ${e.consecutive} consecutive upgrade failures (last: ${detail}); ejection ${e.ejections} for ${formatMs(ms)}`;
    e.consecutive = 0;
    server.ejectionsTotal++;
    server.status.setEjected(true, reason);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      e.timer = null;
      this.#uneject(server, e);
    }, ms);
    timer.unref();
    e.timer = timer;
    this.#timers.add(timer);
  }

  /** A successful attempt (a valid 101, or any non-5xx answer): the failure streak starts over. */
  success(server: Server): void {
    const e = this.#entries.get(server);
    if (e) e.consecutive = 0;
  }

  /** Ends an ejection before its timer (an active websocket check passed). */
  endEarly(server: Server, _why: string): void {
    const e = this.#entries.get(server);
    if (!e || !server.ejected) return;
    if (e.timer) { clearTimeout(e.timer); this.#timers.delete(e.timer); e.timer = null; }
    this.#uneject(server, e);
  }

  /** Ejection count in a row for `server` (0 when never ejected). */
  ejections(server: Server): number {
    return this.#entries.get(server)?.ejections ?? 0;
  }

  /** Stops the timers; servers ejected now stay ejected (the pool is going away). */
  close(): void {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  destroy(): void {
    this.close();
  }

  #uneject(server: Server, e: Entry): void {
    e.unejectedAt = this.#now();
    e.consecutive = 0;
    server.status.setEjected(false, null);
  }

  #entry(server: Server): Entry {
    let e = this.#entries.get(server);
    if (!e) this.#entries.set(server, (e = { consecutive: 0, ejections: 0, unejectedAt: -Infinity, timer: null }));
    return e;
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
