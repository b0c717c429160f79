/**
 * Sums the workers' /status documents into one: per-server counters added, config read from the
 * first worker that lists the server, the state as treeState() ranks the workers' (a server up in
 * any worker is `up`). A server or pool only some workers still list (a removed server draining
 * there, `removed: true`) is kept as they list it.
 */

import type { PoolStatus, ServerFarmView, ServerStatus, StatusDocument } from '../admin/status-document.js';
import type { ServerState } from '../pool/server.js';
import type { Counts } from './protocol.js';
import type { CheckCount } from './primary-checks.js';
import type { Slot } from './supervisor.js';

/** What a worker answers to `{ t: 'status' }` (src/cluster/worker.ts). */
export interface WorkerStatusReply { readonly status: StatusDocument; readonly farm: Counts; readonly view?: Record<string, ServerFarmView> }

export interface WorkerStatus extends WorkerStatusReply { readonly slot: Slot }

/** The merge of the workers' documents: the fields a primary takes from them (it sets the rest itself). */
export type MergedStatus = Pick<StatusDocument, 'connections' | 'listeners' | 'routes' | 'pools'>;

/**
 * A worker's reply body as it crossed the IPC channel (JSON, so `unknown` here): accepted when it
 * has the document's frame (pools by name with server lists, a connection count, farm counts);
 * anything else counts as a worker that did not answer.
 */
export function isWorkerStatusReply(body: unknown): body is WorkerStatusReply {
  if (!isObject(body) || !isObject(body['farm']) || !isObject(body['status'])) return false;
  const status = body['status'];
  if (typeof status['connections'] !== 'number' || !Array.isArray(status['listeners']) || !Array.isArray(status['routes'])) return false;
  const pools = status['pools'];
  return isObject(pools) && Object.values(pools).every((p) => isObject(p) && Array.isArray(p['servers']));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// bandwidth_bps is each worker's own bytes/s (src/admin/status.ts), so the sum counts each byte once; rtt_ms and load are farm-wide figures, the same in every worker: the first's is kept.
// check_failures: each worker's own probes of a discovered pool (the primary puts its own count on configured pools: src/cluster/primary-admin.ts).
const SUMMED = ['active', 'total', 'bytes_in', 'bytes_out', 'messages_in', 'messages_out', 'bandwidth_bps', 'check_failures', 'ejections'] as const satisfies readonly (keyof ServerStatus)[];

/**
 * The order in which one process's Server.state lets a state hide another (src/pool/server.ts),
 * with `up` first: workers disagree only on their own outlier ejections (and for a moment while an
 * admin action or a health result reaches them all), and the tree takes new tunnels to a server while
 * any worker does, which is also what wslb_server_up (max over workers) says.
 */
const RANK: readonly string[] = ['up', 'disabled', 'draining', 'ejected', 'down'] satisfies readonly ServerState[];

/** Whether state `a` wins over `b` for the tree (metric labels arrive as plain strings, hence `string`). */
export function outranks(a: string, b: string): boolean {
  const ra = RANK.indexOf(a), rb = RANK.indexOf(b);
  return ra !== -1 && (rb === -1 || ra < rb);
}

/** A server's identity across workers: a removed server still draining is not the member of the same name that replaced it. */
function serverKey(s: ServerStatus): string {
  return `${s.name}\0${s.url}\0${s.removed === true}`;
}

export function mergeStatus(workers: readonly WorkerStatus[]): MergedStatus {
  const docs = workers.map((w) => w.status);
  const first = docs[0];
  if (!first) return { connections: 0, listeners: [], routes: [], pools: {} };
  const pools: Record<string, PoolStatus> = structuredClone(first.pools);
  for (const doc of docs.slice(1)) {
    for (const [name, pool] of Object.entries(doc.pools)) {
      const into = pools[name];
      if (!into) { pools[name] = structuredClone(pool); continue; }
      for (const s of pool.servers) {
        const t = into.servers.find((x) => serverKey(x) === serverKey(s));
        if (!t) { into.servers.push(structuredClone(s)); continue; }
        // `?? 0`: a worker of another version (mid rolling restart) may lack a counter.
        for (const k of SUMMED) t[k] = (t[k] ?? 0) + (s[k] ?? 0);
        const answers = t.answers ?? {};
        for (const [cls, n] of Object.entries(s.answers ?? {})) answers[cls] = (answers[cls] ?? 0) + n;
        t.answers = answers;
        if (outranks(s.state, t.state)) { t.state = s.state; t.reason = s.reason; }
      }
    }
  }
  return { connections: docs.reduce((n, d) => n + d.connections, 0), listeners: first.listeners, routes: first.routes, pools };
}

/**
 * Puts the primary's health-check counts on the merged servers they belong to (the workers check
 * only discovered pools; their 0s stay elsewhere). Returns whether `pool` still lists `server`.
 */
export function putCheckCounts(merged: MergedStatus, counts: readonly CheckCount[]): (pool: string, server: string) => boolean {
  const pools = merged.pools;
  for (const c of counts) {
    for (const s of pools[c.pool]?.servers ?? []) if (s.name === c.server && (s.removed === true) === c.removed) s.check_failures = c.failures;
  }
  return (pool, server) => pools[pool]?.servers.some((s) => s.name === server) ?? false;
}
