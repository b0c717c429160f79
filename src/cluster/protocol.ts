/** The IPC messages between the cluster primary and its workers (node:cluster's channel, JSON-serialized), and the per-server keys and records they carry. */

import type { TableMessage } from './replicated-table.js';

/**
 * The config in force, as the primary loaded it: the file's text and the environment values it was
 * interpolated with (`file`: as named on the command line, for the locations in errors). Workers never read the file.
 */
export interface ConfigSource { readonly text: string; readonly file: string; readonly env: Readonly<Record<string, string>> }

/** Per-server numbers as plain records keyed `pool/server` (serverKey). */
export type Counts = Record<string, number>;

export function serverKey(pool: string, server: string): string {
  return `${pool}/${server}`;
}

/** A load report as the primary's poller left it: `weight` the one to use, `drain` asked by the report. */
export interface LoadReport { readonly load: number; readonly stale: boolean; readonly error: string | null; readonly weight: number; readonly drain: boolean }

/** One server as the primary's checks left it (src/cluster/primary-checks.ts), with its load report when its pool is polled. */
export interface ServerReport {
  readonly pool: string; readonly server: string;
  readonly healthy: boolean; readonly reason: string | null;
  readonly load?: LoadReport;
}

/** Primary -> worker. Messages with `id` expect a `reply` with the same id. */
export type ToWorker =
  /** The config to run: the first answer to `hello` (the worker builds its balancer from it), and again to a worker that was starting during a reload. */
  | { readonly t: 'config'; readonly source: ConfigSource }
  /** Server reports that changed (all of them at the worker's hello and after a reload). */
  | { readonly t: 'servers'; readonly reports: readonly ServerReport[] }
  /** Replicated tables' messages of the other origins (workers, the primary, other instances): src/cluster/replicated-table.ts. */
  | { readonly t: 'tables'; readonly msgs: TableMessage[] }
  /** `at`: when the primary issued it (the same action read later from the admin table is not applied twice). */
  | { readonly t: 'action'; readonly id: number; readonly pool: string; readonly server: string; readonly action: 'drain' | 'enable' | 'disable'; readonly at: number; readonly caller?: string }
  /** Apply this config (the primary validated it): the worker answers with its ReloadOutcome. */
  | { readonly t: 'reload'; readonly id: number; readonly source: ConfigSource }
  | { readonly t: 'status'; readonly id: number }
  | { readonly t: 'metrics'; readonly id: number }
  /** The worker's last dashboard tick and its own open tunnels per server (src/cluster/primary-events.ts). */
  | { readonly t: 'sample'; readonly id: number }
  /** Leave: stop accepting, drain, exit. `restart`: a planned restart of this worker (tunnels close with 1012, not 1001). */
  | { readonly t: 'drain'; readonly restart?: boolean };

/** Worker -> primary. */
export type FromWorker =
  | { readonly t: 'ready' }
  /** The worker listens now (what was sent before it did is lost): the primary answers with the config, then the state. */
  | { readonly t: 'hello' }
  /** This worker's own tables' messages (figures, per-IP counts, affinity sessions). */
  | { readonly t: 'tables'; readonly msgs: TableMessage[] }
  /** Origins whose messages arrived out of sequence here (one dropped while it was silent): their full tables, please. */
  | { readonly t: 'tables-sync'; readonly origins: string[] }
  | { readonly t: 'reply'; readonly id: number; readonly ok: boolean; readonly body?: unknown; readonly code?: string; readonly message?: string }
  /** The worker's metrics as it leaves on a drain (its last message): the primary keeps its counters (src/cluster/tree-metrics.ts). */
  | { readonly t: 'final-metrics'; readonly body: unknown };

/** A message on the cluster channel that is ours (node:cluster and prom-client send their own). */
export function isOurs(m: unknown): m is { t: string } {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string' && (m as { wslb?: unknown }).wslb === 1;
}

/** Tags a message as ours. */
export function tag<T extends object>(m: T): T & { wslb: 1 } {
  return { ...m, wslb: 1 };
}
