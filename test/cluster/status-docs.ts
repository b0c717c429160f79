/** Typed /status fixtures for merge tests: a worker's document with only the fields a test cares about spelled out. */

import type { PoolStatus, ServerStatus, StatusDocument } from '../../src/admin/status-document.js';
import type { WorkerStatus } from '../../src/cluster/status-merge.js';
import type { Slot } from '../../src/cluster/supervisor.js';

export const slot = (id: number): Slot => ({ id, worker: null, ready: true, startedAt: 0, crashes: 0, restarts: 0 });

/** One server with `active` tunnels and zero elsewhere, `extra` on top. */
export function server(name: string, active: number, extra: Partial<ServerStatus> = {}): ServerStatus {
  return {
    name, url: `ws://127.0.0.1:1/${name}`, state: 'up', reason: null, weight: 1, effective_weight: 1,
    active, total: active, bytes_in: 0, bytes_out: 0, messages_in: 0, messages_out: 0,
    bandwidth_bps: 0, rtt_ms: 0, load: 0, load_stale: false, load_error: null,
    answers: {}, check_failures: 0, ejections: 0, ...extra,
  };
}

export function document(connections: number, pools: Record<string, PoolStatus>, extra: Partial<StatusDocument> = {}): StatusDocument {
  return { draining: false, shutting_down: null, connections, listeners: [], routes: [], pools, ...extra };
}

/** Worker `id`'s reply: pools given as server lists (algorithm round-robin). */
export function worker(id: number, connections: number, pools: Record<string, ServerStatus[]>): WorkerStatus {
  return { slot: slot(id), status: document(connections, Object.fromEntries(Object.entries(pools).map(([n, servers]) => [n, { algorithm: 'round-robin', servers }]))), farm: {} };
}
