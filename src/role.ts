/**
 * The parts of one balancer that its process's role chooses, given to the Runtime at construction
 * (never patched in later): a lone process's are here (`loneParts`); a cluster worker's and those
 * of an instance sharing through Redis are built in src/cluster/ (worker-role.ts, instance-role.ts).
 */

import type { PoolConfig } from './config/types.js';
import type { SharedCounts } from './edge/admission.js';
import type { SessionShare } from './http/fallback.js';
import type { Logger } from './log.js';
import { logStateChanges } from './pool/health.js';
import type { Server, StateListener } from './pool/server.js';

export type AdminAction = 'drain' | 'enable' | 'disable';

/** Where each server's health and load come from. */
export interface HealthSource {
  /**
   * True for a pool this process checks and polls itself. The Runtime starts neither health checks
   * nor load polls on the others: their states arrive from elsewhere (a worker: the primary's reports).
   */
  measuresHere(pool: PoolConfig): boolean;
  /** Resolves once the states that arrive from elsewhere are known; awaited before the listeners open. */
  known(): Promise<void>;
}

/**
 * What this process shares with the other workers and instances, read on the hot path without
 * waiting (null: nothing shared). Farm-wide figures are shared too, but nothing here reads them:
 * a sharing role replaces each Server's `farm` itself (src/cluster/farm-view.ts).
 */
export interface Sharing {
  /** Per-IP connection counts (the `max_connections_per_ip` check adds the others'). */
  readonly ipCounts: SharedCounts | null;
  /** Affinity sessions learnt by any of them. */
  readonly sessions: SessionShare | null;
}

/** What /status adds to this process's document. */
export interface StatusPart {
  /** Per server, the farm-wide `active_farm` and `bandwidth_farm_bps` besides this process's own figures. */
  readonly farmColumns: boolean;
  /** The `cluster` and `sharing` sections, as the role reports them. */
  sections(): { cluster?: unknown; sharing?: unknown };
}

export interface RoleParts {
  readonly health: HealthSource;
  readonly sharing: Sharing;
  /** How an admin action applied through this process's own admin API travels to the other processes. */
  actionIssued(server: Server, action: AdminAction): void;
  readonly status: StatusPart;
  /** Writes the `server state changed` line of every pool's servers (or leaves it to another process). */
  readonly logStateChange: StateListener;
  /** Called once the listeners are open: what runs in the background (table ticks, a Redis link). */
  start(): void;
  /** Called after the drain (and on abort): leaves the other processes. Safe to call twice. */
  close(): Promise<void>;
}

/** A lone process: it checks and polls everything itself, shares nothing, logs every state change. */
export function loneParts(log: Logger): RoleParts {
  return {
    health: { measuresHere: () => true, known: () => Promise.resolve() },
    sharing: { ipCounts: null, sessions: null },
    actionIssued: () => {},
    status: { farmColumns: false, sections: () => ({}) },
    logStateChange: logStateChanges(log),
    start: () => {},
    close: () => Promise.resolve(),
  };
}
