#!/usr/bin/env node
/** wslb-bench: the bundled WebSocket load generator (bench/README.md). */

import { Command, Option } from 'commander';
import { writeHtml } from './report/html.js';
import { writeJson } from './report/json.js';
import { formatTable } from './report/table.js';
import { runBench } from './run.js';
import {
  DEFAULTS, parseAddresses, parseCount, parseDuration, parseRate, parseSize,
  type BenchOptions, type ScenarioName,
} from './options.js';

interface Raw {
  url?: string[]; connections: number; ramp: number; concurrency?: number; duration: number; warmup?: number; drain: number;
  size: number; binary?: boolean; perMessageDeflate?: boolean; inflight: number; rate: number; late: number;
  maxBuffered: number; maxMessages: number; ping: number; publish: number; publishPrefix: string; tsField: string;
  processes: number; localAddresses?: string[]; handshakeTimeout: number; watchPid?: number[]; targetPids?: number[];
  status?: string; json?: string; html?: string; quiet?: boolean;
}

const collect = <T>(parse: (v: string) => T) => (v: string, prev: T[] | undefined): T[] => [...(prev ?? []), parse(v)];
const pidList = (v: string, prev: number[] | undefined): number[] => [...(prev ?? []), ...v.split(',').map(parseCount)];

const SCENARIO_HELP: Record<ScenarioName, string> = {
  echo: 'C connections, each with W messages in flight (closed loop): round-trip latency and msg/s',
  rate: 'open loop at --rate msg/s over C connections: latency from the intended send time (coordinated-omission free), service time, late sends',
  handshake: 'K openers (--concurrency) open and close connections as fast as possible, or at --rate upgrades/s',
  idle: 'ramp to C idle connections and hold them for --duration (optional --ping); with --watch-pid, RSS and CPU per connection',
  broadcast: 'C clients receive server pushes (e.g. ws://HOST/room of the demo farm): delivered msg/s and lag from a "ts" field',
};

/** Per-scenario defaults that differ from DEFAULTS. */
const SCENARIO_DEFAULTS: Partial<Record<ScenarioName, Partial<BenchOptions>>> = {
  handshake: { concurrency: 16, warmupMs: 1000 },
  idle: { warmupMs: 1000 },
  broadcast: { urls: ['ws://127.0.0.1:8080/room'] },
};

function addOptions(cmd: Command): Command {
  return cmd
    .option('-u, --url <url>', `target URL, repeatable: connections go round robin over them (default ${DEFAULTS.urls[0]})`, collect(String))
    .option('-c, --connections <n>', 'connections (handshake: ignored)', parseCount, DEFAULTS.connections)
    .option('--ramp <rate>', 'connection arrivals, e.g. 500/s (default: as fast as --concurrency allows)', parseRate, 0)
    .option('--concurrency <n>', 'handshakes in flight per process (handshake: the K openers, default 16)', parseCount)
    .option('-d, --duration <time>', 'measured window (idle: the hold)', parseDuration, DEFAULTS.durationMs)
    .option('-w, --warmup <time>', 'warm-up before the window, excluded from results (idle: settle time before measuring)', parseDuration)
    .option('--drain <time>', 'after the window, wait this long for replies to messages sent in it', parseDuration, DEFAULTS.drainMs)
    .option('-s, --size <bytes>', 'payload size, e.g. 64 or 1KiB', parseSize, DEFAULTS.size)
    .option('--binary', 'binary messages (default text)')
    .option('--per-message-deflate', 'offer permessage-deflate (off by default: it costs ~10x CPU and memory)')
    .option('--inflight <n>', 'echo: messages in flight per connection', parseCount, DEFAULTS.inflight)
    .option('-r, --rate <rate>', 'rate: messages/s over all connections; handshake: target upgrades/s', parseRate, 0)
    .option('--late <time>', 'rate: a send this far behind schedule counts as late', parseDuration, DEFAULTS.lateMs)
    .option('--max-buffered <bytes>', 'rate/broadcast: skip (and count as dropped) a send while this much is queued on its connection', parseSize, DEFAULTS.maxBufferedBytes)
    .option('--max-messages <n>', 'stop after this many messages (handshake: upgrades) in all; the run also ends at --duration', parseCount, 0)
    .option('--ping <time>', 'idle: ping each connection this often', parseDuration, 0)
    .option('--publish <rate>', 'broadcast: clients publish this many messages/s (with --publish-prefix) for the servers to fan out', parseRate, 0)
    .option('--publish-prefix <text>', 'broadcast: prefix of published messages (the demo farm fans out "broadcast:...")', DEFAULTS.publishPrefix)
    .option('--ts-field <name>', 'broadcast: JSON field holding the send time in ms since the epoch', DEFAULTS.tsField)
    .option('-p, --processes <n>', 'generator processes (default: one per 8,000 connections)', parseCount, 0)
    .option('--local-addresses <list>', 'source addresses, e.g. 127.0.0.1-127.0.0.16 (each gives ~28k ports per target)', collect(String))
    .option('--handshake-timeout <time>', 'give up an opening handshake after this long', parseDuration, DEFAULTS.handshakeTimeoutMs)
    .option('--watch-pid <pid>', 'process under test (with its children): CPU and RSS from /proc; repeatable', pidList)
    .option('--target-pids <pids>', 'same as --watch-pid, comma-separated', pidList)
    .option('--status <url>', "the balancer's /status URL: per-server distribution in the report")
    .option('--json <file>', 'write every figure and the merged encoded histograms as JSON')
    .option('--html <file>', 'write a self-contained HTML report with charts')
    .addOption(new Option('-q, --quiet', 'no live progress'));
}

export function toOptions(scenario: ScenarioName, raw: Raw): BenchOptions {
  const d = { ...DEFAULTS, ...SCENARIO_DEFAULTS[scenario] };
  const o: BenchOptions = {
    ...d,
    scenario,
    urls: raw.url?.length ? raw.url : d.urls,
    connections: scenario === 'handshake' ? 0 : raw.connections,
    ramp: raw.ramp,
    concurrency: raw.concurrency ?? d.concurrency,
    durationMs: raw.duration,
    warmupMs: raw.warmup ?? d.warmupMs,
    drainMs: raw.drain,
    size: raw.size,
    binary: raw.binary === true,
    perMessageDeflate: raw.perMessageDeflate === true,
    inflight: Math.max(1, raw.inflight),
    rate: raw.rate,
    lateMs: raw.late,
    maxBufferedBytes: raw.maxBuffered,
    maxMessages: raw.maxMessages,
    pingMs: raw.ping,
    publish: raw.publish,
    publishPrefix: raw.publishPrefix,
    tsField: raw.tsField,
    processes: raw.processes,
    localAddresses: (raw.localAddresses ?? []).flatMap(parseAddresses),
    handshakeTimeoutMs: raw.handshakeTimeout,
    watchPids: [...(raw.watchPid ?? []), ...(raw.targetPids ?? [])],
    statusUrl: raw.status,
    json: raw.json,
    html: raw.html,
    quiet: raw.quiet === true,
  };
  if (scenario === 'rate' && !(o.rate > 0)) throw new Error('rate: --rate is required, e.g. --rate 10000/s');
  if (o.size < 1) throw new Error('--size must be at least 1 byte');
  for (const u of o.urls) if (!/^wss?:\/\//.test(u)) throw new Error(`--url: expected ws:// or wss://, got "${u}"`);
  return o;
}

async function main(scenario: ScenarioName, raw: Raw): Promise<void> {
  const opts = toOptions(scenario, raw);
  const result = await runBench(opts, opts.quiet ? {} : { progress: (line) => process.stderr.write(line + '\n') });
  process.stdout.write(formatTable(result) + '\n');
  if (opts.json) writeJson(opts.json, result);
  if (opts.html) writeHtml(opts.html, result);
  if (result.connections.opened === 0 && scenario !== 'handshake') process.exitCode = 1;
}

const program = new Command('wslb-bench')
  .description('WebSocket load generator: HDR latency merged over processes, open-loop rates without coordinated omission')
  .showHelpAfterError();

for (const name of Object.keys(SCENARIO_HELP) as ScenarioName[]) {
  addOptions(program.command(name).description(SCENARIO_HELP[name])).action(async (raw: Raw) => {
    try {
      await main(name, raw);
    } catch (err) {
      process.stderr.write(`wslb-bench: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  });
}

await program.parseAsync();
