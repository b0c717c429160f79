// Extended CONNECT refusals over HTTP/2: the same checks, order and codes as an HTTP/1.1 upgrade, as :status + x-wslb-error, and no server contacted (counted at TCP level).
import t from 'tap';
import http2 from 'node:http2';
import { once } from 'node:events';
import https from 'node:https';
import type tls from 'node:tls';
import { h2Farm, h2Yaml, testCa } from './farm.js';
import { startBackend } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { connectWs, echoOver, h2Session } from './client.js';
import { echo, openWs } from '../helpers/hardening.js';
import { waitFor } from '../helpers/wait.js';

t.test('bad pseudo-headers, versions and bodies: 400/426/501 before any route; nothing reaches a server', async (t) => {
  const { b, backends, caPem } = await h2Farm(t, 1, { route: { match: { path: '/ws' } } });
  const session = await h2Session(t, b.proxyPort(), caPem);
  const cases: [string, Record<string, string>, number, string][] = [
    ['unknown :protocol', { ':protocol': 'chat' }, 501, 'WSLB_ERR_UNKNOWN_PROTOCOL'],
    ['bad :scheme', { ':scheme': 'ftp' }, 400, 'WSLB_ERR_MALFORMED'],
    ['Host naming another authority', { host: 'other.example' }, 400, 'WSLB_ERR_BAD_HOST'],
    ['no Sec-WebSocket-Version', { 'sec-websocket-version': '' }, 426, 'WSLB_ERR_BAD_WS_VERSION'],
    ['Sec-WebSocket-Version 8', { 'sec-websocket-version': '8' }, 426, 'WSLB_ERR_BAD_WS_VERSION'],
    ['a body', { 'content-length': '5' }, 400, 'WSLB_ERR_BODY'],
    ['no route', { ':path': '/nowhere' }, 404, 'WSLB_ERR_NO_ROUTE'],
  ];
  for (const [what, headers, status, code] of cases) {
    const x = await connectWs(session, '/ws', headers);
    t.same([x.status, x.headers['x-wslb-error']], [status, code], what);
    if (status === 426) t.equal(x.headers['sec-websocket-version'], '13', `${what}: names the version`);
    t.match(await x.body(), /\S/, `${what}: a text body says why`);
  }
  // A classic CONNECT (a forward-proxy tunnel request) is refused as over HTTP/1.1.
  const classic = session.request({ ':method': 'CONNECT', ':authority': 'example.com:443' });
  classic.on('error', () => {});
  const [h] = await once(classic, 'response') as [http2.IncomingHttpHeaders];
  t.same([h[':status'], h['x-wslb-error']], [400, 'WSLB_ERR_BAD_METHOD'], 'classic CONNECT');
  // nghttp2 itself resets a :path that is not origin-form (a stream error, RFC 9113 8.1.1): no answer, nothing proxied.
  const bad = await connectWs(session, '/ws', { ':path': 'ws' }).then(() => 'answered', (e: Error) => e.message);
  t.match(bad, /PROTOCOL_ERROR/);
  t.equal(backends[0]!.accepted, 0, 'no server was contacted (no TCP accept)');
  t.notOk(session.destroyed, 'refusals end streams, not the connection');
  const ok = await connectWs(session, '/ws');
  t.equal(ok.status, 200);
  t.equal(await echoOver(ok, 'after refusals'), 'after refusals');
  t.equal(b.runtime.routeStats.get('')?.rejections.get('WSLB_ERR_UNKNOWN_PROTOCOL'), 1, 'counted with its reason');
});

t.test('Origin allowlist: 403 over h2, no server contacted; an allowed Origin passes', async (t) => {
  const { b, backends, caPem } = await h2Farm(t, 1, { route: { origins: ['https://app.example.com'] } });
  const session = await h2Session(t, b.proxyPort(), caPem);
  const refused = await connectWs(session, '/', { origin: 'https://evil.example' });
  t.same([refused.status, refused.headers['x-wslb-error']], [403, 'WSLB_ERR_ORIGIN']);
  t.equal(backends[0]!.accepted, 0, 'no server was contacted');
  const allowed = await connectWs(session, '/', { origin: 'https://app.example.com' });
  t.equal(allowed.status, 200);
  t.equal(b.runtime.routeStats.get('r')?.rejections.get('WSLB_ERR_ORIGIN'), 1);
});

t.test('per-IP caps count streams, not connections', async (t) => {
  const { b, backends, caPem } = await h2Farm(t, 1, { limits: { max_connections_per_ip: 2 } });
  const session = await h2Session(t, b.proxyPort(), caPem);
  const one = await connectWs(session, '/');
  const two = await connectWs(session, '/');
  const three = await connectWs(session, '/');
  t.same([one.status, two.status, three.status], [200, 200, 429]);
  t.equal(three.headers['x-wslb-error'], 'WSLB_ERR_IP_CAP');
  t.ok(three.headers['retry-after'], 'with Retry-After');
  t.equal(backends[0]!.accepted, 2, 'the third stream reached no server');
  one.stream.close(http2.constants.NGHTTP2_CANCEL);
  // Waited for rather than a 100 ms sleep: the balancer must have seen the reset first.
  await waitFor(t, () => b.runtime.admission.connections('127.0.0.1') === 1, { what: 'the cancelled stream left the per-IP count' });
  const four = await connectWs(session, '/');
  t.equal(four.status, 200, 'a closed stream frees its slot');
});

t.test('max_connections counts streams: the one over it gets 503', async (t) => {
  const { b, backends, caPem } = await h2Farm(t, 1, { limits: { max_connections: 2 } });
  const session = await h2Session(t, b.proxyPort(), caPem);
  const got = [];
  for (let i = 0; i < 3; i++) got.push(await connectWs(session, '/'));
  t.same(got.map((x) => x.status), [200, 200, 503]);
  t.equal(got[2]!.headers['x-wslb-error'], 'WSLB_ERR_OVER_CAPACITY');
  t.equal(backends[0]!.accepted, 2);
});

t.test('the h2 listener advertises extended CONNECT and 128 streams; HTTP/1.1 clients on it are served as before', async (t) => {
  const { b, caPem } = await h2Farm(t, 1, { route: { http: true } });
  const session = await h2Session(t, b.proxyPort(), caPem);
  t.equal(session.remoteSettings.enableConnectProtocol, true);
  t.equal(session.remoteSettings.maxConcurrentStreams, 128);
  // ws (no ALPN) and https (ALPN http/1.1): the HTTP/1.1 path.
  const ws = await openWs(`wss://localhost:${b.proxyPort()}/`, { ca: caPem });
  t.equal(await echo(ws, 'h1 still'), 'h1 still');
  ws.close();
  const text = await new Promise<string>((resolve, reject) => {
    // https passes ALPNProtocols on to tls.connect, though its RequestOptions type does not list it.
    const opts: https.RequestOptions & Pick<tls.ConnectionOptions, 'ALPNProtocols'> = { host: '127.0.0.1', port: b.proxyPort(), path: '/x', ca: caPem, servername: 'localhost', ALPNProtocols: ['http/1.1'] };
    https.get(opts, (res) => {
      let s = '';
      res.on('data', (c: Buffer) => { s += c; });
      res.on('end', () => resolve(`${res.httpVersion} ${s}`));
    }).on('error', reject);
  });
  t.equal(text, '1.1 e-1');
  t.equal(b.runtime.http2.tunnelsTotal, 0, 'none of that went over h2');
});

t.test('the server\'s answer is checked as strictly as over HTTP/1.1: a bad Accept is 502, its own 500 is relayed, a 2xx is not a tunnel', async (t) => {
  const modes = ['bad-accept', 'status-500', 'hello-with-101'] as const;
  const raws = await Promise.all(modes.map((m) => startBackend({ mode: m })));
  t.teardown(() => Promise.all(raws.map((r) => r.close())));
  const routes = modes.map((m) => ({ name: m, match: { path: `/${m}` }, pool: m }));
  const pools = Object.fromEntries(modes.map((m, i) => [m, { retries: 0, health: { check: 'none' }, servers: [{ name: m, url: raws[i]!.url }] }]));
  const b = await startBalancer(t, h2Yaml(t, { servers: [{ name: 'x', url: raws[0]!.url }] }, { pools, routes }));
  const session = await h2Session(t, b.proxyPort(), testCa(t).ca.caPem);
  const bad = await connectWs(session, '/bad-accept');
  t.same([bad.status, bad.headers['x-wslb-error']], [502, 'WSLB_ERR_BAD_101'], 'a 101 with a wrong Sec-WebSocket-Accept (for our key) is refused');
  const boom = await connectWs(session, '/status-500');
  t.equal(boom.status, 500, 'the server\'s own answer is relayed');
  t.equal(await boom.body(), 'boom');
  const good = await connectWs(session, '/hello-with-101');
  t.equal(good.status, 200);
  const f = await good.next();
  t.equal(f.payload.toString(), 'hi', 'bytes the server sent with its 101 arrive first');
});
