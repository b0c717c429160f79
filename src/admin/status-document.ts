/** The /status document's type: what one process builds (status.ts), what a primary merges over its workers (src/cluster/status-merge.ts) and serves with its worker list. */

import type { RouteMatch } from '../config/types.js';
import type { ServerState } from '../pool/server.js';

export interface ListenerAddress { readonly kind: 'proxy' | 'admin'; readonly address: string; readonly port: number }

/** The `shutting_down` field: null while serving; after a stop signal, the phase and what is left of the grace. */
export interface ShuttingDown { readonly phase: 'grace' | 'drain'; readonly grace_ends_in_ms: number }

/** One server of a pool. The counters are summed by a cluster merge (SUMMED in src/cluster/status-merge.ts). */
export interface ServerStatus {
  name: string;
  url: string;
  state: ServerState;
  reason: string | null;
  /** Present (true) for a server a reload or discovery removed that still drains its tunnels. */
  removed?: true;
  /** Configured, or a load report's agent weight while it gives one; `effective_weight` is that, ramped by slow start. */
  weight: number;
  effective_weight: number;
  /** This process's tunnels (a merge: the tree's). */
  active: number;
  total: number;
  /** With `cluster:`: every instance's tunnels, what picks read. */
  active_farm?: number;
  bytes_in: number;
  bytes_out: number;
  messages_in: number;
  messages_out: number;
  /** This process's bytes/s. */
  bandwidth_bps: number;
  /** The farm-wide mean that picks read (the same in every worker). */
  rtt_ms: number;
  load: number;
  /** With `cluster:`: every instance's bytes/s. */
  bandwidth_farm_bps?: number;
  load_stale: boolean;
  load_error: string | null;
  /** Answers to upgrades that opened no tunnel, by class ("5xx": 3). */
  answers: Record<string, number>;
  check_failures: number;
  ejections: number;
}

export interface PoolStatus {
  /** A `{ module }` algorithm shows the name its factory returned. */
  algorithm: string;
  servers: ServerStatus[];
}

export interface RouteStatus { name: string; pool: string; algorithm: string; match: RouteMatch }

/** What arrived over HTTP/2 (listeners with `http2: true`), open now and since start; its tunnels and exchanges are in `connections` and the servers' counts too. */
export interface Http2Status {
  sessions: number;
  sessions_total: number;
  tunnels: number;
  tunnels_total: number;
  exchanges: number;
  exchanges_total: number;
}

/**
 * `cluster` and `sharing` are the sharing modules' own reports (src/cluster/redis-link.ts,
 * src/cluster/sharing.ts), passed through as they give them: this document does not look inside.
 */
export type SharingReport = unknown;

/** GET /status of one process (a lone balancer, or one worker's part of a tree). */
export interface StatusDocument {
  /** What /healthz says: true from the stop signal on. */
  draining: boolean;
  shutting_down: ShuttingDown | null;
  connections: number;
  listeners: ListenerAddress[];
  routes: RouteStatus[];
  pools: Record<string, PoolStatus>;
  /** A lone process's (a cluster primary's merge leaves it out: each worker's is in its own /status). */
  http2?: Http2Status;
  cluster?: SharingReport;
  sharing?: SharingReport;
}

/** One worker in a process tree's /status. */
export interface WorkerEntry {
  id: number;
  pid: number | null;
  ready: boolean;
  crashes: number;
  restarts: number;
  /** null: the worker did not answer in time. */
  connections: number | null;
  /** This worker's view of the farm's tunnel counts, by `pool/server`. */
  farm_active: Record<string, number> | null;
  /** ... and of each server's farm-wide bandwidth, RTT and load. */
  farm_view: Record<string, ServerFarmView> | null;
}

/** One worker's view of a server's farm-wide figures (src/cluster/farm-view.ts builds it): what its picks read besides `active`. */
export interface ServerFarmView { readonly bandwidth_bps: number; readonly rtt_ms: number; readonly load: number; readonly load_stale: boolean }

/** GET /status of a cluster primary: the workers' documents merged, plus the worker list. */
export interface TreeStatusDocument extends StatusDocument {
  workers: WorkerEntry[];
  restarting: boolean;
  /** Unplanned exits, each replaced. */
  worker_crashes: number;
  /** Planned (rolling restart). */
  worker_restarts: number;
  sharing: SharingReport;
}
