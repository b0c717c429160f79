/** Who is it: a 429 flood from one address (a NAT under the default per-IP limits) names that address in its log lines; trusted X-Forwarded-For is the address named; admin actions and admin 401s carry the caller. */

import t from 'tap';
import { stringify } from 'yaml';
import { loadConfigText } from '../../src/config/load.js';
import { Balancer } from '../../src/main.js';
import { startBackend } from '../helpers/backend.js';
import { farmYaml } from '../helpers/balancer.js';
import { rawRequest, upgradeRequest } from '../helpers/raw-client.js';
import { captureLog, tick } from '../helpers/log-capture.js';


t.test('200 clients at once from one address under the default limits: the 429 lines name it', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const { log, lines } = captureLog();
  // The shipped defaults (the test helper otherwise lifts them).
  const yaml = farmYaml({ servers: [{ name: 'b1', url: backend.url }], limits: { handshakes_per_ip: '50/s', max_connections_per_ip: 1000 } });
  const b = new Balancer(loadConfigText(yaml, 'test.yaml', {}), log);
  await b.start();
  t.teardown(() => b.destroy());

  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: 200 }, () => rawRequest(b.proxyPort(), upgradeRequest('/'), { untilHead: true, timeoutMs: 30_000 })));
  // 50 tokens at once, then 50 a second for as long as the wave took (a loaded machine stretches it; the
  // client's 30 s is only the bound on a missing answer).
  const refilled = Math.floor(((performance.now() - started) / 1000) * 50);
  const statuses: Record<number, number> = {};
  for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
  const admitted = statuses[101] ?? 0;
  const refused = answers.filter((a) => a.status === 429);
  t.same(Object.keys(statuses).sort(), ['101', '429'], `every answer a 101 or a 429: ${JSON.stringify(statuses)}`);
  t.ok(admitted <= 50 + refilled, `handshakes_per_ip refused the rest of the wave: ${admitted} admitted, at most 50 + ${refilled} refilled meanwhile (${refused.length} x 429)`);
  t.ok(refused.every((a) => a.headers['x-wslb-error'] === 'WSLB_ERR_RATE' && Number(a.headers['retry-after']) >= 1), 'WSLB_ERR_RATE with Retry-After');
  await tick();
  const first = lines.filter((l) => l.msg === 'handshake rejected');
  t.same(first.map((l) => [l.reason, l.status, l.count, l.client]), [['WSLB_ERR_RATE', 429, 1, '127.0.0.1']], 'one line at once, naming the address');

  b.runtime.telemetry.rejections.flush(Date.now() + 60_000);   // the window's end, without waiting 10 s
  await tick();
  const summary = lines.filter((l) => l.msg === 'handshake rejected').at(-1)!;
  t.match(summary, { reason: 'WSLB_ERR_RATE', count: refused.length - 1 });
  t.same(summary.clients, [{ address: '127.0.0.1', count: refused.length - 1 }], 'the summary names the address and its count');
});

t.test('behind a trusted proxy the line names the X-Forwarded-For client; plain HTTP refusals name it too', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const { log, lines } = captureLog();
  const yaml = stringify({
    listeners: [{ port: 0, host: '127.0.0.1', trusted_proxies: ['127.0.0.1/32'] }],
    admin: { port: 0, host: '127.0.0.1' },
    pools: { p: { health: { check: 'none' }, servers: [{ name: 'b1', url: backend.url }] } },
    routes: [
      { name: 'ws', match: { path: '/ws' }, pool: 'p', origins: ['https://app.example.com'] },
      { name: 'poll', match: { path: '/poll' }, pool: 'p', http: true, origins: ['https://app.example.com'] },
    ],
  });
  const b = new Balancer(loadConfigText(yaml, 'test.yaml', {}), log);
  await b.start();
  t.teardown(() => b.destroy());

  const ws = await rawRequest(b.proxyPort(), upgradeRequest('/ws', ['Origin: https://evil.example', 'X-Forwarded-For: 127.0.0.77']));
  t.equal(ws.status, 403);
  const http = await rawRequest(b.proxyPort(), 'GET /poll HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\nX-Forwarded-For: 127.0.0.78\r\n\r\n');
  t.equal(http.status, 403);
  const bad = await rawRequest(b.proxyPort(), upgradeRequest('/ws', ['X-Forwarded-For: 127.0.0.79']).replace('Host: 127.0.0.1', 'Host: a b'));
  t.equal(bad.status, 400);
  await tick();
  const rejected = lines.filter((l) => l.msg === 'handshake rejected');
  t.same(rejected.map((l) => [l.reason, l.client]), [['WSLB_ERR_ORIGIN', '127.0.0.77'], ['WSLB_ERR_BAD_HOST', '127.0.0.79']],
    'first line per reason, with the believed client');
  b.runtime.telemetry.rejections.flush(Date.now() + 60_000);
  await tick();
  t.same(lines.filter((l) => l.msg === 'handshake rejected').at(-1)!.clients, [{ address: '127.0.0.78', count: 1 }], 'the plain-HTTP refusal, in the summary');
  t.equal(backend.accepted, 0, 'no server contacted');
});

t.test('admin: actions carry the caller, 401s are logged with it', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const { log, lines } = captureLog();
  const yaml = farmYaml({ servers: [{ name: 'b1', url: backend.url }] }).replace(/admin:\n(\s+)port: 0\n/, 'admin:\n$1port: 0\n$1token: sesame\n');
  const b = new Balancer(loadConfigText(yaml, 'test.yaml', {}), log);
  await b.start();
  t.teardown(() => b.destroy());
  const admin = `http://127.0.0.1:${b.adminPort()}`;

  for (let i = 0; i < 3; i++) t.equal((await fetch(`${admin}/pools/p/servers/b1/disable`, { method: 'POST', headers: { authorization: 'Bearer wrong' } })).status, 401);
  t.equal((await fetch(`${admin}/pools/p/servers/b1/disable`, { method: 'POST', headers: { authorization: 'Bearer sesame' } })).status, 204);
  await tick();
  t.same(lines.filter((l) => l.msg === 'admin unauthorized').map((l) => [l.path, l.client, l.status]), [['/pools/p/servers/b1/disable', '127.0.0.1', 401]],
    'three 401s, one line at once');
  t.match(lines.filter((l) => l.msg === 'admin action'), [{ pool: 'p', server: 'b1', action: 'disable', caller: '127.0.0.1' }]);
});

t.test('refusals the listener answers itself (malformed head, CONNECT, plain request) name the client too', async (t) => {
  const { log, lines } = captureLog();
  const b = new Balancer(loadConfigText(farmYaml({ servers: [{ name: 'x', url: 'ws://127.0.0.1:1' }], route: { match: { path: '/ws' } } }), 'test.yaml', {}), log);
  await b.start();
  t.teardown(() => b.destroy());
  t.equal((await rawRequest(b.proxyPort(), 'HELLO\r\n\r\n')).status, 400);
  t.equal((await rawRequest(b.proxyPort(), 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n')).status, 400);
  t.equal((await rawRequest(b.proxyPort(), 'GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')).status, 404);
  await tick();
  t.same(lines.filter((l) => l.msg === 'handshake rejected').map((l) => [l.reason, l.client]),
    [['WSLB_ERR_MALFORMED', '127.0.0.1'], ['WSLB_ERR_BAD_METHOD', '127.0.0.1'], ['WSLB_ERR_NO_ROUTE', '127.0.0.1']]);
});
