/** wslb-bench as a user runs it: failed connections fail the run (a 429 from a per-IP limit), --allow-failures accepts them, --help shows units once. */

import t from 'tap';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { addFlags } from '../../bench/flags.js';
import { DEFAULTS, type ScenarioName } from '../../bench/options.js';
import { outcome } from '../../bench/outcome.js';
import type { BenchResult } from '../../bench/run.js';
import { startEchoBackends } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { runScript } from '../helpers/cli.js';

const BENCH = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../dist/bench/cli.js');

function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runScript(BENCH, args);
}

t.test('connections refused by handshakes_per_ip fail the run; --allow-failures accepts them', async (t) => {
  const backends = await startEchoBackends(1, 'bench');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  // A bucket of 5 tokens refilled 1/s: 20 connections opened at once, ~15 get 429.
  const b = await startBalancer(t, { servers: backends.map((x) => ({ name: x.name, url: x.url })), limits: { handshakes_per_ip: '5/s' } });
  const url = `ws://127.0.0.1:${b.proxyPort()}/`;
  const args = ['echo', '-u', url, '-c', '20', '-w', '0', '-d', '300ms', '--drain', '200ms', '-q'];

  const strict = await bench(args);
  t.equal(strict.code, 1, 'failed connections: non-zero exit');
  const line = /wslb-bench: (\d+) of 20 connections failed to open \(http 429: (\d+)\)/.exec(strict.stderr);
  t.ok(line, `one line says how many and why: ${strict.stderr}`);
  t.ok(Number(line?.[1]) >= 10 && line?.[1] === line?.[2], 'most of them, all 429');
  t.match(strict.stderr, 'handshakes_per_ip', 'the 429 hint names the limit');
  t.match(strict.stderr, '--allow-failures');
  t.match(strict.stdout, 'received (msg/s)', 'the table is still printed');

  await new Promise((r) => setTimeout(r, 5500));   // the bucket refills
  const allowed = await bench([...args, '--allow-failures']);
  t.equal(allowed.code, 0, 'with --allow-failures: exit 0');
  t.match(allowed.stderr, /connections failed to open \(http 429: \d+\), allowed by --allow-failures/);
});

t.test('a run where every connection opens exits 0 and says nothing on stderr', async (t) => {
  const backends = await startEchoBackends(1, 'ok');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const b = await startBalancer(t, { servers: backends.map((x) => ({ name: x.name, url: x.url })) });
  const r = await bench(['echo', '-u', `ws://127.0.0.1:${b.proxyPort()}/`, '-c', '5', '-w', '0', '-d', '300ms', '--drain', '200ms', '-q']);
  t.equal(r.stderr, '');
  t.equal(r.code, 0);
  t.match(r.stdout, /latency\s+count\s+p50 \(ms\)\s+p90 \(ms\)\s+p99 \(ms\)/, 'latency columns carry their unit');
});

t.test("the documented example against the demo's per-IP default (50 handshakes/s): 100 connections paced at --ramp 50/s all open", async (t) => {
  const backends = await startEchoBackends(1, 'doc');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const b = await startBalancer(t, { servers: backends.map((x) => ({ name: x.name, url: x.url })), limits: { handshakes_per_ip: '50/s' } });
  // docs/benchmarks.md gives `-c 100 --ramp 50/s -d 10s`; the window is shortened, the opening is the same.
  const r = await bench(['echo', '-u', `ws://127.0.0.1:${b.proxyPort()}/`, '-c', '100', '--ramp', '50/s', '-d', '1s', '--drain', '200ms', '-q']);
  t.equal(r.stderr, '', 'no connection refused');
  t.equal(r.code, 0);
});

t.test('nothing listening: exit 1 even with --allow-failures', async (t) => {
  const r = await bench(['echo', '-u', 'ws://127.0.0.1:1/', '-c', '2', '-w', '0', '-d', '100ms', '--drain', '100ms', '-q', '--allow-failures']);
  t.equal(r.code, 1);
  t.match(r.stderr, 'nothing worked: 2 of 2 connections failed to open (ECONNREFUSED: 2)');
});

t.test('--help: durations and sizes in units, each default once, options grouped by what they are for', async (t) => {
  const help = (scenario: ScenarioName): string => addFlags(new Command(scenario), scenario, { ...DEFAULTS, ...(scenario === 'handshake' ? { concurrency: 16 } : {}) }).helpInformation();
  const echo = help('echo');
  t.match(echo, /-d, --duration <time>\s+measured window \(default: 10s\)/);
  t.match(echo, /--handshake-timeout <time>[\s\S]*?\(default: 10s\)/);
  t.match(echo, /-s, --size <size>\s+payload size, e\.g\. 64 or 1KiB \(default: 64B\)/);
  t.notMatch(echo, /default: \d{4,}/, 'no raw millisecond or byte counts');
  for (const line of echo.split(/\n(?=\s+-)/)) t.ok((line.match(/default/g) ?? []).length <= 1, `one default: ${line.trim().split('\n')[0]}`);
  for (const g of ['Target and connections:', 'Timing:', 'Echo messages:', 'Measuring the target:', 'Output and exit status:']) t.match(echo, g);
  t.notMatch(echo, '--ping', 'idle-only options stay out of echo');
  const hs = help('handshake');
  t.match(hs, /--concurrency <n>[\s\S]*?\(default: 16\)/, 'the scenario\'s own default');
  t.notMatch(hs, '--connections', 'handshake opens no lasting connections');
  t.match(help('rate'), /--max-buffered <size>[\s\S]*?\(default: 1MiB\)/);
  t.match(help('idle'), /--ping <time>\s+ping each connection this often \(default: off\)/);
  t.match(help('broadcast'), /--publish <rate>/);
  t.match(hs, /--raw\s+raw-TCP cycles/, 'handshake offers raw-TCP openers');
  const flood = help('flood');
  t.match(flood, /--heavy <n>[\s\S]*?\(default: 100\)/);
  t.match(flood, /--probe-rate <rate>[\s\S]*?\(default: 50\/s\)/);
  t.match(flood, /--control-url <url>\s+a control probe straight to a server of the same\s+farm/);
  t.match(flood, /-w, --warmup <time>\s+the baseline/);
  t.notMatch(flood, '--connections', 'flood counts its connections itself: the heavy ones and the probe');
  t.notMatch(help('echo'), '--raw');
});

t.test('--raw speaks plain TCP only: a wss:// URL is refused before anything is opened', async (t) => {
  const r = await bench(['handshake', '--raw', '-u', 'wss://127.0.0.1:1/', '-d', '100ms', '-q']);
  t.equal(r.code, 1);
  t.match(r.stderr, '--raw: only ws:// URLs, got "wss://127.0.0.1:1/"');
});

t.test('flags parse with the config\'s unit syntax; a repeated --url replaces the default list', async (t) => {
  const cmd = addFlags(new Command('echo').exitOverride(), 'echo', DEFAULTS);
  cmd.parse(['-d', '1.5s', '-s', '1KiB', '--ramp', '200/s', '-u', 'ws://a/', '-u', 'ws://b/', '--watch-pid', '1,2', '--allow-failures'], { from: 'user' });
  t.match(cmd.opts(), { duration: 1500, size: 1024, ramp: 200, url: ['ws://a/', 'ws://b/'], watchPid: [1, 2], allowFailures: true, warmup: 2000 });
  t.same(DEFAULTS.urls, ['ws://127.0.0.1:8080/'], 'the default list is not appended to');
  const bad = addFlags(new Command('echo').exitOverride().configureOutput({ writeErr: () => {} }), 'echo', DEFAULTS);
  t.throws(() => bad.parse(['--late', '5'], { from: 'user' }), /unknown option/, 'echo takes no --late');
});

t.test('outcome: what fails the run, what --allow-failures accepts', async (t) => {
  const r = (over: Partial<BenchResult>): BenchResult => ({
    tool: 'wslb-bench', scenario: 'echo', date: '', machine: { cpus: 1, model: '', memoryMiB: 0, node: '', os: '' },
    options: { ...DEFAULTS, scenario: 'echo' }, processes: 1, window: { warmupMs: 0, measuredMs: 1000, startedAt: 0, endedAt: 0 },
    connections: { target: 10, opened: 10, failed: 0, openAtEnd: 10 }, counts: {}, totals: {}, errors: {},
    throughput: { messagesPerSec: 0, sentPerSec: 0, handshakesPerSec: 0 }, latency: {}, histograms: {}, timeseries: [], ...over,
  });
  t.same(outcome(r({}), false), { code: 0, message: '' });
  const partial = r({ connections: { target: 10, opened: 7, failed: 3, openAtEnd: 7 }, errors: { 'http 429': 2, timeout: 1 } });
  t.equal(outcome(partial, false).code, 1);
  t.match(outcome(partial, false).message, '3 of 10 connections failed to open (http 429: 2, timeout: 1)');
  t.equal(outcome(partial, true).code, 0);
  const dropped = r({ totals: { dropped_connections: 4 } });
  t.equal(outcome(dropped, false).code, 1);
  t.match(outcome(dropped, false).message, '4 connections were closed by the target');
  const hs = r({ scenario: 'handshake', connections: { target: 0, opened: 0, failed: 0, openAtEnd: 0 }, totals: { handshakes: 90, errors: 10 }, errors: { 'http 503': 10 } });
  t.match(outcome(hs, false), { code: 1, message: /10 of 100 upgrades failed \(http 503: 10\)/ });
  const none = r({ connections: { target: 2, opened: 0, failed: 2, openAtEnd: 0 }, errors: { ECONNREFUSED: 2 } });
  t.match(outcome(none, true), { code: 1, message: /nothing worked/ });
});

t.test('usage errors: a bad duration names the option, exit 2; a duration without a unit is refused like in the config', async (t) => {
  const bad = await bench(['echo', '-d', '10x']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, "option '-d, --duration <time>' argument '10x' is invalid");
  t.notMatch(bad.stderr, '    at ', 'no stack trace');
  const bare = await bench(['echo', '-d', '10']);
  t.equal(bare.code, 2);
  t.match(bare.stderr, 'a duration needs a unit: write "10s" or "10ms"');
  const noRate = await bench(['rate']);
  t.equal(noRate.code, 2);
  t.match(noRate.stderr, "required option '-r, --rate <rate>'");
});
