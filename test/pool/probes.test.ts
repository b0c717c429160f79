/** The tcp, http and websocket probes against real backends on 127.0.0.1: pass, refusal, non-2xx, bad upgrade, timeout. */

import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthConfig } from '../../src/config/types.js';
import { httpProbe, runProbe, tcpProbe, websocketProbe } from '../../src/pool/probes.js';
import { Server } from '../../src/pool/server.js';
import { startBackend } from '../helpers/backend.js';

function server(port: number): Server {
  return new Server('p', { name: 'x', url: `ws://127.0.0.1:${port}`, host: '127.0.0.1', port, tls: false, weight: 1 });
}

// A generous probe timeout: local servers answer at once, and on a loaded machine a short one turns a
// slow answer into a failure. The timeout test sets its own.
const TIMEOUT_MS = 3000;

function health(check: HealthConfig['check'], over: Partial<HealthConfig> = {}): HealthConfig {
  return { check, path: '/', interval: 1000, timeout: TIMEOUT_MS, rise: 1, fall: 1, ...over };
}

const signal = (): AbortSignal => new AbortController().signal;

t.test('a healthy echo backend passes all three; the websocket probe measures the ping round trip', async (t) => {
  const echo = await startBackend();
  t.teardown(() => echo.close());
  const s = server(echo.port);
  t.same(await tcpProbe(s, TIMEOUT_MS, signal()), { ok: true });
  t.same(await httpProbe(s, health('http', { path: '/healthz' }), signal()), { ok: true });
  t.equal(echo.requests.at(-1)?.url, '/healthz');
  const ws = await websocketProbe(s, health('websocket', { path: '/ws-check' }), signal());
  t.equal(ws.ok, true);
  t.ok(ws.ok && typeof ws.rttMs === 'number' && ws.rttMs >= 0 && ws.rttMs < TIMEOUT_MS, 'rtt measured');
  t.equal(echo.handshakes.at(-1)?.['user-agent'], 'wslb-health-check');
  t.notOk(echo.handshakes.at(-1)?.['sec-websocket-extensions'], 'permessage-deflate off');
  t.same(await runProbe(s, health('none'), signal()), { ok: true });
});

t.test('refused connections fail every probe with the errno', async (t) => {
  const refused = await startBackend({ mode: 'refuse' });
  const s = server(refused.port);
  for (const check of ['tcp', 'http', 'websocket'] as const) {
    const r = await runProbe(s, health(check), signal());
    t.match(r, { ok: false, reason: /ECONNREFUSED/ }, check);
  }
});

t.test('http: non-2xx fails with the status; websocket: a 500 upgrade answer and a bad 101 fail', async (t) => {
  const srv = http.createServer((_req, res) => { res.writeHead(503); res.end('no'); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  t.same(await httpProbe(server((srv.address() as AddressInfo).port), health('http'), signal()), { ok: false, reason: 'HTTP 503' });

  const s500 = await startBackend({ mode: 'status-500' });
  t.teardown(() => s500.close());
  t.same(await websocketProbe(server(s500.port), health('websocket'), signal()), { ok: false, reason: 'upgrade answered HTTP 500' });

  const bad = await startBackend({ mode: 'bad-accept' });
  t.teardown(() => bad.close());
  t.match(await websocketProbe(server(bad.port), health('websocket'), signal()), { ok: false, reason: /Sec-WebSocket-Accept/ });
});

t.test('a silent server times out within the timeout; an abort ends a probe at once', async (t) => {
  const silent = await startBackend({ mode: 'silent' });
  t.teardown(() => silent.close());
  const s = server(silent.port);
  for (const check of ['http', 'websocket'] as const) {
    const t0 = performance.now();
    const r = await runProbe(s, health(check, { timeout: 150 }), signal());
    const ms = performance.now() - t0;
    t.same(r, { ok: false, reason: 'timeout after 150 ms' }, check);
    // Never early; the reason names the 150 ms timer, and the upper bound leaves room for a loaded machine.
    t.ok(ms >= 140 && ms < 3000, `${check} took ${ms.toFixed(0)} ms`);
  }
  const ac = new AbortController();
  const pending = websocketProbe(s, health('websocket', { timeout: 5000 }), ac.signal);
  setTimeout(() => ac.abort(), 20);
  t.same(await pending, { ok: false, reason: 'aborted' });
  const pre = new AbortController();
  pre.abort();
  t.same(await tcpProbe(s, 5000, pre.signal), { ok: false, reason: 'aborted' });
});
