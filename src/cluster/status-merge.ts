/**
 * Sums the workers' /status documents into one: per-server counters added, states and config read
 * from the first worker that lists the server, except that a server up in any worker is `up`. A server or pool only some workers still list (a
 * removed server draining there, `removed: true`) is kept as they list it.
 */

import type { Counts } from './counts.js';
import type { ServerFarmView } from './farm-view.js';
import type { Slot } from './supervisor.js';

export interface WorkerStatus { readonly slot: Slot; readonly status: unknown; readonly farm: Counts; readonly view?: Record<string, ServerFarmView> }

type ServerDoc = Record<string, unknown>;
type StatusDoc = { connections: number; listeners: unknown; routes: unknown; pools: Record<string, { algorithm: string; servers: ServerDoc[] }> };

// bandwidth_bps is each worker's own bytes/s (src/admin/status.ts), so the sum counts each byte once; rtt_ms and load are farm-wide figures, the same in every worker: the first's is kept.
const SUMMED = ['active', 'total', 'bytes_in', 'bytes_out', 'messages_in', 'messages_out', 'bandwidth_bps'] as const;

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
        for (const k of SUMMED) t[k] = (t[k] as number) + (s[k] as number);
        // Workers disagree only on their own outlier ejections: the tree takes new tunnels to the server
        // while any worker does, which is also what wslb_server_up (max over workers) says.
        if (s['state'] === 'up' && t['state'] !== 'up') { t['state'] = 'up'; t['reason'] = null; }
      }
    }
  }
  return { connections: docs.reduce((n, d) => n + d.connections, 0), listeners: first.listeners, routes: first.routes, pools };
}
