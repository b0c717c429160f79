/**
 * One backend server, in three parts: its identity (pool, name, address, configured weight), its
 * state machine (src/pool/server-state.ts: health, admin, drain and ejection bits with their
 * reasons), and its local counts (src/pool/lease.ts: changed only through leases; plus the plain
 * per-chunk counters the data path adds to). Everything here is read at scrape time.
 */

import type { ServerConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { ConnectionCounts, Lease } from './lease.js';
import { ServerStateMachine, type ServerState, type StateChange } from './server-state.js';
import { NO_RAMP, rampFactor, type RampSource } from './slow-start.js';

export type { ServerState, StateBit } from './server-state.js';

/** Told of every state change of a server (log line, metrics, hash-ring rebuilds). */
export type StateListener = StateChange<Server>;

/** One connection's place in a server's counts (src/pool/lease.ts). */
export type ServerLease = Lease<Server>;

export interface ServerOptions {
  /** Health at creation: false when the pool runs active checks (no traffic before the first pass). */
  readonly healthy?: boolean;
  /** Clock, `slow_start` window, and whether the listeners are open yet; default: no ramp. */
  readonly ramp?: RampSource;
  /** Told of every state change (a pool passes its own list, shared by all its servers). */
  readonly listeners?: StateListener[];
  /** Where a failing listener is logged. */
  readonly log?: Logger;
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

/** A drain under way (admin, reload, discovery): its end, and how to stop it early (admin enable). */
export interface DrainJob {
  readonly done: Promise<void>;
  readonly cancel: () => void;
}

/** The config a live server was built from (discovered pools keep members across a reload with it). */
export function serverConfigOf(s: Server): ServerConfig {
  return { name: s.name, url: s.url, host: s.host, port: s.port, tls: s.tls, weight: s.configuredWeight };
}

export class Server {
  // ---- identity ----
  readonly pool: string;
  readonly name: string;
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  #configuredWeight: number;
  /** An agent weight from the server's load report (src/pool/load-poller.ts), replacing the configured one; null when none. */
  #reportedWeight: number | null = null;

  /** The weight in balancer.yaml (a reload sets it: `configure`). */
  get configuredWeight(): number { return this.#configuredWeight; }
  /** The weight before slow start: a load report's while it gives one, else the configured one (/status `weight`). */
  get baseWeight(): number { return this.#reportedWeight ?? this.#configuredWeight; }
  /** A load report's weight, or null when the report gives none or went stale. */
  reportWeight(weight: number | null): void { this.#reportedWeight = weight; }

  /**
   * The effective weight, what algorithms read (ServerView.weight): `baseWeight`, ramped by slow
   * start for `slow_start` after the server becomes ready (/status `effective_weight`).
   */
  get weight(): number {
    const base = this.baseWeight;
    if (this.#readySince === -Infinity) return base;
    const f = rampFactor(this.#ramp.now() - this.#readySince, this.#ramp.window());
    if (f === 1) this.#readySince = -Infinity;   // ramp over: no more clock reads
    return base * f;
  }

  readonly #ramp: RampSource;
  #readySince = -Infinity;   // start of the slow-start ramp; -Infinity = full weight

  // ---- state ----
  /** The state machine: every change of health, admin, drain or ejection goes through it. */
  readonly status: ServerStateMachine<Server>;
  get state(): ServerState { return this.status.state; }
  /** ready = healthy && enabled && !draining && !ejected: what the pick loop filters on. */
  get ready(): boolean { return this.status.ready; }
  /** Why the server is not up (null when up). */
  get reason(): string | null { return this.status.reason; }
  get healthy(): boolean { return this.status.healthy; }
  get enabled(): boolean { return this.status.enabled; }
  get draining(): boolean { return this.status.draining; }
  get ejected(): boolean { return this.status.ejected; }
  /** The drain in progress, if any (src/runtime.ts drainServer). */
  drain: DrainJob | null = null;
  /** Open tunnels on this server, oldest first (insertion order): drains and rebalancing close from here. */
  readonly tunnels = new Set<ServerTunnel>();

  // ---- local counts: connections only through leases ----
  readonly #counts = new ConnectionCounts();
  /** A connection on this server from now until the lease is released (once). */
  lease(): ServerLease { return new Lease(this, this.#counts); }
  /** Connections open on this server from this process (what /status and metrics report). */
  get localActive(): number { return this.#counts.active; }
  /** What algorithms read: the farm-wide count. */
  get active(): number { return this.#counts.active + this.farm[0]; }
  /** Tunnels opened since start. */
  get total(): number { return this.#counts.total; }
  get connectFailures(): number { return this.#counts.connectFailures; }

  // Per chunk: added to by the holder of a lease on this server (tunnel, exchange); plain numbers, no call.
  bytesIn = 0;        // client -> server (upstream direction)
  bytesOut = 0;       // server -> client (downstream direction)
  messagesIn = 0;
  messagesOut = 0;
  /** Active health checks that failed (every probe, not only those that flipped the state): the health checker counts. */
  checkFailures = 0;
  /** Outlier ejections of this server, each one counted by the outlier detector. */
  ejectionsTotal = 0;
  /** Answers to upgrades that opened no tunnel, by status class ("2xx" .. "5xx", "invalid"): src/metrics/answers.ts. */
  readonly answers: Record<string, number> = {};

  // ---- measured off the hot path ----
  /**
   * The other workers' and instances' figures for this server, replaced whole by the cluster sync
   * (src/cluster/farm-view.ts) off the hot path; NO_FARM in a lone process. Algorithms read the
   * farm-wide `active`, `bandwidth` and `rtt`.
   */
  farm: FarmFigures = NO_FARM;
  /** Tunnels the other workers and instances hold on this server. */
  get remoteActive(): number { return this.farm[0]; }
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
  /** Set by the pool's load poller, or in a cluster worker from the primary's reports. */
  load = 0;
  /** Set by the pool's load poller (custom-load): no, failed or old report; `loadError` says why. */
  loadStale = false;
  loadError: string | null = null;

  constructor(pool: string, cfg: ServerConfig, opts: ServerOptions = {}) {
    const healthy = opts.healthy ?? true;
    this.#ramp = opts.ramp ?? NO_RAMP;
    if (healthy && this.#ramp.serving()) this.#readySince = this.#ramp.now();   // `check: none`, added after start
    this.status = new ServerStateMachine<Server>({ owner: this, healthy, listeners: opts.listeners, log: opts.log, becameUp: this.#becameUp });
    this.pool = pool;
    this.name = cfg.name;
    this.url = cfg.url;
    this.host = cfg.host;
    this.port = cfg.port;
    this.tls = cfg.tls;
    this.#configuredWeight = cfg.weight;
  }

  /** Takes the reloadable settings of a server kept across a reload (a reported weight stays until the report drops it). */
  configure(cfg: ServerConfig): void {
    this.#configuredWeight = cfg.weight;
  }

  /** Becoming ready once the listeners are open starts the slow-start ramp; servers ready before begin at full weight (HAProxy). */
  readonly #becameUp = (): void => {
    if (this.#ramp.serving()) this.#readySince = this.#ramp.now();
  };
}
