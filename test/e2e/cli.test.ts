/** The wslb command line as a user runs it: check, run with listening lines, exit codes, SIGTERM drain with 1001 spread over the window. */

import t from 'tap';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { startEchoBackends } from '../helpers/backend.js';
import { farmYaml } from '../helpers/balancer.js';
import { runCli, startCli } from '../helpers/cli.js';

t.test('wslb check: ok summary on stdout, exit 0', async (t) => {
  const r = await runCli(['check', '-c', 'balancer.yaml']);
  t.equal(r.code, 0);
  t.equal(r.stdout, 'ok: 1 routes, 1 pools, 3 servers\n');
});

t.test('wslb check: every error as FILE:LINE:COL path: message on stderr, exit 2', async (t) => {
  const dir = t.testdir({
    'bad.yaml': [
      'listeners:',
      '  - port: 8080',
      '    hots: 0.0.0.0',
      'timeouts:',
      '  idle: forever',
      'pools:',
      '  a:',
      '    algorithm: robin',
      '    servers: [{ name: a1, url: "http://127.0.0.1:1" }]',
      'routes:',
      '  - pool: nope',
      '',
    ].join('\n'),
  });
  const file = path.join(dir, 'bad.yaml');
  const r = await runCli(['check', '-c', file]);
  t.equal(r.code, 2);
  t.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  t.equal(lines.length, 5, 'all five errors listed');
  t.match(lines[0], `${file}:3:5 listeners[0].hots:`);
  t.match(lines[1], `${file}:5:9 timeouts.idle:`);
  t.match(lines[2], `${file}:8:16 pools.a.algorithm: unknown algorithm "robin"; expected one of round-robin, least-connections`);
  t.match(lines[3], `${file}:9:32 pools.a.servers[0].url:`);
  t.match(lines[4], `${file}:11:11 routes[0].pool:`);
});

t.test('wslb run refuses an invalid config with exit 2; a missing file too', async (t) => {
  const dir = t.testdir({ 'bad.yaml': 'listeners: 3\n' });
  t.equal((await runCli(['run', '-c', path.join(dir, 'bad.yaml')])).code, 2);
  const missing = await runCli(['-c', path.join(dir, 'none.yaml')]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, 'none.yaml');
});

t.test('port in use: exit 1 with a one-line reason', async (t) => {
  const blocker = net.createServer().listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  t.teardown(() => blocker.close());
  const port = (blocker.address() as net.AddressInfo).port;
  const dir = t.testdir({ 'c.yaml': `listeners: [{ port: ${port}, host: 127.0.0.1 }]\nadmin: { port: 0 }\nlog: { level: silent }\n` });
  const r = await runCli(['run', '-c', path.join(dir, 'c.yaml')]);
  t.equal(r.code, 1);
  t.match(r.stderr, /^wslb: address in use: 127\.0\.0\.1:\d+\n$/);
});

t.test('run: listening lines with real ports; SIGTERM drains with 1001 spread over the window, exit 0', async (t) => {
  const backends = await startEchoBackends(2, 'd');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const dir = t.testdir({ 'c.yaml': farmYaml({ servers: backends.map((b) => ({ name: b.name, url: b.url })), timeouts: { drain: '2s' } }).replace('level: silent', 'level: info') });
  const cli = startCli(['run', '-c', path.join(dir, 'c.yaml')]);
  t.teardown(() => { cli.child.kill('SIGKILL'); });
  const proxy = await cli.waitFor((l) => l.msg === 'listening' && l.kind === 'proxy');
  const admin = await cli.waitFor((l) => l.msg === 'listening' && l.kind === 'admin');
  t.equal(proxy.address, '127.0.0.1');
  t.ok((proxy.port as number) > 0 && (admin.port as number) > 0, 'real ports, not 0');

  const n = 10;
  const clients: WebSocket[] = [];
  for (let i = 0; i < n; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/`, { perMessageDeflate: false });
    await once(ws, 'open');
    clients.push(ws);
  }
  const closes = clients.map((ws) => new Promise<[number, number]>((r) => ws.on('close', (code) => r([code, Date.now()]))));
  const t0 = Date.now();
  cli.child.kill('SIGTERM');
  const results = await Promise.all(closes);
  t.same(results.map(([c]) => c), Array(n).fill(1001), 'every client got 1001');
  const times = results.map(([, at]) => at - t0).sort((a, b) => a - b);
  // Spread over the 2 s window: the i-th close is due i x 200 ms after the signal and never comes
  // earlier (a loaded machine only delays closes); the first well before the last; all of them with
  // the configured window, not the 30 s default.
  t.ok(times.every((at, i) => at >= i * 200 - 50), `no close ahead of its turn (${times.join(', ')} ms)`);
  t.ok(times[0]! <= times[n - 1]! - 600, `first close early, not with the last (${times[0]} and ${times[n - 1]} ms)`);
  t.ok(times[n - 1]! < 10_000, `last close with the 2 s window (${times[n - 1]} ms)`);
  t.equal(await cli.exited, 0, 'exit 0 after the drain');
  t.ok(cli.lines.some((l) => l.msg === 'draining'), 'drain logged');
});

t.test('SIGHUP reloads the file in place: an invalid edit is refused, a valid one applied', async (t) => {
  const backends = await startEchoBackends(2, 'h');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const yaml = (n: number) => farmYaml({ servers: backends.slice(0, n).map((b) => ({ name: b.name, url: b.url })) }).replace('level: silent', 'level: info');
  const dir = t.testdir({ 'c.yaml': yaml(1) });
  const file = path.join(dir, 'c.yaml');
  const cli = startCli(['run', '-c', file]);
  t.teardown(() => { cli.child.kill('SIGKILL'); });
  await cli.waitFor((l) => l.msg === 'listening' && l.kind === 'admin');
  fs.writeFileSync(file, 'pools: { p: { algorithm: robin } }\n');
  cli.child.kill('SIGHUP');
  const bad = await cli.waitFor((l) => l.msg === 'reload' && l.result === 'error');
  t.match((bad.errors as string[])[0], `${file}:1:`);
  fs.writeFileSync(file, yaml(2));
  cli.child.kill('SIGHUP');
  const good = await cli.waitFor((l) => l.msg === 'reload' && l.result === 'ok');
  t.equal(good.summary, 'ok: 1 routes, 1 pools, 2 servers');
  t.equal(cli.child.exitCode, null, 'still running');
});

t.test('the README opens with the two commands a newcomer needs', async (t) => {
  const head = fs.readFileSync('README.md', 'utf8').split('\n').slice(0, 12).join('\n');
  t.match(head, 'npm ci && npm run demo');
  t.match(head, 'npm test');
});
