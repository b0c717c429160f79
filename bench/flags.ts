/** wslb-bench's command-line flags: which scenario takes which, grouped for --help, each default shown once and in units (10s, 1MiB). */

import { InvalidArgumentError, Option, type Command } from 'commander';
import { formatDuration } from '../src/config/units.js';
import { parseCount, parseDuration, parseRate, parseSize, type BenchOptions, type ScenarioName } from './options.js';

/** What commander hands the action; a flag a scenario does not take stays undefined. */
export interface Raw {
  url?: string[]; connections?: number; ramp?: number; concurrency?: number; duration?: number; warmup?: number; drain?: number;
  size?: number; binary?: boolean; perMessageDeflate?: boolean; inflight?: number; rate?: number; late?: number;
  maxBuffered?: number; maxMessages?: number; raw?: boolean; http2?: boolean; h2Sessions?: number; insecure?: boolean; heavy?: number; probeRate?: number; controlUrl?: string; ping?: number; publish?: number; publishPrefix?: string; tsField?: string;
  processes?: number; localAddresses?: string[]; handshakeTimeout?: number; watchPid?: number[]; targetPids?: number[];
  status?: string; json?: string; html?: string; quiet?: boolean; allowFailures?: boolean;
}

/** A parser whose error commander reports as a usage error naming the option (a plain Error would crash with a stack). */
function arg<T>(parse: (v: string) => T): (v: string) => T {
  return (v) => {
    try {
      return parse(v);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

/** Repeatable: the first use replaces the default list, later ones append. */
function collect<T>(parse: (v: string) => T[], dflt?: T[]): (v: string, prev: T[] | undefined) => T[] {
  const p = arg(parse);
  return (v, prev) => [...(prev === undefined || prev === dflt ? [] : prev), ...p(v)];
}

function bytes(n: number): string {
  for (const [unit, f] of [['MiB', 1024 ** 2], ['KiB', 1024]] as const) if (n > 0 && n % f === 0) return `${n / f}${unit}`;
  return `${n}B`;
}

const SCENARIO_GROUP: Record<ScenarioName, string> = {
  echo: 'Echo messages:',
  rate: 'Open-loop rate:',
  handshake: 'Handshakes:',
  idle: 'Idle connections:',
  broadcast: 'Broadcast:',
  flood: 'Flood:',
};

/** Adds the flags of `scenario` to its command; `d` holds that scenario's defaults. */
export function addFlags(cmd: Command, scenario: ScenarioName, d: Omit<BenchOptions, 'scenario'>): Command {
  let group = '';
  const add = (o: Option): void => { cmd.addOption(o.helpGroup(group)); };
  const time = (flags: string, desc: string, value: number, shown = formatDuration(value)): Option =>
    new Option(flags, desc).argParser(arg(parseDuration)).default(value, shown);
  const handshake = scenario === 'handshake';
  const flood = scenario === 'flood';

  group = 'Target and connections:';
  add(new Option('-u, --url <url>', 'target URL; repeat it to spread connections round robin over several')
    .argParser(collect((v) => [v], d.urls)).default(d.urls, d.urls.join(', ')));
  if (!handshake && !flood) add(new Option('-c, --connections <n>', 'connections to open and keep').argParser(arg(parseCount)).default(d.connections));
  if (!handshake) {
    add(new Option('--ramp <rate>', 'connection arrivals over all processes, e.g. 500/s').argParser(arg(parseRate))
      .default(0, 'as fast as --concurrency allows'));
  }
  add(new Option('--concurrency <n>', handshake
    ? 'openers per process: each opens a connection, times it, closes it, again'
    : 'handshakes in flight per process while opening').argParser(arg(parseCount)).default(d.concurrency));
  add(time('--handshake-timeout <time>', 'give up an opening handshake after this long', d.handshakeTimeoutMs));
  add(new Option('--local-addresses <list>', 'source addresses, e.g. 127.0.0.1-127.0.0.16: ~28k ports each per target, and each its own per-IP limits at a balancer')
    .argParser(collect((v) => [v])));
  add(new Option('-p, --processes <n>', 'generator processes').argParser(arg(parseCount))
    .default(0, handshake ? '1' : 'one per 8,000 connections'));
  add(new Option('--per-message-deflate', 'offer permessage-deflate (costs ~10x CPU and memory)'));
  add(new Option('--insecure', 'wss:// and --http2: accept any server certificate (a test CA, a self-signed one)'));
  if (scenario === 'echo' || handshake) {
    add(new Option('--http2', 'WebSockets over HTTP/2 (RFC 8441): each connection an extended CONNECT stream on a few shared h2 connections; wss:// URLs'));
    add(new Option('--h2-sessions <n>', 'with --http2: h2 connections per generator process and target').argParser(arg(parseCount)).default(d.h2Sessions));
  }

  group = 'Timing:';
  add(time('-d, --duration <time>', scenario === 'idle' ? 'the hold (the measured window)' : 'measured window', d.durationMs));
  add(time('-w, --warmup <time>', scenario === 'idle' ? 'settle time after the ramp, before the hold is measured'
    : flood ? 'the baseline: the probe alone, before the flood starts with the measured window' : 'load before the window, left out of the results', d.warmupMs));
  add(time('--drain <time>', 'after the window, wait this long for replies to messages sent in it', d.drainMs));
  if (scenario !== 'idle' && !flood) {
    const what = handshake ? 'upgrades' : scenario === 'broadcast' ? 'published messages' : 'messages';
    add(new Option('--max-messages <n>', `stop after this many ${what} in all (the run also ends at --duration)`)
      .argParser(arg(parseCount)).default(0, 'no limit'));
  }

  group = SCENARIO_GROUP[scenario];
  const size = (desc: string): Option => new Option('-s, --size <size>', desc).argParser(arg(parseSize)).default(d.size, bytes(d.size));
  const maxBuffered = (): Option => new Option('--max-buffered <size>', 'while this much is queued on a connection, skip its sends (counted as dropped)')
    .argParser(arg(parseSize)).default(d.maxBufferedBytes, bytes(d.maxBufferedBytes));
  switch (scenario) {
    case 'echo':
      add(size('payload size, e.g. 64 or 1KiB'));
      add(new Option('--binary', 'binary frames instead of text'));
      add(new Option('--inflight <n>', 'messages in flight per connection').argParser(arg(parseCount)).default(d.inflight));
      break;
    case 'rate':
      add(new Option('-r, --rate <rate>', 'messages/s over all connections, e.g. 10000/s (required)').argParser(arg(parseRate)).makeOptionMandatory());
      add(size('payload size, e.g. 64 or 1KiB'));
      add(new Option('--binary', 'binary frames instead of text'));
      add(time('--late <time>', 'a send this far behind its schedule counts as late', d.lateMs));
      add(maxBuffered());
      break;
    case 'handshake':
      add(new Option('-r, --rate <rate>', 'upgrades/s over all processes, at fixed times').argParser(arg(parseRate)).default(0, 'as fast as the openers go'));
      add(new Option('--raw', 'raw-TCP cycles: fixed upgrade request, read the 101, masked close, read the close, FIN (what a proxy pays per connection lifetime; ws:// only)'));
      break;
    case 'flood':
      add(new Option('--heavy <n>', 'heavy downloaders: each sends "flood:65536" (the server then pushes 64 KiB messages as fast as it can) and stops reading').argParser(arg(parseCount)).default(d.heavy));
      add(new Option('--probe-rate <rate>', "the probe's echo round trips per second (one connection)").argParser(arg(parseRate)).default(d.probeRate, `${d.probeRate}/s`));
      add(size("the probe's payload size"));
      add(new Option('--control-url <url>', 'a control probe straight to a server of the same farm, at the same rate and times: what the farm and the machine add during the flood, apart from the target'));
      break;
    case 'idle':
      add(time('--ping <time>', 'ping each connection this often', 0, 'off'));
      break;
    case 'broadcast':
      add(new Option('--publish <rate>', 'clients publish this many messages/s over all processes for the servers to fan out').argParser(arg(parseRate))
        .default(0, 'off: only server pushes'));
      add(new Option('--publish-prefix <text>', 'prefix of published messages (the demo farm fans out "broadcast:...")').default(d.publishPrefix));
      add(new Option('--ts-field <name>', 'JSON field holding the send time in ms since the epoch').default(d.tsField));
      add(size('size of published messages'));
      add(maxBuffered());
      break;
  }

  group = 'Measuring the target:';
  const pids = collect((v) => v.split(',').map(parseCount));
  add(new Option('--watch-pid <pid>', 'process under test (with its children): CPU and RSS from /proc; repeatable').argParser(pids));
  add(new Option('--target-pids <pids>', 'same as --watch-pid, comma-separated').argParser(pids));
  add(new Option('--status <url>', "the balancer's /status URL: connections per server in the report"));

  group = 'Output and exit status:';
  add(new Option('--json <file>', 'write every figure and the merged encoded histograms as JSON'));
  add(new Option('--html <file>', 'write a self-contained HTML report with charts'));
  add(new Option('-q, --quiet', 'no live progress'));
  add(new Option('--allow-failures', 'exit 0 even when connections fail to open or are dropped (the table still counts them)'));
  cmd.addHelpOption(new Option('-h, --help', 'show this help').helpGroup(group));
  return cmd;
}
