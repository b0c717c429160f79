/**
 * The farm-wide view of each server, as plain records keyed `pool/server`: what one process
 * (or a sum of processes) contributes, how workers and instances add them up, how the others'
 * sum lands on a Server (`remoteActive`, `remoteBandwidth`, `remoteRtt*`), and the delta
 * encoding that keeps the 100 ms IPC messages small.
 */

import type { Runtime } from '../runtime.js';
import type { Pool } from '../pool/pool.js';
import { serverKey, type Counts } from './counts.js';

/**
 * What a process contributes for one server: its open tunnels, its bytes/s EWMA, and its RTT
 * EWMA as a sum and a count (1 when it has measured the server, else 0), so that sums of
 * contributions stay sums and the farm RTT is their mean over the processes that measured it.
 */
export type Figures = [active: number, bandwidth: number, rttSum: number, rttCount: number];
export type FarmShare = Record<string, Figures>;

/** A full record, or only the entries that changed since the last message (the receiver merges). */
export interface FarmDelta { readonly full: boolean; readonly figures: FarmShare }

/** Full records are re-sent this often (in ticks) even when nothing changed: a missed or reordered message heals. */
export const FULL_EVERY = 10;

// Rounded so a figure that did not really move is "unchanged" (no message) and sums stay exact enough.
const bytes = (bw: number): number => Math.round(bw);
const ms = (rtt: number): number => Math.round(rtt * 1000) / 1000;

/** This process's figures for every configured server (0s too). */
export function localShare(rt: Runtime): FarmShare {
  const out: FarmShare = {};
  for (const pool of rt.pools.values()) {
    for (const s of pool.servers) out[serverKey(pool.name, s.name)] = [s.localActive, bytes(s.localBandwidth), ms(s.localRtt), s.localRtt > 0 ? 1 : 0];
  }
  return out;
}

/** RTT-only figures of pools that hold no tunnels (a primary's health-check round trips: one more measurement of each server). */
export function rttShare(pools: Iterable<Pool>): FarmShare {
  const out: FarmShare = {};
  for (const pool of pools) for (const s of pool.servers) if (s.localRtt > 0) out[serverKey(pool.name, s.name)] = [0, 0, ms(s.localRtt), 1];
  return out;
}

/** Adds `b` into `a` (in place) and returns `a`. */
export function addShare(a: FarmShare, b: FarmShare): FarmShare {
  for (const [k, f] of Object.entries(b)) {
    const into = a[k];
    if (into) for (let i = 0; i < 4; i++) into[i]! += f[i]!;
    else a[k] = [f[0], f[1], f[2], f[3]];
  }
  return a;
}

/** `all` minus `own`, per key (a worker's "everyone else"); never below 0 (float sums). */
export function othersOf(all: FarmShare, own: FarmShare | undefined): FarmShare {
  const out: FarmShare = {};
  for (const [k, f] of Object.entries(all)) {
    const o = own?.[k];
    if (!o) { out[k] = [f[0], f[1], f[2], f[3]]; continue; }
    const n = Math.max(0, f[3] - o[3]);
    out[k] = [Math.max(0, f[0] - o[0]), bytes(Math.max(0, f[1] - o[1])), n === 0 ? 0 : ms(Math.max(0, f[2] - o[2])), n];
  }
  return out;
}

/** The active counts alone (the `farm_active` of /status, the Counts of older callers). */
export function activeOf(share: FarmShare): Counts {
  const out: Counts = {};
  for (const [k, f] of Object.entries(share)) out[k] = f[0];
  return out;
}

/**
 * Sets every server's remote part to the others' figures (absent = 0). Runs on a timer, never
 * in the handshake path; a pick then reads farm-wide numbers plus this process's changes since.
 */
export function applyRemote(rt: Runtime, remote: FarmShare): void {
  for (const pool of rt.pools.values()) {
    for (const s of pool.servers) {
      const f = remote[serverKey(pool.name, s.name)];
      s.remoteActive = f?.[0] ?? 0;
      s.remoteBandwidth = f?.[1] ?? 0;
      s.remoteRttSum = f?.[2] ?? 0;
      s.remoteRttCount = f?.[3] ?? 0;
    }
  }
}

export interface ServerFarmView { readonly bandwidth_bps: number; readonly rtt_ms: number; readonly load: number; readonly load_stale: boolean }

/** What this process's picks read per server besides `active` (the primary's /status shows it per worker). */
export function farmView(rt: Runtime): Record<string, ServerFarmView> {
  const out: Record<string, ServerFarmView> = {};
  for (const pool of rt.pools.values()) {
    for (const s of pool.servers) out[serverKey(pool.name, s.name)] = { bandwidth_bps: s.bandwidth, rtt_ms: s.rtt, load: s.load, load_stale: s.loadStale };
  }
  return out;
}

function same(a: Figures | undefined, b: Figures): boolean {
  return a !== undefined && a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

/** One direction of one channel (worker -> primary, or primary -> one worker): turns each tick's record into the message to send, if any. */
export class DeltaSender {
  #last: FarmShare | null = null;
  #ticks = 0;

  /** The changed entries; everything on the first call and every FULL_EVERY ticks; null when nothing changed. */
  next(now: FarmShare): FarmDelta | null {
    const full = this.#last === null || ++this.#ticks % FULL_EVERY === 0;
    const last = this.#last;
    this.#last = now;
    if (full || !last) return { full: true, figures: now };
    let changed: FarmShare | null = null;
    for (const [k, f] of Object.entries(now)) if (!same(last[k], f)) (changed ??= {})[k] = f;
    // A key gone (server removed by a reload): only a full record says so.
    for (const k of Object.keys(last)) if (!(k in now)) return { full: true, figures: now };
    return changed ? { full: false, figures: changed } : null;
  }

  /** The next call sends a full record (the peer's state is unknown: a reload, a new worker). */
  reset(): void {
    this.#last = null;
  }
}

/** The receiving side: a full record replaces, a delta is merged into, the record kept. */
export function mergeDelta(kept: FarmShare, m: FarmDelta): FarmShare {
  return m.full ? { ...m.figures } : Object.assign(kept, m.figures);
}
