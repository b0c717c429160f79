/** Plain HTTP on routes: 426 unless `http: true`; proxied with header hygiene, streamed bodies, retries, 502/503, cookie affinity. */

import t, { type Test } from 'tap';
import http from 'node:http';
import { once } from 'node:events';
import WebSocket from 'ws';
import { startEchoBackends, startBackend } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { startHttpBackend, type HttpBackend } from '../http/backend-http.js';
import { request } from '../http/sse-client.js';
import { waitFor } from '../helpers/wait.js';

async function farm(t: Test, n: number): Promise<HttpBackend[]> {
  const out: HttpBackend[] = [];
  for (let i = 1; i <= n; i++) out.push(await startHttpBackend(`h-${i}`));
  t.teardown(() => Promise.all(out.map((b) => b.close())));
  return out;
}

t.test('http: false (the default) keeps the 426; http: true proxies', async (t) => {
  const [s] = await farm(t, 1);
  const off = await startBalancer(t, { servers: [s!] });
  const r = await request(off.proxyPort(), '/who');
  t.equal(r.status, 426);
  t.equal(r.headers['x-wslb-error'], 'WSLB_ERR_NOT_WEBSOCKET');
  t.equal(r.headers['sec-websocket-version'], '13');
  t.equal(s!.requests.length, 0, 'no server contacted');

  const on = await startBalancer(t, { servers: [s!], route: { http: true } });
  const ok = await request(on.proxyPort(), '/who?x=1', {
    headers: { 'Connection': 'keep-alive, X-Secret', 'X-Secret': 'no', 'Keep-Alive': 'timeout=9', 'X-Forwarded-For': '10.1.1.1', 'Proxy-Authorization': 'x', 'X-Kept': 'yes' },
  });
  t.equal(ok.status, 200);
  const seen = JSON.parse(ok.body) as { server: string; url: string; headers: http.IncomingHttpHeaders };
  t.equal(seen.url, '/who?x=1');
  t.equal(seen.headers['x-kept'], 'yes');
  t.equal(seen.headers['x-secret'], undefined, 'a header listed in Connection is dropped');
  t.equal(seen.headers['proxy-authorization'], undefined);
  t.equal(seen.headers['keep-alive'], undefined);
  t.equal(seen.headers['x-forwarded-for'], '10.1.1.1, 127.0.0.1', 'X-Forwarded-For appended');
  t.equal(seen.headers['x-forwarded-proto'], 'http');
  t.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${on.proxyPort()}`);
  t.equal(ok.headers['x-server'], 'h-1', 'end-to-end response headers relayed');
  t.equal(ok.headers['x-private'], undefined, 'a response header listed in Connection is dropped');
  t.notMatch(ok.headers['keep-alive'] ?? '', /max=99/, 'the server\'s Keep-Alive is not relayed (the balancer\'s own may be)');
});

t.test('request bodies are streamed to the server', async (t) => {
  const [s] = await farm(t, 1);
  const b = await startBalancer(t, { servers: [s!], route: { http: true } });
  let req!: http.ClientRequest;
  const done = new Promise<{ bytes: number; firstChunkAt: number }>((resolve, reject) => {
    req = http.request({ host: '127.0.0.1', port: b.proxyPort(), path: '/upload', method: 'POST', agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve(JSON.parse(body) as { bytes: number; firstChunkAt: number }));
    });
    req.on('error', reject);
    req.write(Buffer.alloc(1000, 1));
  });
  // The end of the body is held back until the server has the first chunk: a balancer that buffered
  // the body until its end would never pass it on (a fixed delay would measure the machine's load).
  await waitFor(t, () => s!.uploaded >= 1000, { what: 'the server has the first chunk while the request is still open' });
  const endAt = Date.now();
  req.end(Buffer.alloc(500, 2));
  const r = await done;
  t.equal(r.bytes, 1500);
  t.ok(r.firstChunkAt <= endAt, 'the server had the first chunk before the client finished');
});

t.test('connect failures: retried on another server; 502 when all refuse; 503 when none is ready', async (t) => {
  const [s] = await farm(t, 1);
  const refuse = await startBackend({ mode: 'refuse' });
  t.teardown(() => refuse.close());
  const b = await startBalancer(t, {
    algorithm: 'round-robin',
    servers: [{ name: 'dead', url: refuse.url }, { name: s!.name, url: s!.url }],
    route: { http: true },
  });
  for (let i = 0; i < 4; i++) {
    const r = await request(b.proxyPort(), '/upload', { method: 'POST', body: 'abc' });
    t.equal(r.status, 200, `request ${i} served`);
    t.equal((JSON.parse(r.body) as { bytes: number }).bytes, 3, 'body intact after a retry');
  }
  const pool = b.runtime.pools.get('p')!;
  t.ok(pool.servers[0]!.connectFailures >= 2, 'the dead server was tried');

  const all = await startBalancer(t, { servers: [{ name: 'dead', url: refuse.url }], route: { http: true } });
  const r = await request(all.proxyPort(), '/who');
  t.equal(r.status, 502);
  t.equal(r.headers['x-wslb-error'], 'WSLB_ERR_CONNECT');
  t.equal(r.headers.connection, 'close');
  t.ok(r.headers['retry-after']);
  t.equal(all.runtime.routeStats.get('r')?.rejections.get('WSLB_ERR_CONNECT'), 1);

  all.runtime.pools.get('p')!.servers[0]!.status.setEnabled(false);
  const none = await request(all.proxyPort(), '/who');
  t.equal(none.status, 503);
  t.equal(none.headers['x-wslb-error'], 'WSLB_ERR_NO_SERVER');
});

t.test('cookie affinity: opaque HttpOnly SameSite=Lax cookie, pinned, re-pinned when its server is not ready; upgrades honour it', async (t) => {
  const backends = await startEchoBackends(3, 'c');
  t.teardown(() => Promise.all(backends.map((x) => x.close())));
  const b = await startBalancer(t, {
    algorithm: 'round-robin',
    servers: backends.map((x) => ({ name: x.name, url: x.url })),
    route: { http: true, affinity: { cookie: 'wslb_srv' } },
  });
  const first = await request(b.proxyPort(), '/');
  const setCookie = first.headers['set-cookie']?.[0] ?? '';
  t.match(setCookie, /^wslb_srv=[A-Za-z0-9_-]{16}; Path=\/; HttpOnly; SameSite=Lax$/, 'cookie attributes (no Secure on a plain listener)');
  t.notMatch(setCookie, /127\.0\.0\.1|c-\d/, 'opaque: no address or name in it');
  const cookie = setCookie.split(';')[0]!;
  const pinnedTo = first.body;
  for (let i = 0; i < 6; i++) {
    const r = await request(b.proxyPort(), '/', { headers: { Cookie: `a=b; ${cookie}` } });
    t.equal(r.body, pinnedTo, `request ${i} stays on ${pinnedTo}`);
    t.equal(r.headers['set-cookie'], undefined, 'no new cookie while pinned');
  }
  // WebSocket upgrades on the route honour the cookie.
  const before = backends.map((x) => x.handshakes.length);
  for (let i = 0; i < 3; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${b.proxyPort()}/`, { headers: { Cookie: cookie }, perMessageDeflate: false });
    await once(ws, 'open');
    ws.close();
    await once(ws, 'close');
  }
  const gained = backends.map((x, i) => x.handshakes.length - before[i]!);
  t.same(gained.filter((n) => n > 0).length, 1, 'every upgrade on one server');
  t.equal(backends[gained.findIndex((n) => n > 0)]!.name, pinnedTo, 'the pinned one');

  const pinned = b.runtime.pools.get('p')!.servers.find((s) => s.name === pinnedTo)!;
  pinned.status.setEnabled(false);
  const moved = await request(b.proxyPort(), '/', { headers: { Cookie: cookie } });
  t.not(moved.body, pinnedTo, 'moved off the disabled server');
  const repin = moved.headers['set-cookie']?.[0] ?? '';
  t.match(repin, /^wslb_srv=/, 're-pinned with a new cookie');
  const again = await request(b.proxyPort(), '/', { headers: { Cookie: repin.split(';')[0]! } });
  t.equal(again.body, moved.body, 'and stays on the new server');
});
