#!/usr/bin/env node
/**
 * npm run bench:workers: wslb with `workers: 1` and with `workers: 2` against the same demo farm in
 * one run, repeated and interleaved: handshakes/s with CPU per upgrade, and idle connections held
 * with RSS per connection, both summed over the whole process tree (primary + workers, pids from
 * the primary's GET /status `workers[].pid`).
 */

import { Command } from 'commander';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULTS, parseAddresses, type BenchOptions } from '../options.js';
import { clockTicks, parseStatTicks, sampleProcs, uniqueTree } from '../proc.js';
import { writeJson } from '../report/json.js';
import { runBench, type BenchResult } from '../run.js';
import { ROOT, startFarm, startWslb, type Farm, type Target } from './peers.js';
import type { RunFigures } from './summary.js';
import { workerFigures, workerRows, workersTable } from './workers-summary.js';

interface WorkersOptions {
  reps: number; settings: number[]; idleCommon: number; idleTarget: number; idleProcesses: number; idleHoldMs: number; prewarm: number;
  handshakeMs: number; concurrency: number; localAddresses: string; out: string; verbose: boolean;
}

type Scenario = 'handshake' | 'idle-common' | 'idle-target';
const SCENARIOS: Scenario[] = ['handshake', 'idle-common', 'idle-target'];

const say = (s: string): void => { process.stderr.write(s + '\n'); };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Jiffies busy and total over all CPUs, from /proc/stat: how busy the machine was, whoever was busy. */
function cpuJiffies(): { busy: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

const loadavg = (): string => fs.readFileSync('/proc/loadavg', 'utf8').trim();

interface StatusDoc { connections?: number; workers?: { id: number; pid: number | null; connections: number | null }[] }

async function status(url: string): Promise<StatusDoc> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as StatusDoc;
}

interface Started { target: Target; pids: number[]; treePids: number[] }

/** wslb with `workers: n`; the pids to watch are the primary's and its workers' from /status. */
async function startSetting(farm: Farm, dir: string, n: number, nodeArgs: string[]): Promise<Started> {
  const target = await startWslb(farm, dir, nodeArgs, `workers: ${n}`);
  const primary = target.child!.pid;
  const doc = await status(target.statusUrl!);
  const workerPids = (doc.workers ?? []).map((w) => w.pid).filter((p): p is number => typeof p === 'number');
  if (n > 1 && workerPids.length !== n) throw new Error(`workers: ${n}: /status lists ${workerPids.length} worker pids`);
  return { target, pids: [primary, ...workerPids], treePids: uniqueTree([primary]) };
}

/** bench/compare/gc-on-signal.cjs, preloaded into wslb's processes for the idle runs: SIGUSR2 = a full GC. */
const GC_HOOK = path.join(ROOT, 'bench/compare/gc-on-signal.cjs');
const GC_ARGS = ['--expose-gc', '--require', GC_HOOK];

/** A full GC in every process of the tree, then a pause for V8 to give the freed pages back. */
async function collect(pids: number[]): Promise<void> {
  for (const p of pids) { try { process.kill(p, 'SIGUSR2'); } catch { /* gone */ } }
  await sleep(1500);
}

/**
 * The idle baseline. A fresh Node process's RSS is not a stable zero: start-up leaves 30+ MB of
 * garbage and a grown new space, which V8 trims at a time of its own choosing (seen here: at 8-10 s,
 * or not within 20 s; 116 -> 72 MiB for one process, 350 -> 210 MiB for a primary and two workers).
 * Baselines read at start-up made RSS per connection of `workers: 2` negative. So the baseline and
 * the final reading are taken in the same state: after a burst of connections (pre-warm: open and
 * close `prewarm` connections), `minMs` idle, and a forced full GC in every process (the final
 * reading: after the ramp, the hold of 3 s + `--idle-hold-ms` idle, and a forced full GC);
 * then three readings 1 s apart within 1 MiB (at most 10 s more).
 */
async function settleRss(pids: number[], startedAt: number, minMs = 12_000): Promise<{ rssKiB: number; waitedMs: number; settled: boolean }> {
  const wait = startedAt + minMs - Date.now();
  if (wait > 0) await sleep(wait);
  await collect(pids);
  const t0 = Date.now();
  const last: number[] = [];
  for (;;) {
    last.push(sampleProcs(pids).rssKiB);
    if (last.length > 3) last.shift();
    const flat = last.length === 3 && Math.max(...last) - Math.min(...last) <= 1024;
    if (flat || Date.now() - t0 >= 10_000) return { rssKiB: last[last.length - 1]!, waitedMs: Date.now() - startedAt, settled: flat };
    await sleep(1000);
  }
}

/** utime+stime seconds of each process, for the split of the tree's CPU between primary and workers. */
function cpuByPid(pids: number[]): number[] {
  return pids.map((p) => {
    try { return parseStatTicks(fs.readFileSync(`/proc/${p}/stat`, 'utf8')) / clockTicks(); } catch { return 0; }
  });
}

/** Polls /status during a run: the most connections any one wslb process held. */
function pollConnections(url: string): { stop: () => Promise<number[]> } {
  const peaks: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const doc = await status(url);
        const per = doc.workers?.length ? doc.workers.map((w) => w.connections ?? 0) : [doc.connections ?? 0];
        per.forEach((c, i) => { peaks[i] = Math.max(peaks[i] ?? 0, c); });
      } catch { /* a busy or saturated process: skip this reading */ }
      await sleep(1000);
    }
  })();
  return { stop: async () => { running = false; await loop; return peaks; } };
}

function benchOptions(scenario: Scenario, t: Target, pids: number[], wo: WorkersOptions): BenchOptions {
  const base: BenchOptions = { ...DEFAULTS, scenario: 'handshake', urls: t.urls, watchPids: pids, quiet: !wo.verbose };
  if (scenario === 'handshake') {
    // As bench:compare's handshake: one generator process, K openers, no source-address binding.
    return { ...base, concurrency: wo.concurrency, warmupMs: 1000, durationMs: wo.handshakeMs };
  }
  return {
    ...base, scenario: 'idle',
    connections: scenario === 'idle-common' ? wo.idleCommon : wo.idleTarget,
    ramp: 2000, processes: wo.idleProcesses, concurrency: 100, warmupMs: 3000, durationMs: wo.idleHoldMs,
    localAddresses: parseAddresses(wo.localAddresses),
  };
}

function oneLine(f: Record<string, number | null>): string {
  return Object.entries(f).map(([k, v]) => `${k} ${v == null ? '-' : Math.round(v * 100) / 100}`).join(', ');
}

async function main(wo: WorkersOptions): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wslb-workers-'));
  const started = new Date();
  const loadBefore = loadavg();
  say(`start ${started.toISOString()}, /proc/loadavg ${loadBefore}`);
  const runs: RunFigures[] = [];
  const results: { target: string; rep: number; scenario: Scenario; pids: number[]; treePids: number[]; cpuSecondsByPid: number[]; perProcessPeak?: number[]; loadavg: string; result: Omit<BenchResult, 'timeseries'> }[] = [];
  const failed: { target: string; rep: number; scenario: Scenario; error: string }[] = [];
  const farm = await startFarm();
  try {
    for (let rep = 1; rep <= wo.reps; rep++) {
      // Interleaved, the order alternating per repetition so that a drift in the machine's load does not favour one setting.
      const order = rep % 2 ? wo.settings : [...wo.settings].reverse();
      for (const n of order) {
        const name = `workers:${n}`;
        for (const scenario of SCENARIOS) {
          let s: Started | null = null;
          const load = loadavg();
          try {
            const idle = scenario !== 'handshake';
            s = await startSetting(farm, dir, n, idle ? GC_ARGS : []);   // a fresh tree per scenario: RSS per connection from a fresh baseline
            const pids = s.pids;
            if (idle) await runBench({ ...benchOptions(scenario, s.target, [], wo), connections: wo.prewarm, processes: 1, warmupMs: 0, durationMs: 300 });
            const settle = idle ? await settleRss(pids, Date.now()) : null;
            const poll = scenario === 'handshake' ? null : pollConnections(s.target.statusUrl!);
            const c0 = cpuByPid(s.pids);
            const j0 = cpuJiffies();
            let r: BenchResult;
            let peaks: number[] | undefined;
            try {
              r = await runBench(benchOptions(scenario, s.target, pids, wo), {
                ...(wo.verbose ? { progress: say } : {}),
                // Idle: the last RSS reading after a full GC too, like the baseline.
                ...(idle ? { beforeWindowEnd: () => collect(pids) } : {}),
              });
            } finally {
              peaks = await poll?.stop();
            }
            const j1 = cpuJiffies();
            const c1 = cpuByPid(s.pids);
            const cpuSplit = c1.map((c, i) => Math.round((c - c0[i]!) * 1000) / 1000);   // seconds per process over the whole run (set-up to drain)
            const cpuAll = cpuSplit.reduce((a, b) => a + b, 0);
            const machineBusy = Math.round(((j1.busy - j0.busy) / Math.max(1, j1.total - j0.total)) * 100) / 100;
            const figures: Record<string, number | null> = { ...workerFigures(r), machineBusy, load1: Number(load.split(' ')[0]) };
            if (peaks?.length) figures.maxPerProcess = Math.max(...peaks);
            if (settle) Object.assign(figures, { baseRssMiB: Math.round(settle.rssKiB / 102.4) / 10, baseSettled: settle.settled ? 1 : 0, settleS: Math.round(settle.waitedMs / 1000) });
            if (scenario === 'handshake' && s.pids.length > 1 && cpuAll > 0) figures.primaryCpuShare = Math.round((cpuSplit[0]! / cpuAll) * 100) / 100;
            runs.push({ target: name, rep, scenario, figures });
            const { timeseries: _ts, ...rest } = r;
            results.push({ target: name, rep, scenario, pids: s.pids, treePids: s.treePids, cpuSecondsByPid: cpuSplit, ...(peaks ? { perProcessPeak: peaks } : {}), loadavg: load, result: rest });
            const errs = Object.entries(r.errors).map(([k, v]) => `${k} ${v}`).join(', ');
            say(`rep ${rep} ${name} ${scenario.padEnd(11)} ${oneLine(figures)}${peaks ? `, per process ${peaks.join('/')}` : ''}${errs ? `, errors: ${errs}` : ''} [pids ${s.pids.join(',')}; cpu s ${cpuSplit.join('/')}; tree ${s.treePids.length}; load ${load.split(' ').slice(0, 3).join(' ')}]`);
          } catch (err) {
            failed.push({ target: name, rep, scenario, error: (err as Error).message });
            say(`rep ${rep} ${name} ${scenario}: FAILED: ${(err as Error).message}`);
          } finally {
            await s?.target.child?.stop();
          }
        }
      }
    }
  } finally {
    await farm.child.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const loadAfter = loadavg();
  const table = workersTable(runs, workerRows(wo.idleCommon, wo.idleTarget), `workers:${wo.settings[0]}`, `workers:${wo.settings[1] ?? wo.settings[0]}`);
  const stamp = started.toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const file = path.join(wo.out, `workers-${stamp}.json`);
  writeJson(file, {
    tool: 'wslb-bench workers', date: started.toISOString(), finished: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '?', memoryMiB: Math.round(os.totalmem() / 2 ** 20), os: `${os.type()} ${os.release()}`, node: process.version },
    loadavg: { before: loadBefore, after: loadAfter },
    command: `npm run bench:workers${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    options: wo, failed, table, runs, results,
  });
  process.stdout.write(`\nworkers: ${wo.settings.join(' vs ')}, medians of ${wo.reps} repetition(s), ${started.toISOString()} - ${new Date().toISOString()}\n`);
  process.stdout.write(`/proc/loadavg before: ${loadBefore}; after: ${loadAfter}\n\n${table}\n\n`);
  for (const f of failed) process.stdout.write(`FAILED: rep ${f.rep} ${f.target} ${f.scenario}: ${f.error}\n`);
  process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
  if (failed.length) process.exitCode = 1;
}

const num = (v: string): number => {
  const n = Number(v.replace(/[_,]/g, ''));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number, got "${v}"`);
  return n;
};

const program = new Command('bench-workers')
  .description('wslb `workers: 1` against `workers: 2`, same farm, same run: handshakes/s, CPU per upgrade, idle connections held, RSS per connection (whole process tree)')
  .option('--reps <n>', 'repetitions (interleaved)', num, 3)
  .option('--settings <list>', 'worker counts to compare; the table compares the first two', (v) => v.split(',').map(num), [1, 2])
  .option('--idle-common <n>', 'idle connections both settings can hold (memory per connection like for like)', num, 9900)
  .option('--idle-target <n>', 'idle connections to try for (beyond one process\'s fd limit)', num, 15_000)
  .option('--idle-processes <n>', 'generator processes for idle (ulimit -n is per process)', num, 3)
  .option('--idle-hold-ms <ms>', 'idle measured window after the 3 s settle: long enough for the memory reducer to have run', num, 12_000)
  .option('--prewarm <n>', 'idle: connections opened and closed before the baseline RSS reading', num, 2000)
  .option('--handshake-ms <ms>', 'handshake measured window (after 1 s warm-up)', num, 5000)
  .option('--concurrency <n>', 'handshake openers', num, 16)
  .option('--local-addresses <list>', 'idle source addresses', '127.0.0.1-127.0.0.16')
  .option('--out <dir>', 'where the results JSON goes', path.join(ROOT, 'bench/results'))
  .option('--verbose', 'per-second progress of every run', false)
  .action(async (wo: WorkersOptions) => {
    try {
      await main(wo);
    } catch (err) {
      process.stderr.write(`bench:workers: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  });

await program.parseAsync();
