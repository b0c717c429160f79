/** A user's `{ module }` algorithm end to end: imported at start, named in /status, checked by `wslb check`, refused when broken. */

import { resolve } from 'node:path';
import { writeFileSync } from 'node:fs';
import t from 'tap';
import type WebSocket from 'ws';
import { stringify } from 'yaml';
import { startEchoBackends } from '../helpers/backend.js';
import { startBalancer, startBalancerFromFile } from '../helpers/balancer.js';
import { runCli } from '../helpers/cli.js';
import { closeAll, connectWho } from '../helpers/who.js';
import { ConfigError } from '../../src/config/types.js';

const EXAMPLE = resolve(import.meta.dirname, '../../examples/algorithm-module.js');

t.test('examples/algorithm-module.js (fill first, capacity 2) places real clients', async (t) => {
  const backends = await startEchoBackends(3, 'm');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const b = await startBalancer(t, { limits: { handshakes_per_ip: '10000/s' }, algorithm: { module: EXAMPLE, capacity: 2 }, servers: backends.map((s) => ({ name: s.name, url: s.url })) });
  const open: WebSocket[] = [];
  const landed: string[] = [];
  for (let i = 0; i < 5; i++) { const [ws, n] = await connectWho(b.proxyPort(), '/', backends); open.push(ws); landed.push(n); }
  t.same(landed, ['m-1', 'm-1', 'm-2', 'm-2', 'm-3']);
  const st = await (await fetch(`http://127.0.0.1:${b.adminPort()}/status`)).json() as { routes: { algorithm: string }[]; pools: { p: { algorithm: string } } };
  t.same([st.pools.p.algorithm, st.routes[0]!.algorithm], ['fill-first', 'fill-first'], 'the name the module gave');
  await closeAll(open);
});

t.test('a module that does not return { name, pick }: the start fails with a ConfigError; wslb check exits 2 and points at it', async (t) => {
  const dir = t.testdir({ 'broken.js': 'export default () => ({ name: "broken" });\n' });
  const yaml = (module: string) => stringify({
    listeners: [{ port: 0, host: '127.0.0.1' }],
    admin: { port: 0, host: '127.0.0.1' },
    log: { level: 'silent' },
    limits: { handshakes_per_ip: '10000/s' },   // every test client is 127.0.0.1
    pools: { p: { health: { check: 'none' }, servers: [{ url: 'ws://127.0.0.1:9' }] } },
    routes: [{ pool: 'p', algorithm: { module, capacity: 3 } }],
  });
  const err = await startBalancer(t, yaml(resolve(dir, 'broken.js'))).catch((e: unknown) => e);
  t.type(err, ConfigError);
  t.match((err as ConfigError).issues[0], { path: 'routes[0].algorithm.module', message: /must return \{ name: string, pick\(ctx\) \}/ });

  const file = resolve(dir, 'balancer.yaml');
  writeFileSync(file, yaml('./broken.js'));
  const bad = await runCli(['check', '-c', file]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /balancer\.yaml:\d+:\d+ routes\[0\]\.algorithm\.module: algorithm module .*broken\.js: the factory must return/);
  writeFileSync(file, yaml(EXAMPLE));
  const good = await runCli(['check', '-c', file]);
  t.same([good.code, good.stdout.trim()], [0, 'ok: 1 routes, 1 pools, 1 servers']);
});

t.test('wslb run with a broken module exits 2 before listening', async (t) => {
  const dir = t.testdir({
    'broken.js': 'export default 42;\n',
    'balancer.yaml': stringify({
      listeners: [{ port: 0, host: '127.0.0.1' }], admin: { port: 0, host: '127.0.0.1' },
      pools: { p: { algorithm: { module: './broken.js' }, health: { check: 'none' }, servers: [{ url: 'ws://127.0.0.1:9' }] } },
      routes: [{ pool: 'p' }],
    }),
  });
  const r = await runCli(['run', '-c', resolve(dir, 'balancer.yaml')]);
  t.equal(r.code, 2);
  t.match(r.stderr, /pools\.p\.algorithm\.module: algorithm module .* must default-export a factory/);
  t.notMatch(r.stdout, /"listening"/);
});

t.test('a reload that brings a broken module is refused up front, pointing at it; the old algorithm keeps picking', async (t) => {
  const dir = t.testdir({
    'throws.js': 'throw new Error("module top level failed");\n',
    'nopick.js': 'export default () => ({ name: "nopick" });\n',
  });
  const backends = await startEchoBackends(2, 'k');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const servers = backends.map((s) => ({ name: s.name, url: s.url }));
  const { b, write } = await startBalancerFromFile(t, { limits: { handshakes_per_ip: '10000/s' }, algorithm: { module: EXAMPLE, capacity: 2 }, servers });
  for (const broken of ['throws.js', 'nopick.js', 'missing.js']) {
    write({ limits: { handshakes_per_ip: '10000/s' }, algorithm: { module: resolve(dir, broken) }, servers });
    const out = await b.reload({});
    t.equal(out.ok, false, `${broken}: refused`);
    if (!out.ok) t.match(out.errors.join('\n'), /balancer\.yaml:\d+:\d+ pools\.p\.algorithm\.module: /, `${broken}: file:line:col of the module key`);
  }
  const [ws, n] = await connectWho(b.proxyPort(), '/', backends);
  t.equal(n, 'k-1', 'the old module still places clients');
  t.equal(b.runtime.reloads.error, 3);
  await closeAll([ws]);
});
