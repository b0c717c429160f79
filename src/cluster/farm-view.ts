/**
 * The farm-wide view of each server, a replicated table keyed `pool/server`: each process
 * publishes its own figures (tunnels, bytes/s, RTT), and the others' sum lands on its Servers
 * (`remoteActive`, `remoteBandwidth`, `remoteRtt*`), which the algorithms read.
 */

import type { ServerFarmView } from '../admin/status-document.js';
import type { Pool } from '../pool/pool.js';
import type { Runtime } from '../runtime.js';
import { serverKey } from './counts.js';
import { ReplicatedTable } from './replicated-table.js';

/**
 * What a process contributes for one server: its open tunnels, its bytes/s EWMA, and its RTT
 * EWMA as a sum and a count (1 when it has measured the server, else 0), so that sums of
 * contributions stay sums and the farm RTT is their mean over the processes that measured it.
 */
export type Figures = [active: number, bandwidth: number, rttSum: number, rttCount: number];

// Rounded so a figure that did not really move is "unchanged" (no message) and sums stay exact enough.
const bytes = (bw: number): number => Math.round(bw);
const ms = (rtt: number): number => Math.round(rtt * 1000) / 1000;

const same = (a: Figures, b: Figures): boolean => a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];

export function addFigures(values: Figures[]): Figures {
  const out: Figures = [0, 0, 0, 0];
  for (const f of values) for (let i = 0; i < 4; i++) out[i]! += f[i]!;
  return [out[0], bytes(out[1]), ms(out[2]), out[3]];
}

/** This process's figures for every configured server (0s too). */
export function localFigures(rt: Runtime): Map<string, Figures> {
  const out = new Map<string, Figures>();
  for (const pool of rt.pools.values()) {
    for (const s of pool.servers) out.set(serverKey(pool.name, s.name), [s.localActive, bytes(s.localBandwidth), ms(s.localRtt), s.localRtt > 0 ? 1 : 0]);
  }
  return out;
}

/** RTT-only figures of pools that hold no tunnels (a primary's health-check round trips: one more measurement of each server). */
export function rttFigures(pools: Iterable<Pool>): Map<string, Figures> {
  const out = new Map<string, Figures>();
  for (const pool of pools) for (const s of pool.servers) if (s.localRtt > 0) out.set(serverKey(pool.name, s.name), [0, 0, ms(s.localRtt), 1]);
  return out;
}

function setRemote(rt: Runtime, key: string, f: Figures | undefined): void {
  const slash = key.indexOf('/');
  const s = rt.pools.get(key.slice(0, slash))?.server(key.slice(slash + 1));
  if (!s) return;
  s.remoteActive = f?.[0] ?? 0;
  s.remoteBandwidth = f?.[1] ?? 0;
  s.remoteRttSum = f?.[2] ?? 0;
  s.remoteRttCount = f?.[3] ?? 0;
}

/**
 * The figures table of a process. `rt`: an accepting process (its Servers publish and receive);
 * without it, `own` gives the rows (a primary's health-check RTTs).
 */
export function figuresTable(origin: string, rt: Runtime | null, own?: () => Map<string, Figures>): ReplicatedTable<Figures> {
  const table: ReplicatedTable<Figures> = new ReplicatedTable<Figures>('figures', origin, {
    combine: addFigures,
    same,
    sample: () => table.replace(rt ? localFigures(rt) : own!()),
    onChange: rt ? (key, f) => setRemote(rt, key, f) : undefined,
  });
  return table;
}

/** Every server's remote part from the table's view (absent = 0): after a reload, whose new Servers start at 0. */
export function applyRemote(rt: Runtime, table: ReplicatedTable<Figures>): void {
  for (const pool of rt.pools.values()) for (const s of pool.servers) setRemote(rt, serverKey(pool.name, s.name), table.view(serverKey(pool.name, s.name)));
}

/** What this process's picks read per server besides `active` (the primary's /status shows it per worker). */
export function farmView(rt: Runtime): Record<string, ServerFarmView> {
  const out: Record<string, ServerFarmView> = {};
  for (const pool of rt.pools.values()) {
    for (const s of pool.servers) out[serverKey(pool.name, s.name)] = { bandwidth_bps: s.bandwidth, rtt_ms: s.rtt, load: s.load, load_stale: s.loadStale };
  }
  return out;
}
