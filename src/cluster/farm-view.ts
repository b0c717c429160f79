/**
 * The farm-wide view of each server, a replicated table keyed `pool/server`: each process
 * publishes its own figures (tunnels, bytes/s, RTT), and at each tick every Server's `farm`
 * (what the others hold: src/pool/server.ts) is replaced whole by the others' sum, which the
 * algorithms read. Servers a reload created get theirs at the next tick like any other.
 */

import type { ServerFarmView } from '../admin/status-document.js';
import type { Pool } from '../pool/pool.js';
import { NO_FARM, type FarmFigures } from '../pool/server.js';
import { serverKey } from './protocol.js';
import { ReplicatedTable } from './replicated-table.js';

/**
 * What a process contributes for one server: its open tunnels, its bytes/s EWMA, and its RTT
 * EWMA as a sum and a count (1 when it has measured the server, else 0), so that sums of
 * contributions stay sums and the farm RTT is their mean over the processes that measured it.
 */
export type Figures = FarmFigures;

// Rounded so a figure that did not really move is "unchanged" (no message) and sums stay exact enough.
const bytes = (bw: number): number => Math.round(bw);
const ms = (rtt: number): number => Math.round(rtt * 1000) / 1000;

const same = (a: Figures, b: Figures): boolean => a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];

export function addFigures(values: Figures[]): Figures {
  const out = [0, 0, 0, 0];
  for (const f of values) for (let i = 0; i < 4; i++) out[i]! += f[i]!;
  return [out[0]!, bytes(out[1]!), ms(out[2]!), out[3]!];
}

/** This process's figures for every configured server (0s too). */
export function localFigures(pools: Iterable<Pool>): Map<string, Figures> {
  const out = new Map<string, Figures>();
  for (const pool of pools) {
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

/**
 * The figures table of an accepting process (a worker, an instance sharing through Redis): at each
 * tick it publishes the figures of `pools()` and gives each of their Servers the others' sum.
 */
export function farmTable(origin: string, pools: () => Iterable<Pool>): ReplicatedTable<Figures> {
  const table: ReplicatedTable<Figures> = new ReplicatedTable<Figures>('figures', origin, {
    combine: addFigures,
    same,
    sample: () => {
      table.replace(localFigures(pools()));
      for (const pool of pools()) for (const s of pool.servers) s.farm = table.view(serverKey(pool.name, s.name)) ?? NO_FARM;
    },
  });
  return table;
}

/** The figures table of a process that holds no tunnels (a primary): `rows` are its own (health-check RTTs); it only relays the others'. */
export function figuresTable(origin: string, rows: () => Map<string, Figures>): ReplicatedTable<Figures> {
  const table: ReplicatedTable<Figures> = new ReplicatedTable<Figures>('figures', origin, { combine: addFigures, same, sample: () => table.replace(rows()) });
  return table;
}

/** What this process's picks read per server besides `active` (the primary's /status shows it per worker). */
export function farmView(pools: Iterable<Pool>): Record<string, ServerFarmView> {
  const out: Record<string, ServerFarmView> = {};
  for (const pool of pools) {
    for (const s of pool.servers) out[serverKey(pool.name, s.name)] = { bandwidth_bps: s.bandwidth, rtt_ms: s.rtt, load: s.load, load_stale: s.loadStale };
  }
  return out;
}
