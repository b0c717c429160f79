/** Effects of POST drain / enable / disable on live traffic, and POST /reload through the admin API. */

import t from 'tap';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { loadConfigFile } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { Balancer } from '../../src/main.js';
import { startEchoBackends, type EchoBackend } from '../helpers/backend.js';
import { farmYaml, startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';

const open = async (port: number): Promise<WebSocket> => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  await once(ws, 'open');
  return ws;
};

const whoServed = async (ws: WebSocket, backends: EchoBackend[]): Promise<string> => {
  const before = backends.map((b) => b.received.length);
  ws.send('who');
  await once(ws, 'message');
  return backends.find((b, i) => b.received.length > before[i]!)!.name;
};

const post = async (b: Balancer, path: string): Promise<number> =>
  (await fetch(`http://127.0.0.1:${b.adminPort()}${path}`, { method: 'POST' })).status;

const state = async (b: Balancer, server: string): Promise<{ state: string; reason: string | null; active: number }> => {
  const doc = await (await fetch(`http://127.0.0.1:${b.adminPort()}/status`)).json() as { pools: { p: { servers: { name: string; state: string; reason: string | null; active: number }[] } } };
  return doc.pools.p.servers.find((s) => s.name === server)!;
};

t.test('drain: tunnels close with 1012 spread over the pool drain window; no new tunnels; enable restores', async (t) => {
  const backends = await startEchoBackends(2, 'd');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const b = await startBalancer(t, { servers: backends.map((be) => ({ name: be.name, url: be.url })), pool: { drain: '400ms' } });
  const clients = await Promise.all(Array.from({ length: 6 }, () => open(b.proxyPort())));
  const on: Record<string, WebSocket[]> = {};
  for (const ws of clients) (on[await whoServed(ws, backends)] ??= []).push(ws);
  t.equal(on['d-1']?.length, 3);

  const closes = on['d-1']!.map((ws) => new Promise<[number, number]>((r) => ws.on('close', (code: number) => r([code, Date.now()]))));
  const t0 = Date.now();
  t.equal(await post(b, '/pools/p/servers/d-1/drain'), 204);
  t.match(await state(b, 'd-1'), { state: 'draining', reason: 'drained by admin' });
  const got = await Promise.all(closes);
  t.same(got.map(([c]) => c), [1012, 1012, 1012], 'closed with 1012');
  // Spread: the i-th close of n is due i x 400/n ms into the window and never comes earlier (a loaded
  // machine only makes closes later); the upper bound only says they end with the window, not much later.
  const times = got.map(([, at]) => at - t0).sort((a, b) => a - b);
  t.ok(times.every((at, i) => at >= (i * 400) / times.length - 20), `spread over the window, none ahead of its turn (${times.join(', ')} ms)`);
  t.ok(times.at(-1)! < 3000, `the last one with the window's end, not much later (${times.at(-1)} ms)`);
  for (const ws of on['d-2']!) t.equal(ws.readyState, WebSocket.OPEN, 'the other server keeps its tunnels');

  for (let i = 0; i < 3; i++) t.equal(await whoServed(await open(b.proxyPort()), backends), 'd-2', 'new tunnels avoid the drained server');
  t.equal(await post(b, '/pools/p/servers/d-1/drain'), 204, 'drain again: idempotent');

  t.equal(await post(b, '/pools/p/servers/d-1/enable'), 204);
  t.match(await state(b, 'd-1'), { state: 'up', reason: null });
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) seen.add(await whoServed(await open(b.proxyPort()), backends));
  t.ok(seen.has('d-1'), 'takes traffic again');
});

t.test('disable keeps open tunnels, refuses new ones; enable undoes it', async (t) => {
  const backends = await startEchoBackends(2, 'x');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const b = await startBalancer(t, { servers: backends.map((be) => ({ name: be.name, url: be.url })) });
  const first = await open(b.proxyPort());
  t.equal(await whoServed(first, backends), 'x-1');
  t.equal(await post(b, '/pools/p/servers/x-1/disable'), 204);
  t.match(await state(b, 'x-1'), { state: 'disabled', reason: 'disabled by admin', active: 1 });
  for (let i = 0; i < 3; i++) t.equal(await whoServed(await open(b.proxyPort()), backends), 'x-2');
  t.equal(await whoServed(first, backends), 'x-1', 'the open tunnel still works');
  t.equal(await post(b, '/pools/p/servers/x-1/enable'), 204);
  t.match(await state(b, 'x-1'), { state: 'up', reason: null });
  // Disable both: 503 for new upgrades.
  t.equal(await post(b, '/pools/p/servers/x-1/disable'), 204);
  t.equal(await post(b, '/pools/p/servers/x-2/disable'), 204);
  const ws = new WebSocket(`ws://127.0.0.1:${b.proxyPort()}/`);
  const [, res] = await once(ws, 'unexpected-response') as [unknown, { statusCode: number }];
  t.equal(res.statusCode, 503);
  ws.on('error', () => {});
  ws.terminate();
  await waitFor(t, () => b.runtime.pools.get('p')!.servers.every((s) => s.state === 'disabled'), { what: 'every server disabled' });
});

t.test('POST /reload: 200 with the summary, 400 with the errors (old config stays), counted in metrics', async (t) => {
  const backends = await startEchoBackends(2, 'rl');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const dir = mkdtempSync(join(tmpdir(), 'wslb-reload-'));
  const file = join(dir, 'balancer.yaml');
  writeFileSync(file, farmYaml({ servers: [{ name: 'rl-1', url: backends[0]!.url }] }));
  const config = loadConfigFile(file, {});
  const b = new Balancer(config, createLogger('silent'));
  await b.start();
  t.teardown(() => b.destroy());

  writeFileSync(file, farmYaml({ servers: backends.map((be) => ({ name: be.name, url: be.url })) }));
  let res = await fetch(`http://127.0.0.1:${b.adminPort()}/reload`, { method: 'POST' });
  t.equal(res.status, 200);
  t.same(await res.json(), { result: 'ok', summary: 'ok: 1 routes, 1 pools, 2 servers', restart_required: [] });
  t.same(b.runtime.pools.get('p')!.servers.map((s) => s.name), ['rl-1', 'rl-2']);

  writeFileSync(file, 'pools: { p: { algorithm: robin } }\n');
  res = await fetch(`http://127.0.0.1:${b.adminPort()}/reload`, { method: 'POST' });
  t.equal(res.status, 400);
  const body = await res.json() as { error: { code: string; errors: string[] } };
  t.equal(body.error.code, 'WSLB_ERR_ADMIN_RELOAD');
  t.ok(body.error.errors.length > 0 && body.error.errors.every((e) => /balancer\.yaml:\d+:\d+ /.test(e)), 'file:line:col errors');
  t.same(b.runtime.pools.get('p')!.servers.map((s) => s.name), ['rl-1', 'rl-2'], 'old config stays');

  const metrics = await (await fetch(`http://127.0.0.1:${b.adminPort()}/metrics`)).text();
  t.match(metrics, /^wslb_config_reloads_total\{result="ok"\} 1$/m);
  t.match(metrics, /^wslb_config_reloads_total\{result="error"\} 1$/m);
});
