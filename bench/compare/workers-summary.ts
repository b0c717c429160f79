/** bench:workers' arithmetic: per-run figures of `workers: 1` and `workers: 2`, medians, per-repetition spreads and the workers:2/workers:1 ratio. */

import type { BenchResult } from '../run.js';
import { median, type RunFigures } from './summary.js';

/** The figures kept from one wslb-bench run (handshake or idle); the tree's CPU and RSS come from `watched`. */
export function workerFigures(r: BenchResult): Record<string, number | null> {
  const w = r.watched;
  if (r.scenario === 'handshake') {
    return {
      perSec: r.throughput.handshakesPerSec,
      p50: r.latency.latency?.p50 ?? null,
      p99: r.latency.latency?.p99 ?? null,
      cpuUsPerUpgrade: w?.cpuUsPerHandshake ?? null,
      errors: r.totals.errors ?? 0,
    };
  }
  return {
    held: r.connections.openAtEnd,
    failed: r.connections.failed,
    kibPerConn: w?.rssPerConnectionKiB ?? null,
    // The window's peak RSS (its start, 3 s after the ramp), before bench:workers' forced GC at its end.
    kibPerConnPeak: w && r.connections.openAtEnd > 0 ? Math.round(((w.rssPeakKiB - w.rssBaseKiB) / r.connections.openAtEnd) * 1000) / 1000 : null,
    treeRssMiB: w ? Math.round((w.rssEndKiB / 1024) * 10) / 10 : null,
  };
}

/** Values of one figure per repetition, in repetition order (null where a run failed). */
export function perRep(runs: readonly RunFigures[], target: string, key: string): (number | null)[] {
  const [scenario, figure] = splitKey(key);
  const reps = [...new Set(runs.map((r) => r.rep))].sort((a, b) => a - b);
  return reps.map((rep) => runs.find((r) => r.target === target && r.rep === rep && r.scenario === scenario)?.figures[figure] ?? null);
}

function splitKey(key: string): [string, string] {
  const i = key.lastIndexOf('.');
  return [key.slice(0, i), key.slice(i + 1)];
}

/** Median over repetitions of one figure, ignoring failed runs. */
export function medianOf(runs: readonly RunFigures[], target: string, key: string): number | null {
  return median(perRep(runs, target, key).filter((v): v is number => v !== null && Number.isFinite(v)));
}

export interface WorkerRow { key: string; label: string; ratio: boolean }

export function workerRows(idleCommon: number, idleTarget: number): WorkerRow[] {
  const c = idleCommon.toLocaleString('en-US');
  const t = idleTarget.toLocaleString('en-US');
  return [
    { key: 'handshake.perSec', label: 'handshakes/s', ratio: true },
    { key: 'handshake.p50', label: 'handshake p50 ms', ratio: true },
    { key: 'handshake.p99', label: 'handshake p99 ms', ratio: true },
    { key: 'handshake.cpuUsPerUpgrade', label: 'CPU us/upgrade, whole tree', ratio: true },
    { key: 'handshake.primaryCpuShare', label: "primary's share of the tree's CPU (handshake run)", ratio: false },
    { key: 'handshake.errors', label: 'handshake errors', ratio: false },
    { key: 'handshake.machineBusy', label: 'machine busy during handshake (0-1)', ratio: false },
    { key: 'handshake.load1', label: 'load average (1 min) before handshake', ratio: false },
    { key: 'idle-common.held', label: `idle held of ${c}`, ratio: true },
    { key: 'idle-common.baseRssMiB', label: 'tree RSS MiB before the first connection (after GC)', ratio: true },
    { key: 'idle-common.kibPerConn', label: `idle KiB/conn at ${c}, whole tree, after full GC`, ratio: true },
    { key: 'idle-common.kibPerConnPeak', label: `idle KiB/conn at ${c}, whole tree, peak (no GC)`, ratio: true },
    { key: 'idle-target.held', label: `idle held of ${t}`, ratio: true },
    { key: 'idle-target.failed', label: `idle failed of ${t}`, ratio: false },
    { key: 'idle-target.kibPerConn', label: `idle KiB/conn at ${t} (over held), whole tree, after full GC`, ratio: true },
    { key: 'idle-target.treeRssMiB', label: `tree RSS MiB holding them, after GC (${t} run)`, ratio: true },
    { key: 'idle-target.maxPerProcess', label: `most connections in one wslb process (${t} run)`, ratio: true },
  ];
}

const f = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));

/** Markdown: one row per figure, the medians of each setting, workers:2/workers:1, and every repetition's values. */
export function workersTable(runs: readonly RunFigures[], rows: readonly WorkerRow[], a = 'workers:1', b = 'workers:2'): string {
  const lines = [
    `| figure | ${a} (median) | ${b} (median) | ${b}/${a} | ${a} per rep | ${b} per rep |`,
    '|---|---:|---:|---:|---|---|',
  ];
  for (const row of rows) {
    const va = medianOf(runs, a, row.key);
    const vb = medianOf(runs, b, row.key);
    if (va === null && vb === null) continue;
    const ratio = row.ratio && va !== null && vb !== null && va !== 0 ? `${(vb / va).toFixed(2)}x` : '';
    const reps = (t: string): string => perRep(runs, t, row.key).map((v) => (v === null ? '-' : f(v))).join(' / ');
    lines.push(`| ${row.label} | ${va === null ? '-' : f(va)} | ${vb === null ? '-' : f(vb)} | ${ratio} | ${reps(a)} | ${reps(b)} |`);
  }
  return lines.join('\n');
}
