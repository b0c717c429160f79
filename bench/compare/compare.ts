#!/usr/bin/env node
/** npm run bench:compare: the same scenarios direct to the demo farm, through wslb, HAProxy, nginx, node http-proxy and Node's floor (a reference, not a product), repeated, as medians with ratios. */

import { Command, InvalidArgumentError } from 'commander';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULTS, parseAddresses, type BenchOptions, type ScenarioName } from '../options.js';
import { writeJson } from '../report/json.js';
import { runBench, type BenchResult } from '../run.js';
import { direct, ROOT, Skip, startFarm, startFloor, startHaproxy, startHttpProxy, startNginx, startWslb, type Farm, type Target } from './peers.js';
import { formatProfile, readProfile, summarizeProfile, type ProfileSummary } from './profile.js';
import { figuresOf, markdownTable, medians, printRunEnd, type FailedRun, verdicts, verdictTable, type RunFigures } from './summary.js';

// floor-l7 and floor-l4 are references, not products: the least a Node proxy pays (floor-main.ts).
// wslb-base: wslb from another built tree (--base DIR), for a before/after pair in the same run.
const TARGETS = ['direct', 'wslb', 'wslb-base', 'haproxy', 'nginx', 'http-proxy', 'floor-l7', 'floor-l4'] as const;
// idle first: RSS per connection on a fresh proxy; flood last: it leaves the proxy's heap and buffers grown.
const SCENARIOS: ScenarioName[] = ['idle', 'echo', 'rate', 'handshake', 'broadcast', 'flood'];

type Sizes = Record<ScenarioName, Partial<BenchOptions>>;

/**
 * Default run: a few minutes. The target sizes (--full) except idle connections (2,000), window lengths
 * and the rate: 10,000 msg/s saturates a 2-core machine that also runs the generator and the
 * farm (hundreds of late sends even direct), so the default measures at half of it.
 */
const QUICK: Sizes = {
  idle: { connections: 2000, ramp: 2000, warmupMs: 3000, durationMs: 3000 },
  echo: { connections: 100, size: 64, warmupMs: 1000, durationMs: 4000 },
  rate: { connections: 1000, rate: 5000, size: 128, ramp: 2000, warmupMs: 1500, durationMs: 6000 },
  // Raw-TCP openers: each cycle is upgrade + close handshake + FIN, so CPU per upgrade is per connection lifetime.
  handshake: { raw: true, concurrency: 50, warmupMs: 1000, durationMs: 3000 },
  // Server-to-client fan-out: 2,000 clients, 256 B; 30 publishes/s over the three servers is one
  // message every 100 ms to every client (20,000 deliveries/s).
  broadcast: { connections: 2000, ramp: 2000, publish: 30, size: 256, warmupMs: 2000, durationMs: 5000 },
  // 100 heavy downloaders that stop reading, one probe at 50 round trips/s; 3 s baseline, 8 s flood
  // (wslb's stall limit in bench/configs/wslb.yaml is 5 s, so its 1008s fall inside the window).
  flood: { heavy: 100, connections: 101, probeRate: 50, warmupMs: 3000, durationMs: 8000, drainMs: 3000 },
};

/** --full: the target sizes. 10,000 proxied connections need 20,000+ fds in the proxy; `ulimit -n` caps it just below. */
const FULL: Sizes = {
  idle: { connections: 9900, ramp: 2000, processes: 2, warmupMs: 3000, durationMs: 5000 },
  echo: { connections: 100, size: 64, warmupMs: 2000, durationMs: 15_000 },
  rate: { connections: 1000, rate: 10_000, size: 128, ramp: 2000, warmupMs: 3000, durationMs: 15_000 },
  handshake: { raw: true, concurrency: 50, warmupMs: 2000, durationMs: 10_000 },
  broadcast: { connections: 2000, ramp: 2000, publish: 30, size: 256, warmupMs: 2000, durationMs: 15_000 },
  flood: { heavy: 100, connections: 101, probeRate: 50, warmupMs: 5000, durationMs: 15_000, drainMs: 3000 },
};

interface CompareOptions { base?: string; full: boolean; reps: number; targets: string[]; scenarios: ScenarioName[]; out: string; profile: boolean; verbose: boolean; localAddresses: string; set: string[] }

function benchOptions(scenario: ScenarioName, sizes: Sizes, t: Target, co: CompareOptions, farm: Farm): BenchOptions {
  return {
    ...DEFAULTS, scenario,
    urls: t.urls,
    // Source addresses only where the connection count needs them: bind() before connect() makes
    // short-lived connections (handshake) markedly slower.
    localAddresses: scenario === 'idle' ? parseAddresses(co.localAddresses) : [],
    watchPids: t.child ? [t.child.pid] : [],
    statusUrl: scenario === 'echo' ? t.statusUrl : undefined,
    quiet: !co.verbose,
    ...sizes[scenario],
    // flood: the heavy downloaders plus the probe, whatever --set changed.
    // The control probe goes straight to the farm (its one process serves all three servers).
    ...(scenario === 'flood' ? { connections: (sizes.flood.heavy ?? DEFAULTS.heavy) + 1, controlUrl: `ws://127.0.0.1:${farm.ports[0]}/` } : {}),
  };
}

async function startTarget(name: string, farm: Farm, dir: string, nodeArgs: string[] = [], base?: string): Promise<Target> {
  switch (name) {
    case 'direct': return direct(farm);
    case 'wslb': return startWslb(farm, dir, nodeArgs);
    case 'wslb-base':
      if (!base) throw new Skip('wslb-base needs --base DIR (a built tree, e.g. /tmp/wslb-at-COMMIT from at-commit.sh)');
      return startWslb(farm, dir, nodeArgs, '', path.resolve(base), 'wslb-base');
    case 'haproxy': return startHaproxy(farm, dir);
    case 'nginx': return startNginx(farm, dir);
    case 'http-proxy': return startHttpProxy(farm);
    case 'floor-l7': return startFloor(farm, 'l7');
    case 'floor-l4': return startFloor(farm, 'l4');
    default: throw new Error(`unknown target "${name}"; expected ${TARGETS.join(', ')}`);
  }
}

/** `--set rate.rate=5000 --set echo.durationMs=10000`: numbers of BenchOptions per scenario. */
function withOverrides(base: Sizes, sets: string[]): Sizes {
  const out = JSON.parse(JSON.stringify(base)) as Sizes;
  for (const s of sets) {
    const m = /^(\w+)\.(\w+)=(\d+(?:\.\d+)?)$/.exec(s);
    if (!m || !(m[1]! in out) || !(m[2]! in DEFAULTS)) throw new Error(`--set: expected SCENARIO.OPTION=NUMBER (e.g. rate.rate=5000), got "${s}"`);
    (out[m[1] as ScenarioName] as Record<string, number>)[m[2]!] = Number(m[3]);
  }
  return out;
}

/** Jiffies busy and total over all CPUs, from /proc/stat: how busy the machine was, whoever was busy. */
function cpuJiffies(): { busy: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

const say = (s: string): void => { process.stderr.write(s + '\n'); };

function parseScenarios(v: string): ScenarioName[] {
  const list = v.split(',').map((x) => x.trim()).filter(Boolean);
  for (const x of list) if (!SCENARIOS.includes(x as ScenarioName)) throw new InvalidArgumentError(`unknown scenario "${x}"; expected ${SCENARIOS.join(', ')}`);
  return SCENARIOS.filter((x) => list.includes(x));   // always in the run order (idle first, flood last)
}

/** The commit measured, with "+dirty" when the tracked files differ from it; WSLB_COMMIT names it for a tree exported by at-commit.sh. */
function gitCommit(): string {
  if (process.env.WSLB_COMMIT) return process.env.WSLB_COMMIT;
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT }).toString().trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

function oneLine(r: BenchResult): string {
  const f = figuresOf(r);
  return Object.entries(f).map(([k, v]) => `${k} ${v == null ? '-' : Math.round(v * 100) / 100}`).join(', ');
}

async function profileWslb(farm: Farm, dir: string, sizes: Sizes, co: CompareOptions): Promise<Record<string, ProfileSummary>> {
  const out: Record<string, ProfileSummary> = {};
  for (const scenario of ['echo', 'rate', 'handshake'] as ScenarioName[]) {
    const profDir = path.join(dir, `prof-${scenario}`);
    const spawnedAt = Date.now();
    const t = await startTarget('wslb', farm, dir, ['--cpu-prof', '--cpu-prof-dir', profDir]);
    let r: BenchResult;
    try {
      r = await runBench(benchOptions(scenario, sizes, t, co, farm));
    } finally {
      await t.child?.stop();
    }
    const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no .cpuprofile written in ${profDir}`);
    // Only the measured window: start-up, connection ramp and shutdown are left out (to ~50 ms: the
    // profile starts when the process does).
    const s = summarizeProfile(readProfile(path.join(profDir, file)), 15, r.window.startedAt - spawnedAt, r.window.endedAt - spawnedAt);
    say(`\nwslb profile, ${scenario}, measured window (node --cpu-prof):\n${formatProfile(s)}`);
    out[scenario] = s;
  }
  return out;
}

async function main(co: CompareOptions): Promise<void> {
  const sizes = withOverrides(co.full ? FULL : QUICK, co.set);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wslb-compare-'));
  const started = new Date();
  const runs: RunFigures[] = [];
  const results: { target: string; rep: number; result: Omit<BenchResult, 'timeseries'> }[] = [];
  const versions: Record<string, string> = {};
  const skipped: Record<string, string> = {};
  const failed: FailedRun[] = [];
  let profiles: Record<string, ProfileSummary> = {};
  const farm = await startFarm();
  try {
    for (let rep = 1; rep <= co.reps; rep++) {
      for (const name of co.targets) {
        if (skipped[name]) continue;
        let t: Target;
        try {
          t = await startTarget(name, farm, dir, [], co.base);
        } catch (err) {
          if (err instanceof Skip) { skipped[name] = err.message; say(`${name}: skipped: ${err.message}`); continue; }
          failed.push({ target: name, rep, error: (err as Error).message });
          say(`${name}: failed to start: ${(err as Error).message}`);
          continue;
        }
        versions[name] = t.version;
        try {
          for (const scenario of co.scenarios) {
            try {
              const j0 = cpuJiffies();
              const r = await runBench(benchOptions(scenario, sizes, t, co, farm), co.verbose ? { progress: say } : {});
              const j1 = cpuJiffies();
              // Share of all cores busy during the run (generator, farm, proxy and anything else on the machine).
              const machineBusy = Math.round(((j1.busy - j0.busy) / Math.max(1, j1.total - j0.total)) * 100) / 100;
              runs.push({ target: name, rep, scenario, figures: { ...figuresOf(r), machineBusy } });
              const { timeseries: _ts, ...rest } = r;
              results.push({ target: name, rep, result: rest });
              say(`rep ${rep} ${name.padEnd(10)} ${scenario.padEnd(9)} ${oneLine(r)}`);
            } catch (err) {
              failed.push({ target: name, rep, scenario, error: (err as Error).message });
              say(`rep ${rep} ${name} ${scenario}: FAILED: ${(err as Error).message}`);
            }
          }
        } finally {
          await t.child?.stop();
        }
      }
    }
    if (co.profile && co.targets.includes('wslb') && co.scenarios.includes('echo')) profiles = await profileWslb(farm, dir, sizes, co);
  } finally {
    await farm.child.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const m = medians(runs);
  const targets = co.targets.filter((t) => m[t]);
  const table = markdownTable(m, targets);
  const vs = verdicts(m, sizes.idle.connections ?? 0);
  const stamp = started.toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const file = path.join(co.out, `compare-${stamp}${co.full ? '-full' : ''}${co.scenarios.length < SCENARIOS.length ? `-${co.scenarios.join('-')}` : ''}.json`);
  const commit = gitCommit();
  writeJson(file, {
    tool: 'wslb-bench compare', date: started.toISOString(), finished: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '?', memoryMiB: Math.round(os.totalmem() / 2 ** 20), os: `${os.type()} ${os.release()}`, node: process.version },
    command: `npm run bench:compare${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`, commit,
    mode: co.full ? 'full' : 'quick', reps: co.reps, sizes, versions, skipped, failed,
    medians: m, verdicts: vs, table, runs, profiles, results,
  });
  process.stdout.write(`\nmedians of ${co.reps} repetition(s), ${co.full ? 'full' : 'quick'} sizes, commit ${commit}:\n\n${table}\n\n${verdictTable(vs)}\n\n`);
  printRunEnd(versions, skipped, failed, file);
}

const program = new Command('bench-compare')
  .description('direct / wslb / HAProxy / nginx / node http-proxy, one after another in the same run, repeated: medians and ratios')
  .option('--full', "the target sizes (10 s+ windows, ~10,000 idle connections); default: a run of a few minutes", false)
  .option('--reps <n>', 'repetitions', (v) => Number(v), 3)
  .option('--base <dir>', 'a built tree (dist/) whose wslb runs as target wslb-base: before/after in the same run; add wslb-base to --targets')
  .option('--targets <list>', `comma-separated subset of ${TARGETS.join(',')} (floor-*: references, not products)`, (v) => v.split(','), TARGETS.filter((t) => t !== 'wslb-base'))
  .option('--scenarios <list>', `comma-separated subset of ${SCENARIOS.join(',')}`, parseScenarios, [...SCENARIOS])
  .option('--out <dir>', 'where the results JSON goes', path.join(ROOT, 'bench/results'))
  .option('--no-profile', "skip the final pass that profiles wslb (node --cpu-prof) on echo, rate and handshake")
  .option('--local-addresses <list>', 'generator source addresses', '127.0.0.1-127.0.0.16')
  .option('--set <scenario.option=number>', 'override one size, e.g. rate.rate=5000 or echo.durationMs=10000 (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option('--verbose', 'per-second progress of every run', false)
  .action(async (co: CompareOptions) => {
    try {
      await main(co);
    } catch (err) {
      process.stderr.write(`bench:compare: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  });

await program.parseAsync();
