/** Per-server active counts as plain records keyed `pool/server`: what workers and instances exchange, and how a received sum lands on Server.remoteActive. */

import type { Runtime } from '../runtime.js';

export type Counts = Record<string, number>;

export function serverKey(pool: string, server: string): string {
  return `${pool}/${server}`;
}

/** This process's open tunnels per server (`localActive`), every configured server included (0s too). */
export function localCounts(rt: Runtime): Counts {
  const out: Counts = {};
  for (const pool of rt.pools.values()) for (const s of pool.servers) out[serverKey(pool.name, s.name)] = s.localActive;
  return out;
}

/** Adds `b` into `a` (in place) and returns `a`. */
export function addCounts(a: Counts, b: Counts): Counts {
  for (const [k, n] of Object.entries(b)) a[k] = (a[k] ?? 0) + n;
  return a;
}

/**
 * Sets every server's `remoteActive` to the others' count (absent = 0). Runs on a timer, never
 * in the handshake path; a pick then reads farm-wide numbers plus this process's changes since.
 */
export function applyRemote(rt: Runtime, remote: Counts): void {
  for (const pool of rt.pools.values()) for (const s of pool.servers) s.remoteActive = remote[serverKey(pool.name, s.name)] ?? 0;
}
