/** `promtool check metrics` on a live /metrics after traffic (every family with samples), and the on-call metrics: server state, check failures, ejections, build info. */

import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import WebSocket from 'ws';
import { startBackend, startEchoBackends } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { rawRequest } from '../helpers/raw-client.js';
import { parseProm } from './prom-text.js';
import type { Balancer } from '../../src/main.js';

const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => fs.existsSync(p));

const metricsText = async (b: Balancer): Promise<string> => (await fetch(`http://127.0.0.1:${b.adminPort()}/metrics`)).text();

const pkgVersion = (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** A pool with one echo server, one that answers 500 (ejected after 2), one that is drained, one whose health checks fail. */
async function busyFarm(t: Test): Promise<Balancer> {
  const echo = await startEchoBackends(2, 'ok');
  const bad = await startBackend({ name: 'bad', mode: 'status-500' });
  const gone = await startBackend({ name: 'gone', mode: 'refuse' });
  t.teardown(() => Promise.all([...echo.map((e) => e.close()), bad.close(), gone.close()]));
  const b = await startBalancer(t, {
    servers: [{ name: 'ok-1', url: echo[0]!.url }, { name: 'ok-2', url: echo[1]!.url }, { name: 'bad', url: bad.url }, { name: 'gone', url: gone.url }],
    retries: 0,
    pool: {
      // timeout 2 s: ok-1 must keep 0 failed checks (fall 1), which a stall during a 100 ms check broke; `gone` is refused at once.
      health: { check: 'tcp', interval: '200ms', timeout: '2s', rise: 1, fall: 1 },
      outlier: { failures: 2, ejection: '30s', max_ejected_percent: 50 },
    },
  });
  const port = b.proxyPort();
  // Two rounds of round robin: `bad` answers 500 twice (then ejected); `gone` is down, never picked.
  for (let i = 0; i < 6; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    const opened = await Promise.race([once(ws, 'open').then(() => true), once(ws, 'unexpected-response').then(() => false), once(ws, 'error').then(() => false)]);
    if (opened) {
      ws.send('hi');
      await once(ws, 'message');
      ws.close(1000);
      await once(ws, 'close');
    } else ws.terminate();
  }
  await rawRequest(port, 'GET /nope HTTP/1.1\r\nHost: x\r\n\r\n');   // a refusal: wslb_handshake_failures_total
  await fetch(`http://127.0.0.1:${b.adminPort()}/pools/p/servers/ok-2/drain`, { method: 'POST' });
  await waitFor(t, () => b.runtime.tunnels.size === 0, { what: 'every tunnel gone after the drain' });
  return b;
}

t.test('server state, health-check failures, ejections, build info', async (t) => {
  const b = await busyFarm(t);
  await waitFor(t, () => b.runtime.pools.get('p')!.servers.find((s) => s.name === 'gone')!.checkFailures >= 2, { ms: 10_000, what: 'gone failed checks' });
  const m = parseProm(await metricsText(b));
  const state = (server: string): string[] => m.series('wslb_server_state').filter((s) => s.labels['server'] === server && s.value === 1).map((s) => s.labels['state']!);
  t.equal(m.types.get('wslb_server_state'), 'gauge');
  t.same(state('ok-1'), ['up']);
  t.same(state('ok-2'), ['draining']);
  t.same(state('bad'), ['ejected']);
  t.same(state('gone'), ['down']);
  t.equal(m.series('wslb_server_state').length, 4 * 5, 'every state of every server, one-hot');
  t.equal(m.get('wslb_server_up', { pool: 'p', server: 'ok-1' }), 1, 'wslb_server_up kept');
  t.equal(m.get('wslb_server_up', { pool: 'p', server: 'bad' }), 0);

  t.equal(m.types.get('wslb_health_check_failures_total'), 'counter');
  t.ok(m.get('wslb_health_check_failures_total', { pool: 'p', server: 'gone' })! >= 2, 'failed checks counted');
  t.equal(m.get('wslb_health_check_failures_total', { pool: 'p', server: 'ok-1' }), 0);
  t.equal(m.types.get('wslb_server_ejections_total'), 'counter');
  t.equal(m.get('wslb_server_ejections_total', { pool: 'p', server: 'bad' }), 1);
  t.equal(m.get('wslb_server_ejections_total', { pool: 'p', server: 'ok-1' }), 0);
  t.equal(m.get('wslb_server_responses_total', { pool: 'p', server: 'bad', class: '5xx' }), 2);

  t.equal(m.types.get('wslb_build_info'), 'gauge');
  t.same(m.series('wslb_build_info'), [{ labels: { version: pkgVersion, node: process.version }, value: 1 }]);
  for (const gone of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    t.equal(m.types.get(gone), undefined, `${gone} not exported (a gauge named like a counter)`);
  }
  t.ok(m.series('nodejs_active_handles').length > 0, 'the per-type gauges stay');

  const st = await (await fetch(`http://127.0.0.1:${b.adminPort()}/status`)).json() as { pools: { p: { servers: { name: string; check_failures: number; ejections: number }[] } } };
  const doc = Object.fromEntries(st.pools.p.servers.map((s) => [s.name, s]));
  t.equal(doc['bad']!.ejections, 1, '/status ejections');
  t.ok(doc['gone']!.check_failures >= 2, '/status check_failures');
});

t.test('an admin-disabled server: state="disabled" is 1 and the other four 0; /status says disabled', async (t) => {
  const echo = await startEchoBackends(2, 'ok');
  t.teardown(() => Promise.all(echo.map((e) => e.close())));
  const b = await startBalancer(t, { servers: [{ name: 'ok-1', url: echo[0]!.url }, { name: 'ok-2', url: echo[1]!.url }] });
  const res = await fetch(`http://127.0.0.1:${b.adminPort()}/pools/p/servers/ok-2/disable`, { method: 'POST' });
  t.equal(res.status, 204, 'disable answered 204');
  const m = parseProm(await metricsText(b));
  for (const state of ['up', 'down', 'draining', 'disabled', 'ejected']) {
    t.equal(m.get('wslb_server_state', { pool: 'p', server: 'ok-2', state }), state === 'disabled' ? 1 : 0, `ok-2 state="${state}"`);
    t.equal(m.get('wslb_server_state', { pool: 'p', server: 'ok-1', state }), state === 'up' ? 1 : 0, `ok-1 state="${state}"`);
  }
  t.equal(m.get('wslb_server_up', { pool: 'p', server: 'ok-2' }), 0, 'wslb_server_up 0 while disabled');
  const st = await (await fetch(`http://127.0.0.1:${b.adminPort()}/status`)).json() as { pools: { p: { servers: { name: string; state: string; reason: string | null }[] } } };
  t.match(st.pools.p.servers, [{ name: 'ok-1', state: 'up' }, { name: 'ok-2', state: 'disabled', reason: 'disabled by admin' }]);
});

t.test('promtool check metrics passes on a live /metrics with every family sampled', { skip: PROMTOOL ? false : 'promtool is not installed (Debian package prometheus)' }, async (t) => {
  const b = await busyFarm(t);
  const text = await metricsText(b);
  const m = parseProm(text);
  // Every wslb family has at least one sample, so the check sees them all (Node's own may have none yet: no GC run, no request).
  for (const [name, type] of m.types) {
    if (!name.startsWith('wslb_')) continue;
    const sampled = type === 'histogram' ? m.series(`${name}_count`) : m.series(name);
    t.ok(sampled.length > 0, `${name} has samples`);
  }
  const r = spawnSync(PROMTOOL!, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 10_000 });
  t.equal(r.status, 0, 'promtool exits 0');
  t.equal(`${r.stdout}${r.stderr}`.trim(), '', 'and reports nothing');
});

t.test('the text handed to promtool can fail: a gauge named _total is reported', { skip: PROMTOOL ? false : 'promtool is not installed' }, async (t) => {
  const bad = '# HELP x_total a gauge\n# TYPE x_total gauge\nx_total 1\n';
  const r = spawnSync(PROMTOOL!, ['check', 'metrics'], { input: bad, encoding: 'utf8', timeout: 10_000 });
  t.not(r.status, 0, 'promtool refuses it');
});
