#!/usr/bin/env node
/** wslb-bench: the bundled WebSocket load generator (bench/README.md). */

import { Command } from 'commander';
import { addFlags, type Raw } from './flags.js';
import { outcome } from './outcome.js';
import { writeHtml } from './report/html.js';
import { writeJson } from './report/json.js';
import { formatTable } from './report/table.js';
import { runBench } from './run.js';
import { DEFAULTS, parseAddresses, type BenchOptions, type ScenarioName } from './options.js';

const SCENARIO_HELP: Record<ScenarioName, string> = {
  echo: 'C connections, each with W messages in flight (closed loop): round-trip latency and msg/s',
  rate: 'open loop at --rate msg/s over C connections: latency from the intended send time (coordinated-omission free), service time, late sends',
  handshake: 'K openers (--concurrency) open and close connections as fast as possible, or at --rate upgrades/s',
  idle: 'ramp to C idle connections and hold them for --duration (optional --ping); with --watch-pid, RSS and CPU per connection',
  broadcast: 'C clients receive server pushes (e.g. ws://HOST/room of the demo farm): delivered msg/s and lag from a "ts" field',
  flood: 'H heavy downloaders ask for 64 KiB messages as fast as the server sends and stop reading; one probe echoes at a fixed rate: its latency before and during the flood, how the heavy ones ended',
};

/** Per-scenario defaults that differ from DEFAULTS. */
const SCENARIO_DEFAULTS: Partial<Record<ScenarioName, Partial<BenchOptions>>> = {
  handshake: { concurrency: 16, warmupMs: 1000 },
  idle: { warmupMs: 1000 },
  flood: { warmupMs: 5000 },
  broadcast: { urls: ['ws://127.0.0.1:8080/room'] },
};

const defaultsOf = (scenario: ScenarioName): Omit<BenchOptions, 'scenario'> => ({ ...DEFAULTS, ...SCENARIO_DEFAULTS[scenario] });

export function toOptions(scenario: ScenarioName, raw: Raw): BenchOptions {
  const d = defaultsOf(scenario);
  const o: BenchOptions = {
    ...d,
    scenario,
    urls: raw.url?.length ? raw.url : d.urls,
    connections: scenario === 'handshake' ? 0 : scenario === 'flood' ? (raw.heavy ?? d.heavy) + 1 : raw.connections ?? d.connections,
    ramp: raw.ramp ?? d.ramp,
    concurrency: raw.concurrency ?? d.concurrency,
    durationMs: raw.duration ?? d.durationMs,
    warmupMs: raw.warmup ?? d.warmupMs,
    drainMs: raw.drain ?? d.drainMs,
    size: raw.size ?? d.size,
    binary: raw.binary === true,
    perMessageDeflate: raw.perMessageDeflate === true,
    inflight: Math.max(1, raw.inflight ?? d.inflight),
    rate: raw.rate ?? d.rate,
    lateMs: raw.late ?? d.lateMs,
    maxBufferedBytes: raw.maxBuffered ?? d.maxBufferedBytes,
    maxMessages: raw.maxMessages ?? d.maxMessages,
    pingMs: raw.ping ?? d.pingMs,
    publish: raw.publish ?? d.publish,
    publishPrefix: raw.publishPrefix ?? d.publishPrefix,
    tsField: raw.tsField ?? d.tsField,
    raw: raw.raw === true,
    http2: raw.http2 === true,
    h2Sessions: Math.max(1, raw.h2Sessions ?? d.h2Sessions),
    insecure: raw.insecure === true,
    heavy: raw.heavy ?? d.heavy,
    probeRate: raw.probeRate ?? d.probeRate,
    controlUrl: raw.controlUrl ?? d.controlUrl,
    processes: raw.processes ?? d.processes,
    localAddresses: (raw.localAddresses ?? []).flatMap(parseAddresses),
    handshakeTimeoutMs: raw.handshakeTimeout ?? d.handshakeTimeoutMs,
    watchPids: [...(raw.watchPid ?? []), ...(raw.targetPids ?? [])],
    statusUrl: raw.status,
    json: raw.json,
    html: raw.html,
    quiet: raw.quiet === true,
  };
  if (scenario === 'rate' && !(o.rate > 0)) throw new Error('rate: --rate is required, e.g. --rate 10000/s');
  if (o.size < 1) throw new Error('--size must be at least 1 byte');
  if (scenario === 'flood' && !(o.probeRate > 0)) throw new Error('flood: --probe-rate must be above 0');
  if (o.http2 && o.raw) throw new Error('--http2 and --raw: choose one (--raw is HTTP/1.1 over bare TCP)');
  if (o.raw) for (const u of o.urls) if (!u.startsWith('ws://')) throw new Error(`--raw: only ws:// URLs, got "${u}"`);
  for (const u of o.urls) if (!/^wss?:\/\//.test(u)) throw new Error(`--url: expected ws:// or wss://, got "${u}"`);
  if (o.http2) for (const u of o.urls) if (!u.startsWith('wss://')) throw new Error(`--http2: h2 is chosen in the TLS handshake, so wss:// URLs only, got "${u}"`);
  return o;
}

async function main(scenario: ScenarioName, raw: Raw): Promise<void> {
  const opts = toOptions(scenario, raw);
  const result = await runBench(opts, opts.quiet ? {} : { progress: (line) => process.stderr.write(line + '\n') });
  process.stdout.write(formatTable(result) + '\n');
  if (opts.json) writeJson(opts.json, result);
  if (opts.html) writeHtml(opts.html, result);
  const end = outcome(result, raw.allowFailures === true);
  if (end.message) process.stderr.write(end.message + '\n');
  process.exitCode = end.code;
}

const program = new Command('wslb-bench')
  .description('WebSocket load generator: HDR latency merged over processes, open-loop rates without coordinated omission')
  .showHelpAfterError('(wslb-bench --help lists the scenarios, wslb-bench SCENARIO --help their options)')
  // Usage errors (unknown option, bad value, missing --rate) exit 2; help exits 0.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .addHelpText('after', `
Durations take a unit (500ms, 10s, 2m), rates are per second (500/s), sizes in bytes or with a
unit (64, 1KiB). Every target sees all generator connections coming from 127.0.0.1 (or the
--local-addresses): a balancer's per-client-address limits apply to them.

Exit status: 0 when every connection opened and stayed open; 1 when some failed to open or were
closed by the target (unless --allow-failures), when none worked, or when the run failed;
2 on a usage error. "wslb-bench SCENARIO --help" lists a scenario's options.`);

for (const name of Object.keys(SCENARIO_HELP) as ScenarioName[]) {
  const cmd = program.command(name).description(SCENARIO_HELP[name]);
  addFlags(cmd, name, defaultsOf(name)).action(async (raw: Raw) => {
    try {
      await main(name, raw);
    } catch (err) {
      process.stderr.write(`wslb-bench: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  });
}

await program.parseAsync();
