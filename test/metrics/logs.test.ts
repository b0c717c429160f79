/** Log lines: rejections rate-limited per reason, admin state changes with reason, close summaries at debug. */

import t from 'tap';
import { once } from 'node:events';
import net from 'node:net';
import WebSocket from 'ws';
import { loadConfigText } from '../../src/config/load.js';
import { Balancer } from '../../src/main.js';
import { RejectionLog } from '../../src/metrics/rejection-log.js';
import { startEchoBackends } from '../helpers/backend.js';
import { farmYaml } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { captureLog } from '../helpers/log-capture.js';

const WARN = 40;
const DEBUG = 20;

t.test('RejectionLog: one line per reason at once, then one per window with the count', async (t) => {
  const { log, lines } = captureLog('debug');
  let now = 1000;
  const r = new RejectionLog(log, 10_000, () => now);
  for (let i = 0; i < 50; i++) r.note('r', 'WSLB_ERR_RATE', 429);
  r.note('', 'WSLB_ERR_NO_ROUTE', 404);
  await new Promise((res) => setImmediate(res));
  t.same(lines.map((l) => [l.level, l.msg, l.reason, l.count]), [
    [WARN, 'handshake rejected', 'WSLB_ERR_RATE', 1],
    [WARN, 'handshake rejected', 'WSLB_ERR_NO_ROUTE', 1],
  ]);
  lines.length = 0;
  now += 5000;
  r.flush();
  t.equal(lines.length, 0, 'nothing before the window ends');
  now += 5000;
  r.flush();
  await new Promise((res) => setImmediate(res));
  t.same(lines.map((l) => [l.reason, l.count, l.window_s]), [['WSLB_ERR_RATE', 49, 10]], 'the suppressed count; the quiet reason says nothing');
  lines.length = 0;
  // The flood goes on: still counted, one line per window.
  for (let i = 0; i < 7; i++) r.note('r', 'WSLB_ERR_RATE', 429);
  now += 10_000;
  r.flush();
  // A quiet window closes it: the next rejection is logged at once again.
  now += 10_000;
  r.flush();
  r.note('r', 'WSLB_ERR_RATE', 429);
  r.note('', 'WSLB_ERR_NO_ROUTE', 404);
  await new Promise((res) => setImmediate(res));
  t.same(lines.map((l) => [l.reason, l.count]), [['WSLB_ERR_RATE', 7], ['WSLB_ERR_RATE', 1], ['WSLB_ERR_NO_ROUTE', 1]]);
});

t.test('through a balancer: rejections rate-limited, admin state change, close summary at debug', async (t) => {
  const backends = await startEchoBackends(1, 'l');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const { log, lines } = captureLog('debug');
  const config = loadConfigText(farmYaml({ servers: [{ name: 'l-1', url: backends[0]!.url }], route: { match: { path: '/ws' } } }), 'test.yaml', {});
  const b = new Balancer(config, log);
  await b.start();
  t.teardown(() => b.destroy());

  for (let i = 0; i < 20; i++) {
    const sock = net.connect(b.proxyPort(), '127.0.0.1');
    sock.write('GET /nope HTTP/1.1\r\nHost: x\r\n\r\n');
    sock.resume();
    await once(sock, 'close');
  }
  const rejected = lines.filter((l) => l.msg === 'handshake rejected');
  t.same(rejected.map((l) => [l.level, l.reason, l.route, l.count, l.status]), [[WARN, 'WSLB_ERR_NO_ROUTE', '', 1, 404]], '20 refusals, one line');

  const ws = new WebSocket(`ws://127.0.0.1:${b.proxyPort()}/ws`, { perMessageDeflate: false });
  await once(ws, 'open');
  ws.send('hello');
  await once(ws, 'message');
  ws.close(4321);
  await once(ws, 'close');
  await waitFor(t, () => lines.some((l) => l.msg === 'tunnel closed'), { what: 'close summary logged' });
  const closed = lines.find((l) => l.msg === 'tunnel closed')!;
  t.equal(closed.level, DEBUG);
  t.match(closed, { route: 'r', pool: 'p', server: 'l-1', code: 4321, by: 'client' });
  t.type(closed.duration_ms, 'number');
  t.ok((closed.bytes_upstream as number) >= 2 + 4 + 5, 'bytes to the server');
  t.ok((closed.bytes_downstream as number) >= 2 + 5, 'bytes to the client');

  const res = await fetch(`http://127.0.0.1:${b.adminPort()}/pools/p/servers/l-1/disable`, { method: 'POST' });
  t.equal(res.status, 204);
  const state = lines.filter((l) => l.msg === 'server state changed');
  t.same(state.map((l) => [l.server, l.from, l.to, l.reason]), [['l-1', 'up', 'disabled', 'disabled by admin']]);
  t.equal(lines.filter((l) => l.msg === 'tunnel closed').length, 1, 'one summary per tunnel, nothing per message');
});

t.test('close summaries cost nothing at info level', async (t) => {
  const backends = await startEchoBackends(1, 'q');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const { log, lines } = captureLog('info');
  const b = new Balancer(loadConfigText(farmYaml({ servers: [{ name: 'q-1', url: backends[0]!.url }] }), 'test.yaml', {}), log);
  await b.start();
  t.teardown(() => b.destroy());
  const ws = new WebSocket(`ws://127.0.0.1:${b.proxyPort()}/`, { perMessageDeflate: false });
  await once(ws, 'open');
  ws.close();
  await once(ws, 'close');
  await waitFor(t, () => b.runtime.tunnels.size === 0, { what: 'the tunnel is gone' });
  t.notOk(lines.some((l) => l.msg === 'tunnel closed'));
});
