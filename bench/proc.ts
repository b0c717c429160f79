/** CPU time and RSS of the processes under test, from /proc (Linux): each pid with all its descendants. */

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let clkTck = 0;
/** Clock ticks per second of /proc/PID/stat's utime and stime. */
export function clockTicks(): number {
  if (clkTck === 0) {
    try { clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100; } catch { clkTck = 100; }
  }
  return clkTck;
}

/** pid and all its descendants, from /proc/PID/task/TID/children; [] when pid is gone. */
export function processTree(pid: number): number[] {
  if (!fs.existsSync(`/proc/${pid}`)) return [];
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    try {
      for (const tid of fs.readdirSync(`/proc/${pids[i]}/task`)) {
        const kids = fs.readFileSync(`/proc/${pids[i]}/task/${tid}/children`, 'utf8').trim();
        if (kids) pids.push(...kids.split(/\s+/).map(Number));
      }
    } catch { /* gone meanwhile */ }
  }
  return pids;
}

/** utime + stime (clock ticks) from the text of /proc/PID/stat. */
export function parseStatTicks(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');   // f[0] is field 3 (state)
  return Number(f[11]) + Number(f[12]);                         // fields 14 and 15
}

export interface ProcSample {
  at: number;          // performance.now()
  cpuSeconds: number;  // cumulative, whole tree
  rssKiB: number;      // whole tree
}

/**
 * The watched roots with their descendants, each pid once: a list that names a parent and its
 * children (a cluster primary and its workers from its /status) counts every process once.
 */
export function uniqueTree(roots: readonly number[], tree: (pid: number) => number[] = processTree): number[] {
  const seen = new Set<number>();
  for (const root of roots) for (const p of tree(root)) seen.add(p);
  return [...seen];
}

/** VmRSS (KiB) from the text of /proc/PID/status; 0 when absent (a zombie). */
export function parseStatusRssKiB(status: string): number {
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

/** utime+stime ticks and VmRSS summed over one /proc/PID/stat and /proc/PID/status text per process. */
export function sumReadings(readings: readonly { stat: string; status: string }[]): { ticks: number; rssKiB: number } {
  let ticks = 0;
  let rssKiB = 0;
  for (const r of readings) {
    ticks += parseStatTicks(r.stat);
    rssKiB += parseStatusRssKiB(r.status);
  }
  return { ticks, rssKiB };
}

/** One reading of the watched processes (each with its descendants, each process once). */
export function sampleProcs(pids: readonly number[]): ProcSample {
  const readings: { stat: string; status: string }[] = [];
  for (const p of uniqueTree(pids)) {
    try {
      readings.push({ stat: fs.readFileSync(`/proc/${p}/stat`, 'utf8'), status: fs.readFileSync(`/proc/${p}/status`, 'utf8') });
    } catch { /* gone meanwhile */ }
  }
  const { ticks, rssKiB } = sumReadings(readings);
  return { at: performance.now(), cpuSeconds: ticks / clockTicks(), rssKiB };
}

/** Follows the watched pids through a run: a baseline, the measured window's CPU and peak RSS. */
export class ProcWatch {
  readonly baseline: ProcSample;
  #start: ProcSample | null = null;
  #end: ProcSample | null = null;
  #last: ProcSample;
  #peak = 0;

  constructor(readonly pids: readonly number[]) {
    this.baseline = this.#last = sampleProcs(pids);
  }

  /** A periodic reading; returns CPU use since the previous one (fraction of one core) and RSS. */
  tick(): { cpu: number; rssKiB: number } {
    const s = sampleProcs(this.pids);
    const cpu = (s.cpuSeconds - this.#last.cpuSeconds) / Math.max(1e-3, (s.at - this.#last.at) / 1000);
    this.#last = s;
    if (this.#start && !this.#end) this.#peak = Math.max(this.#peak, s.rssKiB);
    return { cpu, rssKiB: s.rssKiB };
  }

  startWindow(): void {
    this.#start = sampleProcs(this.pids);
    this.#peak = this.#start.rssKiB;
  }

  endWindow(): void {
    this.#end = sampleProcs(this.pids);
    this.#peak = Math.max(this.#peak, this.#end.rssKiB);
  }

  /** CPU seconds over the window, peak and final RSS, and the baseline RSS (before any connection). */
  get window(): { cpuSeconds: number; rssPeakKiB: number; rssEndKiB: number; rssBaseKiB: number } | null {
    if (!this.#start || !this.#end) return null;
    return {
      cpuSeconds: this.#end.cpuSeconds - this.#start.cpuSeconds,
      rssPeakKiB: this.#peak,
      rssEndKiB: this.#end.rssKiB,
      rssBaseKiB: this.baseline.rssKiB,
    };
  }
}
