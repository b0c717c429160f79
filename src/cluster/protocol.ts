/** The IPC messages between the cluster primary and its workers (node:cluster's channel, JSON-serialized). */

import type { Counts } from './counts.js';

export interface HealthState { readonly pool: string; readonly server: string; readonly healthy: boolean; readonly reason: string | null }

/** Primary -> worker. Messages with `id` expect a `reply` with the same id. */
export type ToWorker =
  | { readonly t: 'health'; readonly states: readonly HealthState[] }
  | { readonly t: 'remote'; readonly counts: Counts }
  | { readonly t: 'action'; readonly id: number; readonly pool: string; readonly server: string; readonly action: 'drain' | 'enable' | 'disable' }
  | { readonly t: 'reload'; readonly id: number }
  | { readonly t: 'status'; readonly id: number }
  | { readonly t: 'metrics'; readonly id: number }
  | { readonly t: 'drain' };

/** Worker -> primary. */
export type FromWorker =
  | { readonly t: 'ready' }
  | { readonly t: 'counts'; readonly counts: Counts }
  | { readonly t: 'reply'; readonly id: number; readonly ok: boolean; readonly body?: unknown; readonly code?: string; readonly message?: string };

/** A message on the cluster channel that is ours (node:cluster and prom-client send their own). */
export function isOurs(m: unknown): m is { t: string } {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string' && (m as { wslb?: unknown }).wslb === 1;
}

/** Tags a message as ours. */
export function tag<T extends object>(m: T): T & { wslb: 1 } {
  return { ...m, wslb: 1 };
}
