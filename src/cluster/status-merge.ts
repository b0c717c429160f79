/**
 * Sums the workers' /status documents into one: per-server counters added, config read from the
 * first worker that lists the server, the state as treeState() ranks the workers' (a server up in
 * any worker is `up`). A server or pool only some workers still list (a removed server draining
 * there, `removed: true`) is kept as they list it.
 */

import type { Counts } from './counts.js';
import type { ServerFarmView } from './farm-view.js';
import type { CheckCount } from './health-hub.js';
import type { Slot } from './supervisor.js';

export interface WorkerStatus { readonly slot: Slot; readonly status: unknown; readonly farm: Counts; readonly view?: Record<string, ServerFarmView> }

type ServerDoc = Record<string, unknown>;
type StatusDoc = { connections: number; listeners: unknown; routes: unknown; pools: Record<string, { algorithm: string; servers: ServerDoc[] }> };

// bandwidth_bps is each worker's own bytes/s (src/admin/status.ts), so the sum counts each byte once; rtt_ms and load are farm-wide figures, the same in every worker: the first's is kept.
// check_failures: each worker's own probes of a discovered pool (the primary puts its own count on configured pools: src/cluster/primary-admin.ts).
const SUMMED = ['active', 'total', 'bytes_in', 'bytes_out', 'messages_in', 'messages_out', 'bandwidth_bps', 'check_failures', 'ejections'] as const;

/**
 * The order in which one process's Server.state lets a state hide another (src/pool/server.ts),
 * with `up` first: workers disagree only on their own outlier ejections (and for a moment while an
 * admin action or a health result reaches them all), and the tree takes new tunnels to a server while
 * any worker does, which is also what wslb_server_up (max over workers) says.
 */
const RANK = ['up', 'disabled', 'draining', 'ejected', 'down'];

/** Whether state `a` wins over `b` for the tree. */
export function outranks(a: unknown, b: unknown): boolean {
  const ra = RANK.indexOf(String(a)), rb = RANK.indexOf(String(b));
  return ra !== -1 && (rb === -1 || ra < rb);
}

/** A server's identity across workers: a removed server still draining is not the member of the same name that replaced it. */
function serverKey(s: ServerDoc): string {
  return `${String(s['name'])}\0${String(s['url'])}\0${s['removed'] === true}`;
}

export function mergeStatus(workers: readonly WorkerStatus[]): Record<string, unknown> {
  const docs = workers.map((w) => w.status as StatusDoc);
  const first = docs[0];
  if (!first) return { connections: 0, listeners: [], routes: [], pools: {} };
  const pools: StatusDoc['pools'] = structuredClone(first.pools);
  for (const doc of docs.slice(1)) {
    for (const [name, pool] of Object.entries(doc.pools)) {
      const into = pools[name];
      if (!into) { pools[name] = structuredClone(pool); continue; }
      for (const s of pool.servers) {
        const t = into.servers.find((x) => serverKey(x) === serverKey(s));
        if (!t) { into.servers.push(structuredClone(s)); continue; }
        for (const k of SUMMED) t[k] = ((t[k] as number | undefined) ?? 0) + ((s[k] as number | undefined) ?? 0);
        const answers = (t['answers'] ?? {}) as Record<string, number>;
        for (const [cls, n] of Object.entries((s['answers'] ?? {}) as Record<string, number>)) answers[cls] = (answers[cls] ?? 0) + n;
        t['answers'] = answers;
        if (outranks(s['state'], t['state'])) { t['state'] = s['state']; t['reason'] = s['reason']; }
      }
    }
  }
  return { connections: docs.reduce((n, d) => n + d.connections, 0), listeners: first.listeners, routes: first.routes, pools };
}

/**
 * Puts the primary's health-check counts on the merged servers they belong to (the workers check
 * only discovered pools; their 0s stay elsewhere). Returns whether `pool` still lists `server`.
 */
export function putCheckCounts(merged: Record<string, unknown>, counts: readonly CheckCount[]): (pool: string, server: string) => boolean {
  const pools = merged['pools'] as StatusDoc['pools'];
  for (const c of counts) {
    for (const s of pools[c.pool]?.servers ?? []) if (s['name'] === c.server && (s['removed'] === true) === c.removed) s['check_failures'] = c.failures;
  }
  return (pool, server) => pools[pool]?.servers.some((s) => s['name'] === server) ?? false;
}
