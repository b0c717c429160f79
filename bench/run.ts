/** One wslb-bench run: spreads the scenario over generator processes, walks the phases (setup, warm-up, measured window, drain), merges their figures. */

import os from 'node:os';
import { encode as encodeHist, merge, summarize, type LatencySummary } from './histogram.js';
import { autoProcesses, shareOf, type BenchOptions } from './options.js';
import { WorkerPool } from './pool.js';
import { ProcWatch } from './proc.js';
import { formatProgress } from './report/table.js';
import type { BenchResult, TimePoint } from './result.js';
import type { FromWorker, Tick, WorkerFinal, WorkerJob } from './protocol.js';
import { phaseOffsetMs } from './schedule.js';
import { fetchServers, type ServerShare } from './status.js';

// Declared in result.ts (the reports read the result, not the runner); still importable from here.
export type { BenchResult, TimePoint } from './result.js';

export interface RunHooks {
  /** Live progress lines (once a second); default: none. */
  progress?: (line: string) => void;
  /** Awaited at the end of the measured window, before the watched processes' last reading (bench:workers: a forced GC in each). */
  beforeWindowEnd?: () => Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function makeJobs(opts: BenchOptions, processes: number): WorkerJob[] {
  const jobs: WorkerJob[] = [];
  let first = 0;
  for (let i = 0; i < processes; i++) {
    const connections = shareOf(opts.connections, i, processes);
    const part = (total: number): number => (opts.connections > 0 ? (total * connections) / opts.connections : total / processes);
    jobs.push({
      index: i, processes, opts, connections, firstConnection: first,
      ramp: opts.ramp / processes,
      rate: opts.scenario === 'handshake' ? opts.rate / processes : part(opts.rate),
      publish: part(opts.publish),
      maxMessages: opts.maxMessages > 0 ? shareOf(opts.maxMessages, i, processes) : 0,
      offsetMs: phaseOffsetMs(i, opts.scenario === 'broadcast' ? opts.publish : opts.rate),
    });
    first += connections;
  }
  return jobs;
}

export async function runBench(opts: BenchOptions, hooks: RunHooks = {}): Promise<BenchResult> {
  const n = autoProcesses(opts);
  const watch = opts.watchPids.length ? new ProcWatch(opts.watchPids) : null;
  const t0 = performance.now();
  const ticks = new Map<number, Tick[]>();
  const finals: WorkerFinal[] = [];
  const timeseries: TimePoint[] = [];
  let ready = 0;
  // Generator processes whose message budget is spent (one may say so once per opener that finishes past it).
  const exhausted = new Set<number>();
  let failure: string | null = null;
  let wake: (() => void) | null = null;
  const poke = (): void => { const w = wake; wake = null; w?.(); };
  let soFar: string[] = [];

  const emit = (seq: number): void => {
    const list = ticks.get(seq)!;
    ticks.delete(seq);
    const counters: Record<string, number> = {};
    for (const t of list) for (const [k, v] of Object.entries(t.counters)) counters[k] = (counters[k] ?? 0) + v;
    const h = merge(list.map((t) => t.hists.latency));
    const phase = list[0]!.phase;
    const point: TimePoint = { t: Math.round((performance.now() - t0) / 100) / 10, phase, open: list.reduce((s, t) => s + t.open, 0), counters };
    if (h.totalCount > 0) {
      const s = summarize(h);
      point.p50 = s.p50;
      point.p99 = s.p99;
    }
    if (watch) Object.assign(point, watch.tick());
    if (phase === 'measure') soFar = soFar.concat(list.map((t) => t.hists.latency).filter((x): x is string => !!x));
    timeseries.push(point);
    hooks.progress?.(formatProgress(point, opts, soFar.length ? summarize(merge(soFar)).p99 : undefined));
  };

  const pool = new WorkerPool(n, (i: number, m: FromWorker) => {
    switch (m.type) {
      case 'tick': {
        const list = ticks.get(m.tick.seq) ?? [];
        list.push(m.tick);
        ticks.set(m.tick.seq, list);
        if (list.length === n) emit(m.tick.seq);
        break;
      }
      case 'ready': ready++; break;
      case 'exhausted': exhausted.add(i); break;
      case 'done': finals.push(m.final); break;
      case 'fatal': failure ??= `generator ${i}: ${m.message}`; break;
    }
    poke();
  }, (i, code) => {
    if (finals.length < n && code !== 0) failure ??= `generator ${i} exited with code ${code}`;
    poke();
  });

  /** Waits until cond() holds, a generator fails, or ms pass (then throws with `what`). */
  const until = async (cond: () => boolean, ms: number, what: string | null): Promise<void> => {
    const end = performance.now() + ms;
    while (!cond()) {
      if (failure) throw new Error(failure);
      const left = end - performance.now();
      if (left <= 0) {
        if (what) throw new Error(`timed out waiting for ${what}`);
        return;
      }
      await new Promise<void>((r) => { wake = r; setTimeout(r, Math.min(left, 250)); });
    }
    if (failure) throw new Error(failure);
  };

  let servers: ServerShare[] | undefined;
  let measuredMs = 0;
  const windowAt: [number, number] = [0, 0];
  try {
    makeJobs(opts, n).forEach((job, i) => pool.send(i, { type: 'job', job }));
    const setupMs = (opts.ramp > 0 ? (opts.connections / opts.ramp) * 1000 : 0) + 2 * opts.handshakeTimeoutMs + 30_000;
    await until(() => ready === n, setupMs, 'the connections to open');
    pool.broadcast({ type: 'go', measure: opts.warmupMs === 0 });
    if (opts.warmupMs > 0) {
      await until(() => false, opts.warmupMs, null);
      pool.broadcast({ type: 'measure' });
    }
    watch?.startWindow();
    const start = performance.now();
    windowAt[0] = Date.now();
    const bounded = opts.maxMessages > 0 && opts.scenario !== 'idle';
    await until(() => bounded && exhausted.size === n, opts.durationMs, null);
    measuredMs = performance.now() - start;
    windowAt[1] = Date.now();
    await hooks.beforeWindowEnd?.();
    if (opts.statusUrl) servers = await fetchServers(opts.statusUrl).catch(() => undefined);
    pool.broadcast({ type: 'stop' });
    watch?.endWindow();
    await until(() => finals.length === n, opts.drainMs + 15_000, 'the generators to finish');
  } finally {
    await pool.close();
  }
  for (const seq of [...ticks.keys()].sort((a, b) => a - b)) emit(seq);
  const result = buildResult(opts, n, finals, measuredMs, timeseries, watch, servers);
  result.window.startedAt = windowAt[0];
  result.window.endedAt = windowAt[1];
  return result;
}

function sum(records: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export function buildResult(opts: BenchOptions, processes: number, finals: WorkerFinal[], measuredMs: number,
  timeseries: TimePoint[], watch: ProcWatch | null, servers: ServerShare[] | undefined): BenchResult {
  const counts = sum(finals.map((f) => f.measured.counters));
  const totals = sum(finals.map((f) => f.totals));
  const names = new Set(finals.flatMap((f) => Object.keys(f.measured.hists)));
  const histograms: Record<string, string> = {};
  const latency: Record<string, LatencySummary> = {};
  for (const name of names) {
    const h = merge(finals.map((f) => f.measured.hists[name]));
    latency[name] = summarize(h);
    histograms[name] = encodeMerged(finals.map((f) => f.measured.hists[name]));
  }
  const secs = measuredMs / 1000;
  const per = (x: number | undefined): number => (secs > 0 ? Math.round(((x ?? 0) / secs) * 10) / 10 : 0);
  const openAtEnd = finals.reduce((s, f) => s + f.open, 0);
  const result: BenchResult = {
    tool: 'wslb-bench',
    scenario: opts.scenario,
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '?', memoryMiB: Math.round(os.totalmem() / 2 ** 20), node: process.version, os: `${os.type()} ${os.release()}` },
    options: opts,
    processes,
    window: { warmupMs: opts.warmupMs, measuredMs: Math.round(measuredMs), startedAt: 0, endedAt: 0 },
    connections: { target: opts.connections, opened: totals.opened ?? 0, failed: totals.failed ?? 0, openAtEnd },
    counts, totals,
    errors: sum(finals.map((f) => f.errors)),
    throughput: { messagesPerSec: per(counts.received), sentPerSec: per(counts.sent), handshakesPerSec: per(counts.handshakes) },
    latency, histograms, timeseries,
    ...(servers ? { servers } : {}),
  };
  const w = watch?.window;
  if (watch && w) {
    const received = counts.received ?? 0;
    const handshakes = counts.handshakes ?? 0;
    result.watched = {
      pids: [...watch.pids], ...w,
      ...(received > 0 && opts.scenario !== 'flood' ? { cpuUsPerMessage: round3((w.cpuSeconds * 1e6) / received) } : {}),   // flood: the probe's few messages are not what costs
      ...(handshakes > 0 ? { cpuUsPerHandshake: round3((w.cpuSeconds * 1e6) / handshakes) } : {}),
      ...(opts.scenario === 'idle' && openAtEnd > 0 ? { rssPerConnectionKiB: round3((w.rssEndKiB - w.rssBaseKiB) / openAtEnd) } : {}),
    };
  }
  return result;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

function encodeMerged(list: (string | undefined)[]): string {
  const present = list.filter((x): x is string => !!x);
  return present.length === 1 ? present[0]! : encodeHist(merge(present));
}

