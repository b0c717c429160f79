/** Host header grammar: an upgrade or a plain-HTTP request whose Host is not a valid host[:port] gets 400 WSLB_ERR_BAD_HOST, and no server sees a TCP connection. */

import t from 'tap';
import { startBackend } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { rawRequest, upgradeRequest, wsKey } from '../helpers/raw-client.js';
import { validHost } from '../../src/edge/handshake.js';

/** Host values that are not `host[:port]` (RFC 3986 reg-name / IPv4 / IP-literal; port 1-65535 in digits). */
const BAD_HOSTS = [
  'a b.example.com',          // space inside
  'example.com extra',
  'exa"mple.com',             // '"' is outside reg-name
  'example.com/path',
  'user@example.com',
  'example.com:',             // empty port
  'example.com:0',
  'example.com:65536',
  'example.com:99999',
  'example.com:123456',
  'example.com:8o',
  'example.com:-1',
  'example.com:+80',
  'example.com:80:80',
  ':80',
  '[::1',
  '[::1]x',
  '[zz::1]',
  '[1.2.3.4]',                // brackets hold IPv6 or IPvFuture only
  '::1',                      // an IPv6 address needs brackets
  '%zz.example.com',          // a percent sign must start %HH
  'ex\u00e4mple.com',         // IDN must be sent as punycode
  'example.com\\',
  'a{b}.com',
];

const GOOD_HOSTS = [
  'example.com', 'EXAMPLE.com', 'example.com:1', 'example.com:65535', 'example.com:08080', '127.0.0.1',
  '127.0.0.1:8080', '[::1]', '[::1]:443', '[2001:db8::1]', '[::ffff:1.2.3.4]', '[v1.fe80::a+en1]',
  'xn--bcher-kva.example', 'under_score.example', 'a%41.example', "sub-delims!$&'()*+,;=.example", '999.1.1.1',
];

t.test('validHost: a table of values', async (t) => {
  for (const h of BAD_HOSTS) t.notOk(validHost(h), `refused: ${JSON.stringify(h)}`);
  for (const h of GOOD_HOSTS) t.ok(validHost(h), `accepted: ${JSON.stringify(h)}`);
});

t.test('upgrades with a bad Host: 400 WSLB_ERR_BAD_HOST, no server contacted', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'b1', url: backend.url }] });
  // A valid one first, so the refusals below are not a broken farm.
  const ok = await rawRequest(b.proxyPort(), upgradeRequest('/', [], wsKey()), { untilHead: true });
  t.equal(ok.status, 101, 'a valid Host is upgraded');
  const acceptedBefore = backend.accepted;
  t.equal(acceptedBefore, 1);
  for (const host of BAD_HOSTS) {
    const head = Buffer.from(upgradeRequest('/', [], wsKey()).replace('Host: 127.0.0.1', `Host: ${host}`), 'latin1');
    const res = await rawRequest(b.proxyPort(), head);
    t.equal(res.status, 400, `${JSON.stringify(host)}: status`);
    t.equal(res.headers['x-wslb-error'], 'WSLB_ERR_BAD_HOST', `${JSON.stringify(host)}: code`);
    t.match(res.headers.connection ?? '', /close/i, `${JSON.stringify(host)}: Connection: close`);
  }
  t.equal(backend.accepted, acceptedBefore, 'no TCP connection reached the server');
  // Never routed on, not even to label the failure.
  t.equal(b.runtime.routeStats.get('')?.rejections.get('WSLB_ERR_BAD_HOST'), BAD_HOSTS.length, 'counted with route ""');
  t.equal(b.runtime.routeStats.get('r')?.rejections.get('WSLB_ERR_BAD_HOST'), undefined);
});

t.test('plain HTTP on an http: true route with a bad Host: 400, no server contacted', async (t) => {
  const backend = await startBackend({ name: 'h1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'h1', url: backend.url }], route: { http: true } });
  const ok = await rawRequest(b.proxyPort(), 'GET /who HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  t.equal(ok.status, 200, 'a valid Host is proxied');
  const acceptedBefore = backend.accepted;
  for (const host of BAD_HOSTS) {
    const res = await rawRequest(b.proxyPort(), Buffer.from(`GET /who HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 'latin1'));
    t.equal(res.status, 400, `${JSON.stringify(host)}: status`);
    t.equal(res.headers['x-wslb-error'], 'WSLB_ERR_BAD_HOST', `${JSON.stringify(host)}: code`);
  }
  // Two Host headers (Node keeps the first; the server might read the other) and HTTP/1.0 without one.
  for (const head of ['GET /who HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n', 'GET /who HTTP/1.0\r\n\r\n']) {
    const res = await rawRequest(b.proxyPort(), head);
    t.equal(res.headers['x-wslb-error'], 'WSLB_ERR_BAD_HOST', `${JSON.stringify(head)}: refused`);
  }
  t.equal(backend.accepted, acceptedBefore, 'no TCP connection reached the server');
});

t.test('plain HTTP on a WebSocket-only route with a bad Host: 400, not 426 or 404 (routing never reads it)', async (t) => {
  const backend = await startBackend({ name: 'h1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'h1', url: backend.url }] });
  const ok = await rawRequest(b.proxyPort(), 'GET /who HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  t.equal(ok.status, 426, 'a valid Host on a route without http: true gets 426');
  for (const host of ['a b.example.com', 'example.com:0', '[::1']) {
    const res = await rawRequest(b.proxyPort(), Buffer.from(`GET /who HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 'latin1'));
    t.equal(res.status, 400, `${JSON.stringify(host)}: status`);
    t.equal(res.headers['x-wslb-error'], 'WSLB_ERR_BAD_HOST', `${JSON.stringify(host)}: code`);
  }
  t.equal(backend.accepted, 0, 'no TCP connection reached the server');
});
