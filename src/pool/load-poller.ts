/**
 * Polls every server of a pool for its load (custom-load) on one timer: writes `load`,
 * `loadStale` and `loadError`, and applies agent-style `weight: N` / `drain: true` (HAProxy
 * agent-check). A failed poll, or no good report for `stale_after` (default 3 intervals),
 * makes the server stale: its load is ignored (custom-load falls back to least connections
 * for it) and any reported weight or drain is undone, as if it had no agent.
 */

import type { PoolConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { HttpLoadSource } from './load-http.js';
import { scoreReport } from './load-report.js';
import { SnmpLoadSource } from './load-snmp.js';
import type { Server } from './server.js';

export interface LoadSettings {
  readonly source: 'http' | 'snmp';
  readonly path: string;
  readonly interval: number;
  readonly stale_after?: number;
  readonly score?: Readonly<Record<string, number>>;
  readonly port?: number;
  readonly community: string;
  readonly oids?: Readonly<Record<string, string>>;
}

/** The `load:` defaults of pool-schema.ts, for a custom-load pool written without a `load:` block. */
/** The admin note of a drain a load report asked for (a cluster worker applies the primary's reports with it too). */
export const REPORT_DRAIN = 'load report: drain';

export const DEFAULT_LOAD: LoadSettings = { source: 'http', path: '/load', interval: 1000, community: 'public' };

interface PollState { inFlight: boolean; at: number; drained: boolean }

export interface PolledPool {
  readonly name: string;
  readonly servers: readonly Server[];
  readonly config: Pick<PoolConfig, 'tls' | 'servers'>;
}

export interface PollerOptions {
  readonly log?: Logger | undefined;
  /** Clock (ms) for staleness; default performance.now. */
  readonly now?: () => number;
  /** Replaces the http/snmp source (tests): resolves with the report body. */
  readonly fetch?: (s: Server) => Promise<unknown>;
}

export class LoadPoller {
  readonly #pool: PolledPool;
  readonly #settings: LoadSettings;
  readonly #staleMs: number;
  readonly #fetch: (s: Server) => Promise<unknown>;
  readonly #closeSource: () => void;
  readonly #log: Logger | undefined;
  readonly #now: () => number;
  readonly #state = new WeakMap<Server, PollState>();   // weak: members removed by reload or discovery just drop out
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(pool: PolledPool, settings: LoadSettings, opts: PollerOptions = {}) {
    this.#pool = pool;
    this.#settings = settings;
    this.#staleMs = settings.stale_after ?? 3 * settings.interval;
    this.#log = opts.log;
    this.#now = opts.now ?? (() => performance.now());
    const timeoutMs = Math.min(settings.interval, this.#staleMs);
    if (opts.fetch) {
      this.#fetch = opts.fetch;
      this.#closeSource = () => {};
    } else if (settings.source === 'snmp') {
      const src = new SnmpLoadSource({ port: settings.port ?? 161, community: settings.community, oids: settings.oids ?? {}, timeoutMs });
      this.#fetch = (s) => src.fetch(s);
      this.#closeSource = () => src.close();
    } else {
      const src = new HttpLoadSource({ path: settings.path, ...(settings.port ? { port: settings.port } : {}), timeoutMs }, pool.config.tls);
      this.#fetch = (s) => src.fetch(s);
      this.#closeSource = () => src.close();
    }
  }

  /** Marks every server stale ("no report yet"), polls at once, then every interval. */
  start(): void {
    for (const s of this.#pool.servers) this.#stateOf(s);
    void this.round();
    this.#timer ??= setInterval(() => void this.round(), this.#settings.interval);
    this.#timer.unref();
  }

  /** One polling round; resolves when every poll it started has settled (tests await it). */
  async round(): Promise<void> {
    const t = this.#now();
    const polls: Promise<void>[] = [];
    for (const s of this.#pool.servers) {
      const st = this.#stateOf(s);
      if (!s.loadStale && t - st.at > this.#staleMs) this.#stale(s, st, `no load report for ${Math.round(t - st.at)} ms`);
      if (!st.inFlight) polls.push(this.#poll(s, st));
    }
    await Promise.all(polls);
  }

  async #poll(s: Server, st: PollState): Promise<void> {
    st.inFlight = true;
    try {
      const report = scoreReport(await this.#fetch(s), this.#settings.score);
      if (this.#closed) return;
      if (s.loadStale) this.#log?.info({ pool: this.#pool.name, server: s.name }, 'load reports resumed');
      s.load = report.score;
      s.loadStale = false;
      s.loadError = null;
      st.at = this.#now();
      s.reportWeight(report.weight ?? null);
      if (report.drain && !s.draining) { s.status.setDraining(true, REPORT_DRAIN); st.drained = true; }
      else if (!report.drain) this.#undrain(s, st);
    } catch (err) {
      if (!this.#closed) this.#stale(s, st, (err as Error).message);
    } finally {
      st.inFlight = false;
    }
  }

  #stale(s: Server, st: PollState, why: string): void {
    if (!s.loadStale) this.#log?.warn({ pool: this.#pool.name, server: s.name, why }, 'load report stale: least-connections for this server');
    s.loadStale = true;
    s.loadError = why;
    s.reportWeight(null);
    this.#undrain(s, st);
  }

  #undrain(s: Server, st: PollState): void {
    if (!st.drained) return;   // an admin drain is not ours to undo
    st.drained = false;
    s.status.setDraining(false, s.status.note === REPORT_DRAIN ? null : undefined);
  }

  #stateOf(s: Server): PollState {
    let st = this.#state.get(s);
    if (!st) {
      this.#state.set(s, (st = { inFlight: false, at: -Infinity, drained: false }));
      s.loadStale = true;
      s.loadError = 'no report yet';
    }
    return st;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#closeSource();
  }
}
