/** A generator process's counters and histograms: per second (for progress and charts) and for the measured window. */

import { encode, newHistogram, recordMs, type Histogram } from './histogram.js';
import type { Phase, Snapshot, Tick, WorkerFinal } from './protocol.js';

function add(into: Record<string, number>, name: string, n: number): void {
  into[name] = (into[name] ?? 0) + n;
}

export class Stats {
  phase: Phase = 'setup';
  readonly errors: Record<string, number> = {};
  readonly totals: Record<string, number> = {};
  #seq = 0;
  #interval = new Map<string, Histogram>();
  #measured = new Map<string, Histogram>();
  #intervalCounts: Record<string, number> = {};
  readonly #measuredCounts: Record<string, number> = {};

  get measuring(): boolean {
    return this.phase === 'measure';
  }

  /** A latency in ms; `measured` says whether the event (usually the send) fell in the measured window. */
  record(name: string, ms: number, measured = this.measuring): void {
    recordMs(this.#hist(this.#interval, name), ms);
    if (measured) recordMs(this.#hist(this.#measured, name), ms);
  }

  /** Counts an event now (into the measured window when it is open). */
  count(name: string, n = 1): void {
    add(this.#intervalCounts, name, n);
    add(this.totals, name, n);
    if (this.measuring) add(this.#measuredCounts, name, n);
  }

  /** An error of a kind (`http 503`, `ECONNREFUSED`, `timeout`, ...); also counted as `errors`. */
  error(kind: string): void {
    add(this.errors, kind, 1);
    this.count('errors');
  }

  /** The second just ended; resets the per-second figures. */
  takeTick(open: number): Tick {
    const tick: Tick = { seq: this.#seq++, phase: this.phase, open, ...snapshot(this.#interval, this.#intervalCounts) };
    for (const h of this.#interval.values()) h.reset();
    this.#intervalCounts = {};
    return tick;
  }

  final(open: number): WorkerFinal {
    return { measured: snapshot(this.#measured, this.#measuredCounts), totals: { ...this.totals }, errors: { ...this.errors }, open };
  }

  #hist(map: Map<string, Histogram>, name: string): Histogram {
    let h = map.get(name);
    if (!h) map.set(name, (h = newHistogram()));
    return h;
  }
}

function snapshot(hists: Map<string, Histogram>, counters: Record<string, number>): Snapshot {
  const out: Snapshot = { counters: { ...counters }, hists: {} };
  for (const [name, h] of hists) if (h.totalCount > 0) out.hists[name] = encode(h);
  return out;
}
