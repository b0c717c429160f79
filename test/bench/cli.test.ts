/** wslb-bench as a user runs it: failed connections fail the run (a 429 from a per-IP limit), --allow-failures accepts them, --help shows units once. */

import t from 'tap';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEchoBackends } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';

const BENCH = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../dist/bench/cli.js');

async function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BENCH, ...args], {
    env: { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  return { code, stdout, stderr };
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

t.test('nothing listening: exit 1 even with --allow-failures', async (t) => {
  const r = await bench(['echo', '-u', 'ws://127.0.0.1:1/', '-c', '2', '-w', '0', '-d', '100ms', '--drain', '100ms', '-q', '--allow-failures']);
  t.equal(r.code, 1);
  t.match(r.stderr, 'nothing worked: 2 of 2 connections failed to open (ECONNREFUSED: 2)');
});

t.test('--help: durations and sizes in units, each default once, options grouped by what they are for', async (t) => {
  const echo = await bench(['echo', '--help']);
  t.equal(echo.code, 0);
  t.match(echo.stdout, /-d, --duration <time>\s+measured window \(default: 10s\)/);
  t.match(echo.stdout, /--handshake-timeout <time>[\s\S]*?\(default: 10s\)/);
  t.match(echo.stdout, /-s, --size <size>\s+payload size, e\.g\. 64 or 1KiB \(default: 64B\)/);
  t.notMatch(echo.stdout, /default: \d{4,}/, 'no raw millisecond or byte counts');
  for (const line of echo.stdout.split(/\n(?=\s+-)/)) t.ok((line.match(/default/g) ?? []).length <= 1, `one default: ${line.trim().split('\n')[0]}`);
  for (const g of ['Target and connections:', 'Timing:', 'Echo messages:', 'Measuring the target:', 'Output and exit status:']) t.match(echo.stdout, g);
  t.notMatch(echo.stdout, '--ping', 'idle-only options stay out of echo');
  const hs = await bench(['handshake', '--help']);
  t.match(hs.stdout, /--concurrency <n>[\s\S]*?\(default: 16\)/, 'the scenario\'s own default');
  t.notMatch(hs.stdout, '--connections', 'handshake opens no lasting connections');
  const rate = await bench(['rate', '--help']);
  t.match(rate.stdout, /--max-buffered <size>[\s\S]*?\(default: 1MiB\)/);
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
