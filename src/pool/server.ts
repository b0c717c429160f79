/** One backend server: its address, its state bits and its plain counters (read at scrape time, merged by later worker sync). */

import type { ServerConfig } from '../config/types.js';
import { NO_RAMP, rampFactor, type RampSource } from './slow-start.js';

export type ServerState = 'up' | 'down' | 'draining' | 'disabled' | 'ejected';

/** The state bit that moved: health checks, admin enable/disable, a drain (admin, reload, discovery), outlier ejection. */
export type StateBit = 'healthy' | 'enabled' | 'draining' | 'ejected';

/**
 * Called on every `state` change. `from` is `unknown` for the first health result of a server
 * created waiting for it: that result is reported even when the server stays down.
 */
export type StateListener = (server: Server, from: ServerState | 'unknown', to: ServerState, reason: string | null, bit: StateBit) => void;

export interface ServerOptions {
  /** Health at creation: false when the pool runs active checks (no traffic before the first pass). */
  readonly healthy?: boolean;
  /** Clock, `slow_start` window, and whether the listeners are open yet; default: no ramp. */
  readonly ramp?: RampSource;
  readonly onStateChange?: StateListener;
}

/**
 * What a server's list of open tunnels needs of each one: drains and rebalancing close them,
 * shutdown cuts them. A src/tunnel/ Tunnel is one; declared here so pool/ never imports tunnel/
 * (the tunnel updates its server's counters, so it is the one that knows the other).
 */
export interface ServerTunnel {
  readonly finished: boolean;
  close(code: number): void;
  destroy(): void;
}

/**
 * What the other workers and instances hold on a server: their tunnels, their bytes/s, and the sum
 * and number of their non-zero RTT EWMAs (src/cluster/farm-view.ts replaces it whole each tick).
 */
export type FarmFigures = readonly [active: number, bandwidth: number, rttSum: number, rttCount: number];

/** A lone process's farm: nobody else. */
export const NO_FARM: FarmFigures = [0, 0, 0, 0];

/** The config a live server was built from (discovered pools keep members across a reload with it). */
export function serverConfigOf(s: Server): ServerConfig {
  return { name: s.name, url: s.url, host: s.host, port: s.port, tls: s.tls, weight: s.configWeight };
}

export class Server {
  readonly name: string;
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly pool: string;
  /** The weight from the config; `weight` is what algorithms see (slow start ramps it). */
  configWeight: number;

  /** What algorithms see: `configWeight`, ramped by slow start after the server becomes ready. */
  get weight(): number {
    if (this.#readySince === -Infinity) return this.configWeight;
    const f = rampFactor(this.#ramp.now() - this.#readySince, this.#ramp.window());
    if (f === 1) this.#readySince = -Infinity;   // ramp over: no more clock reads
    return this.configWeight * f;
  }
  set weight(w: number) { this.configWeight = w; }

  // State bits: ready = healthy && enabled && !draining && !ejected. Each setter
  // reports a `state` change to `onStateChange` and starts the slow-start ramp on becoming ready.
  #healthy: boolean;
  #enabled = true;
  #draining = false;
  #ejected = false;
  /** Why health checks / outlier detection took the server out; `reason` shows the one matching `state`. */
  downReason: string | null = null;
  ejectReason: string | null = null;
  #note: string | null = null;
  readonly #ramp: RampSource;
  #readySince = -Infinity;   // start of the slow-start ramp; -Infinity = full weight
  #known: boolean;           // false until the first health result of a server created unhealthy
  /** Called on every `state` change (the Pool fans it out: log line, metrics, hash-ring rebuilds). */
  onStateChange: StateListener | null;

  get healthy(): boolean { return this.#healthy; }
  /** Each assignment is a health result; the first one of a server created unhealthy is reported even if nothing changed. */
  set healthy(v: boolean) { const from = this.#known ? this.state : 'unknown'; this.#known = true; this.#healthy = v; this.#changed(from, 'healthy'); }
  /** False while a server created unhealthy waits for its first health result. */
  get known(): boolean { return this.#known; }
  get enabled(): boolean { return this.#enabled; }
  set enabled(v: boolean) { const from = this.state; this.#enabled = v; this.#changed(from, 'enabled'); }
  get draining(): boolean { return this.#draining; }
  set draining(v: boolean) { const from = this.state; this.#draining = v; this.#changed(from, 'draining'); }
  get ejected(): boolean { return this.#ejected; }
  set ejected(v: boolean) { const from = this.state; this.#ejected = v; this.#changed(from, 'ejected'); }

  /** Why the server is not up (null when up). Assigning sets the admin note shown while disabled or draining. */
  get reason(): string | null {
    switch (this.state) {
      case 'up': return null;
      case 'down': return this.downReason ?? 'waiting for the first health check';
      case 'ejected': return this.ejectReason ?? 'ejected';
      case 'disabled': return this.#note ?? 'disabled by admin';
      case 'draining': return this.#note ?? 'draining';
    }
  }
  set reason(v: string | null) { this.#note = v; }

  /** Becoming ready once the listeners are open starts the slow-start ramp; servers ready before begin at full weight (HAProxy). */
  #changed(from: ServerState | 'unknown', bit: StateBit): void {
    const to = this.state;
    if (to === from) return;
    if (to === 'up' && this.#ramp.serving()) this.#readySince = this.#ramp.now();
    this.onStateChange?.(this, from, to, this.reason, bit);
  }

  // Counters: the tunnel increments on connect and decrements in its single close path.
  /** Tunnels open on this server from this process (what /status and metrics report). */
  localActive = 0;
  /**
   * The other workers' and instances' figures for this server, replaced whole by the cluster sync
   * (src/cluster/farm-view.ts) off the hot path; NO_FARM in a lone process. Algorithms read the
   * farm-wide `active`, `bandwidth` and `rtt`.
   */
  farm: FarmFigures = NO_FARM;
  /** Tunnels the other workers and instances hold on this server. */
  get remoteActive(): number { return this.farm[0]; }
  get active(): number { return this.localActive + this.farm[0]; }
  set active(v: number) { this.localActive = v - this.farm[0]; }   // `active++` / `active--` move the local count
  total = 0;
  bytesIn = 0;        // client -> server (upstream direction)
  bytesOut = 0;       // server -> client (downstream direction)
  messagesIn = 0;
  messagesOut = 0;
  connectFailures = 0;
  /** Active health checks that failed (every probe, not only those that flipped the state). */
  checkFailures = 0;
  /** Outlier ejections of this server, each one counted. */
  ejectionsTotal = 0;
  /** Answers to upgrades that opened no tunnel, by status class ("2xx" .. "5xx", "invalid"): src/metrics/answers.ts. */
  readonly answers: Record<string, number> = {};

  /** Open tunnels on this server, oldest first (insertion order): drains and rebalancing close from here. */
  readonly tunnels = new Set<ServerTunnel>();
  /** The drain in progress (admin, reload, discovery), if any. */
  drainJob: Promise<void> | null = null;
  drainCancel: (() => void) | null = null;

  /** This process's bytes/s EWMA (both directions), written by its sampler (src/pool/bandwidth.ts); /status shows it. */
  localBandwidth = 0;
  /** What algorithms read: the farm-wide bytes/s. */
  get bandwidth(): number { return this.localBandwidth + this.farm[1]; }
  /** This process's response-time EWMA in ms (src/pool/rtt.ts); 0 = not measured here. */
  localRtt = 0;
  /**
   * What algorithms read: the mean RTT over the farm's processes that have measured this server
   * (unweighted: RTT is the server's and the network's, not the process's), 0 when none has.
   */
  get rtt(): number {
    const farm = this.farm;
    if (farm[3] === 0) return this.localRtt;
    return (this.localRtt + farm[2]) / (farm[3] + (this.localRtt > 0 ? 1 : 0));
  }
  /** Set by the pool's load poller, or in a cluster worker by the primary's (src/cluster/farm-load.ts). */
  load = 0;
  /** Set by the pool's load poller (custom-load): no, failed or old report; `loadError` says why. */
  loadStale = false;
  loadError: string | null = null;

  constructor(pool: string, cfg: ServerConfig, opts: ServerOptions = {}) {
    this.#healthy = opts.healthy ?? true;
    this.#ramp = opts.ramp ?? NO_RAMP;
    this.#known = this.#healthy;
    if (this.#healthy && this.#ramp.serving()) this.#readySince = this.#ramp.now();   // `check: none`, added after start
    this.onStateChange = opts.onStateChange ?? null;
    this.pool = pool;
    this.name = cfg.name;
    this.url = cfg.url;
    this.host = cfg.host;
    this.port = cfg.port;
    this.tls = cfg.tls;
    this.configWeight = cfg.weight;
    this.weight = cfg.weight;
  }

  /** Takes the reloadable settings of a server kept across a reload. */
  configure(cfg: ServerConfig): void {
    this.configWeight = cfg.weight;
    this.weight = cfg.weight;
  }

  get ready(): boolean {
    return this.healthy && this.enabled && !this.draining && !this.ejected;
  }

  get state(): ServerState {
    if (!this.enabled) return 'disabled';
    if (this.draining) return 'draining';
    if (this.ejected) return 'ejected';
    return this.healthy ? 'up' : 'down';
  }
}
