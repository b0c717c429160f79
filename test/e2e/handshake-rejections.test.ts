/** Every client handshake the balancer must refuse, with its status, Connection: close, and no server contacted. */

import t from 'tap';
import net from 'node:net';
import { startBackend } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { rawRequest, upgradeRequest, wsKey } from '../helpers/raw-client.js';

const key = wsKey();
const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;
const base = (over: Record<string, string | null> = {}, first = 'GET / HTTP/1.1') => {
  const h: Record<string, string | null> = {
    Host: '127.0.0.1', Upgrade: 'websocket', Connection: 'Upgrade',
    'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13', ...over,
  };
  return head([first, ...Object.entries(h).filter(([, v]) => v !== null).map(([k, v]) => `${k}: ${v}`)]);
};

const cases: [string, string, number, string][] = [
  ['POST upgrade', base({}, 'POST / HTTP/1.1'), 400, 'WSLB_ERR_BAD_METHOD'],
  ['HTTP/1.0 upgrade', base({}, 'GET / HTTP/1.0'), 400, 'WSLB_ERR_BAD_VERSION_HTTP'],
  ['Upgrade: h2c', base({ Upgrade: 'h2c' }), 400, 'WSLB_ERR_BAD_UPGRADE'],
  ['two Upgrade headers', base({}).replace('Upgrade: websocket', 'Upgrade: websocket\r\nUpgrade: websocket'), 400, 'WSLB_ERR_BAD_UPGRADE'],
  ['Upgrade: websocket, h2c', base({ Upgrade: 'websocket, h2c' }), 400, 'WSLB_ERR_BAD_UPGRADE'],
  ['no Connection upgrade token', base({ Connection: 'keep-alive' }), 400, 'WSLB_ERR_BAD_CONNECTION'],
  ['missing key', base({ 'Sec-WebSocket-Key': null }), 400, 'WSLB_ERR_BAD_KEY'],
  ['short key', base({ 'Sec-WebSocket-Key': 'c2hvcnQ=' }), 400, 'WSLB_ERR_BAD_KEY'],
  ['two keys', base({}).replace(`Sec-WebSocket-Key: ${key}`, `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Key: ${key}`), 400, 'WSLB_ERR_BAD_KEY'],
  ['version 8', base({ 'Sec-WebSocket-Version': '8' }), 426, 'WSLB_ERR_BAD_WS_VERSION'],
  ['missing version', base({ 'Sec-WebSocket-Version': null }), 426, 'WSLB_ERR_BAD_WS_VERSION'],
  ['body with Content-Length', base({ 'Content-Length': '5' }) + 'hello', 400, 'WSLB_ERR_BODY'],
  ['Transfer-Encoding', base({ 'Transfer-Encoding': 'chunked' }) + '0\r\n\r\n', 400, 'WSLB_ERR_BODY'],
  ['no route (host mismatch)', base({ Host: 'other.example' }), 404, 'WSLB_ERR_NO_ROUTE'],
  ['no route (path mismatch)', base({}, 'GET /nope HTTP/1.1'), 404, 'WSLB_ERR_NO_ROUTE'],
  ['plain GET on a route', head(['GET /ws/x HTTP/1.1', 'Host: 127.0.0.1']), 426, 'WSLB_ERR_NOT_WEBSOCKET'],
  ['plain GET with no route', head(['GET /nope HTTP/1.1', 'Host: 127.0.0.1']), 404, 'WSLB_ERR_NO_ROUTE'],
  ['headers too large', base({ 'X-Big': 'a'.repeat(20000) }), 431, 'WSLB_ERR_HEADERS_TOO_LARGE'],
  ['garbage request line', 'HELLO\r\n\r\n', 400, 'WSLB_ERR_MALFORMED'],
];

t.test('rejections', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, {
    servers: [{ name: 'b1', url: backend.url }],
    route: { match: { host: '127.0.0.1', path: '/ws' } },
  });
  for (const [name, request, status, code] of cases) {
    const res = await rawRequest(b.proxyPort(), request.replace('GET / HTTP', 'GET /ws HTTP').replace('POST / HTTP', 'POST /ws HTTP'));
    t.equal(res.status, status, `${name}: status`);
    t.equal(res.headers['x-wslb-error'], code, `${name}: code`);
    t.match(res.headers.connection ?? '', /close/i, `${name}: Connection: close`);
    t.notOk(res.timedOut, `${name}: connection closed by the balancer`);
    if (status === 426) t.equal(res.headers['sec-websocket-version'], '13', `${name}: advertises version 13`);
  }
  t.equal(backend.accepted, 0, 'no server was contacted');
  t.same(b.runtime.routeStats.get('r')?.rejections.get('WSLB_ERR_BAD_KEY'), 3, 'rejections counted under their code');
});

t.test('a request head that never completes gets 408', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'b1', url: backend.url }], timeouts: { handshake: '300ms' } });
  // The 408 comes at the 300 ms timeout plus up to a check period; the client's own bound leaves room for a loaded machine.
  const res = await rawRequest(b.proxyPort(), 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n', { timeoutMs: 10_000 });
  t.equal(res.status, 408);
  t.notOk(res.timedOut);
  t.equal(backend.accepted, 0);
});

t.test('no ready server: 503 with Retry-After at once', async (t) => {
  const b = await startBalancer(t, { servers: [{ name: 'x', url: 'ws://127.0.0.1:1' }] });
  b.runtime.pools.get('p')!.servers[0]!.status.setEnabled(false);
  const res = await rawRequest(b.proxyPort(), upgradeRequest('/'));
  t.equal(res.status, 503);
  t.equal(res.headers['x-wslb-error'], 'WSLB_ERR_NO_SERVER');
  t.ok(Number(res.headers['retry-after']) >= 1);
});

t.test('bytes sent with a rejected head are not lost as a crash, and the socket closes', async (t) => {
  const b = await startBalancer(t, { servers: [{ name: 'x', url: 'ws://127.0.0.1:1' }] });
  const sock = net.connect(b.proxyPort(), '127.0.0.1');
  sock.write(base({ 'Sec-WebSocket-Version': '7' }) + 'trailing-bytes');
  const chunks: Buffer[] = [];
  sock.on('data', (c) => chunks.push(c));
  await new Promise((r) => sock.on('close', r));
  t.match(Buffer.concat(chunks).toString(), /^HTTP\/1.1 426/);
});
