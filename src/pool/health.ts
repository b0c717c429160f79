/** Active health checks of one pool: a jittered probe loop per server, rise/fall counting, and the state-change log line. */

import { readFileSync } from 'node:fs';
import type { HealthConfig, PoolConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { runProbe, type Probe, type ProbeResult, type ProbeTls } from './probes.js';
import { recordRtt } from './rtt.js';
import type { Server, StateListener } from './server.js';

/** Checks of many servers drift apart by up to this share of the interval, so they never fire in lockstep. */
export const JITTER = 0.1;

/** The delay before the next check: `interval` +-10%; after a server's very first check, a uniform offset within one interval. */
export function nextDelay(interval: number, random: () => number, afterFirst = false): number {
  if (afterFirst) return random() * interval;
  return interval * (1 + (2 * random() - 1) * JITTER);
}

/**
 * Consecutive results in a row (HAProxy rise/fall): `fall` failures mark an up server down,
 * `rise` passes mark a down server up. A server that has never been up goes up on its first
 * pass (at start one passing check marks a server up; afterwards rise/fall apply).
 */
export class RiseFall {
  up: boolean;
  everUp: boolean;
  passes = 0;
  failures = 0;

  constructor(up: boolean) {
    this.up = up;
    this.everUp = up;
  }

  /** Counts one result; returns the new state when it flips, else null. */
  observe(ok: boolean, rise: number, fall: number): boolean | null {
    if (ok) {
      this.failures = 0;
      this.passes++;
      if (!this.up && (this.passes >= rise || !this.everUp)) return this.#flip(true);
    } else {
      this.passes = 0;
      this.failures++;
      if (this.up && this.failures >= fall) return this.#flip(false);
    }
    return null;
  }

  #flip(up: boolean): boolean {
    this.up = up;
    this.everUp ||= up;
    this.passes = 0;
    this.failures = 0;
    return up;
  }
}

/** What a HealthChecker needs of its pool (a Pool, or a stand-in in unit tests). */
export interface CheckedPool {
  readonly name: string;
  readonly config: PoolConfig;
  readonly servers: readonly Server[];
  /** Ends an outlier ejection early (a websocket check just proved upgrades work). */
  readonly outlier?: { endEarly(server: Server, why: string): void };
}

export interface HealthDeps {
  readonly random: () => number;
  readonly now: () => number;
  readonly probe?: Probe;
}

interface Tracked {
  readonly server: Server;
  counter: RiseFall;
  checks: number;
  timer: NodeJS.Timeout | null;
  abort: AbortController | null;
  inflight: Promise<void> | null;
  firstDone: (() => void) | null;
}

export class HealthChecker {
  readonly #pool: CheckedPool;
  readonly #deps: HealthDeps;
  readonly #probe: Probe;
  readonly #tracked = new Map<Server, Tracked>();
  #started = false;
  #stopped = false;

  constructor(pool: CheckedPool, deps: HealthDeps) {
    this.#pool = pool;
    this.#deps = deps;
    this.#probe = deps.probe ?? runProbe;
  }

  /** Fires every server's first check now; resolves when each has a first result (bounded by `timeout`). */
  start(): Promise<void> {
    if (this.#started || this.#stopped) return Promise.resolve();
    this.#started = true;
    return this.sync();
  }

  /**
   * Follows the pool's membership after a reload or discovery change: new servers get their
   * first check now, removed ones stop being checked. Resolves when the new ones have a first result.
   */
  sync(): Promise<void> {
    if (!this.#started || this.#stopped) return Promise.resolve();
    const current = new Set(this.#pool.servers);
    for (const [server, t] of this.#tracked) {
      if (!current.has(server)) { this.#stop(t, true); this.#tracked.delete(server); }
    }
    const firsts: Promise<void>[] = [];
    const off = this.#pool.config.health.check === 'none';
    for (const server of current) {
      const t = this.#tracked.get(server);
      if (!t) {
        const nt: Tracked = { server, counter: new RiseFall(server.healthy), checks: 0, timer: null, abort: null, inflight: null, firstDone: null };
        this.#tracked.set(server, nt);
        firsts.push(new Promise((resolve) => { nt.firstDone = resolve; }));
        this.#check(nt);
      } else if (!t.inflight && (!t.timer || off)) {
        // A reload turned checks on (nothing was scheduled) or off (up now, not at the next tick).
        if (t.timer) clearTimeout(t.timer);
        this.#check(t);
      }
    }
    return Promise.all(firsts).then(() => {});
  }

  /** Stops scheduling; resolves when checks in flight have finished (each bounded by its timeout). */
  async close(): Promise<void> {
    this.#stopped = true;
    const inflight: Promise<void>[] = [];
    for (const t of this.#tracked.values()) {
      this.#stop(t, false);
      if (t.inflight) inflight.push(t.inflight);
    }
    await Promise.all(inflight);
  }

  /** Stops scheduling and aborts checks in flight. */
  destroy(): void {
    this.#stopped = true;
    for (const t of this.#tracked.values()) this.#stop(t, true);
  }

  #stop(t: Tracked, abort: boolean): void {
    if (t.timer) clearTimeout(t.timer);
    t.timer = null;
    if (abort) t.abort?.abort();
    t.firstDone?.();
    t.firstDone = null;
  }

  #check(t: Tracked): void {
    t.timer = null;
    if (this.#stopped) return;
    const cfg = this.#pool.config.health;
    const server = t.server;
    if (cfg.check === 'none') {
      // Checks off (perhaps by a reload): the server is up, and nothing is scheduled.
      t.counter = new RiseFall(true);
      server.status.setHealthy(true);
      t.firstDone?.();
      t.firstDone = null;
      return;
    }
    const started = this.#deps.now();
    const abort = new AbortController();
    t.abort = abort;
    t.inflight = this.#probe(server, cfg, abort.signal, this.#tls())
      .catch((err: unknown): ProbeResult => ({ ok: false, reason: err instanceof Error ? err.message : String(err) }))
      .then((result) => {
        t.inflight = null;
        t.abort = null;
        if (abort.signal.aborted || this.#tracked.get(server) !== t) return;
        this.#record(t, cfg, result);
        t.firstDone?.();
        t.firstDone = null;
        if (this.#stopped) return;
        // The interval runs from the start of a check, so a hung server is detected within
        // interval x fall + timeout, not (interval + timeout) x fall.
        const live = this.#pool.config.health.interval;
        const delay = nextDelay(live, this.#deps.random, t.checks++ === 0);
        t.timer = setTimeout(() => this.#check(t), Math.max(0, started + delay - this.#deps.now()));
        t.timer.unref();
      });
  }

  #record(t: Tracked, cfg: HealthConfig, r: ProbeResult): void {
    const server = t.server;
    if (r.ok && r.rttMs !== undefined) recordRtt(server, r.rttMs);
    const status = server.status;
    if (r.ok) {
      if (!t.counter.up && t.counter.everUp) status.setDownReason(`health check passing (${t.counter.passes + 1} of ${cfg.rise} to rise)`);
    } else {
      status.setDownReason(`health check failed: ${r.reason}`);
      server.checkFailures++;
    }
    const flip = t.counter.observe(r.ok, cfg.rise, cfg.fall);
    if (flip !== null) status.setHealthy(flip);
    else if (!status.known) status.setHealthy(t.counter.up);   // a first result is reported even when the server stays down
    // A websocket check is a real upgrade: passing it disproves what got the server ejected.
    if (r.ok && cfg.check === 'websocket' && server.ejected) this.#pool.outlier?.endEarly(server, 'websocket health check passed');
  }

  #tlsCache: { key: PoolConfig['tls']; value: ProbeTls | undefined } | null = null;

  /** The pool's upstream TLS settings for wss:// servers, the CA read once per config. */
  #tls(): ProbeTls | undefined {
    const t = this.#pool.config.tls;
    const sendProxy = this.#pool.config.send_proxy;
    if (this.#tlsCache && this.#tlsCache.key === t && this.#tlsCache.value?.sendProxy === sendProxy) return this.#tlsCache.value;
    let ca: Buffer | undefined;
    try { if (t?.ca) ca = readFileSync(t.ca); } catch { ca = undefined; }
    const value = t || sendProxy
      ? { ...(t ? { rejectUnauthorized: t.reject_unauthorized } : {}), ...(t?.servername ? { servername: t.servername } : {}), ...(ca ? { ca } : {}), ...(sendProxy ? { sendProxy } : {}) }
      : undefined;
    this.#tlsCache = { key: t, value };
    return value;
  }
}

/**
 * The `server state changed` log line: info when a server comes up, warn when it is anything else.
 * A server's first health result is one such line with `from: "unknown"` (up or down with its reason),
 * so a server that is down from the start is logged too.
 */
export function logStateChanges(log: Logger): StateListener {
  return (server, from, to, reason) => {
    const fields = { pool: server.pool, server: server.name, from, to, reason };
    if (to === 'up') log.info(fields, 'server state changed');
    else log.warn(fields, 'server state changed');
  };
}
