// Plain HTTP over HTTP/2 on http: true routes (long polls, uploads, SSE) proxied to HTTP/1.1 servers: header hygiene both ways, counting, 404/426 as over HTTP/1.1, transport split.
import t, { type Test } from 'tap';
import { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { once } from 'node:events';
import { startBalancer } from '../helpers/balancer.js';
import { startEchoBackends } from '../helpers/backend.js';
import { waitFor } from '../helpers/wait.js';
import { startHttpBackend, type HttpBackend } from '../http/backend-http.js';
import { h2Yaml, testCa } from './farm.js';
import { connectWs, echoOver, h2Session } from './client.js';

async function httpFarm(t: Test, n: number): Promise<HttpBackend[]> {
  const out: HttpBackend[] = [];
  for (let i = 1; i <= n; i++) out.push(await startHttpBackend(`h-${i}`));
  t.teardown(() => Promise.all(out.map((be) => be.close())));
  return out;
}

interface Answer { status: number; headers: IncomingHttpHeaders; body: string }

/** One request on the session; the body (if any) written and ended, the answer read to its end. */
async function request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: Buffer | string): Promise<Answer> {
  const stream = session.request({ ':authority': 'localhost', ...headers }, { endStream: body === undefined });
  stream.on('error', () => {});
  if (body !== undefined) stream.end(body);
  const [h] = await once(stream, 'response') as [IncomingHttpHeaders];
  let text = '';
  for await (const c of stream) text += String(c);
  return { status: Number(h[':status']), headers: h, body: text };
}

t.test('GET and an upload without Content-Length: proxied over HTTP/1.1, no pseudo-header or h2-only field either way', async (t) => {
  const [h1] = await httpFarm(t, 1);
  const b = await startBalancer(t, h2Yaml(t, { servers: [{ name: 'h-1', url: h1!.url }], route: { http: true } }));
  const session = await h2Session(t, b.proxyPort(), testCa(t).ca.caPem);
  const got = await request(session, { ':path': '/poll?x=1', cookie: ['a=1', 'b=2'], 'x-custom': 'v' } as OutgoingHttpHeaders);
  t.equal(got.status, 200);
  const seen = JSON.parse(got.body) as { server: string; url: string; headers: Record<string, string> };
  t.same([seen.server, seen.url], ['h-1', '/poll?x=1']);
  t.equal(seen.headers['host'], 'localhost', 'Host from :authority');
  t.equal(seen.headers['cookie'], 'a=1; b=2', 'split cookies joined into one');
  t.equal(seen.headers['x-custom'], 'v');
  t.equal(seen.headers['x-forwarded-proto'], 'https');
  t.notOk(Object.keys(seen.headers).some((k) => k.startsWith(':')), 'no pseudo-header reached the server');
  const raw = h1!.requests[0]!.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
  t.equal(raw.filter((n) => n === 'cookie').length, 1, 'one Cookie line');
  t.equal(got.headers['x-server'], 'h-1');
  for (const h of ['connection', 'keep-alive', 'x-private']) t.notOk(h in got.headers, `the server's ${h} is not relayed`);

  const up = await request(session, { ':method': 'POST', ':path': '/upload' }, Buffer.alloc(100_000, 1));
  t.equal(up.status, 200);
  t.equal((JSON.parse(up.body) as { bytes: number }).bytes, 100_000, 'the whole body, framed by HTTP/2 alone, reached the server');
  t.equal(b.runtime.http2.exchangesTotal, 2);
  await waitFor(t, () => b.runtime.http2.exchanges === 0 && b.runtime.http.inFlight === 0, { what: 'exchanges finished' });
});

t.test('SSE over h2: events stream through, a drain ends the stream cleanly', async (t) => {
  const [h1] = await httpFarm(t, 1);
  const b = await startBalancer(t, h2Yaml(t, { servers: [{ name: 'h-1', url: h1!.url }], route: { http: true }, pool: { drain: '100ms' } }));
  const session = await h2Session(t, b.proxyPort(), testCa(t).ca.caPem);
  const stream = session.request({ ':path': '/sse', ':authority': 'localhost', accept: 'text/event-stream' }, { endStream: true });
  const [h] = await once(stream, 'response') as [IncomingHttpHeaders];
  t.equal(h[':status'], 200);
  t.match(String(h['content-type']), /^text\/event-stream/);
  let text = '';
  stream.on('data', (c: Buffer) => { text += c; });
  await waitFor(t, () => h1!.streams.length === 1, { what: 'the stream reached the server' });
  h1!.emit('one');
  h1!.emit('two');
  await waitFor(t, () => /"one"/.test(text) && /"two"/.test(text), { what: 'both events arrived' });
  t.equal(b.runtime.http2.exchanges, 1);
  const server = b.runtime.pools.get('p')!.servers[0]!;
  const ended = once(stream, 'end');
  void b.runtime.drainServer(server, 0);
  await ended;
  t.pass('the drain ended the event stream (END_STREAM, EventSource reconnects)');
});

t.test('without a route for it: 404; on a WebSocket-only route 426; transport splits one path over h2 too', async (t) => {
  const [h1] = await httpFarm(t, 1);
  const [w1] = await startEchoBackends(1, 'w');
  t.teardown(() => w1!.close());
  const b = await startBalancer(t, h2Yaml(t, { servers: [{ name: 'h-1', url: h1!.url }] }, {
    pools: {
      p: { health: { check: 'none' }, servers: [{ name: 'h-1', url: h1!.url }] },
      ws: { health: { check: 'none' }, servers: [{ name: 'w-1', url: w1!.url }] },
    },
    routes: [
      { name: 'live-ws', match: { path: '/live', transport: 'websocket' }, pool: 'ws' },
      { name: 'live-http', match: { path: '/live', transport: 'http' }, pool: 'p', http: true },
      { name: 'ws-only', match: { path: '/old' }, pool: 'ws' },
    ],
  }));
  const session = await h2Session(t, b.proxyPort(), testCa(t).ca.caPem);
  const none = await request(session, { ':path': '/nothing' });
  t.same([none.status, none.headers['x-wslb-error']], [404, 'WSLB_ERR_NO_ROUTE']);
  const old = await request(session, { ':path': '/old' });
  t.same([old.status, old.headers['x-wslb-error'], old.headers['sec-websocket-version']], [426, 'WSLB_ERR_NOT_WEBSOCKET', '13']);
  const poll = await request(session, { ':path': '/live/poll' });
  t.equal((JSON.parse(poll.body) as { server: string }).server, 'h-1', 'plain request on /live: the http route');
  const tunnel = await connectWs(session, '/live');
  t.equal(tunnel.status, 200, 'extended CONNECT on /live: the websocket route');
  t.equal(await echoOver(tunnel, 'w'), 'w');
  t.equal(w1!.connections, 1);
  t.equal(h1!.requests.length, 1, 'refused requests reached no server');
});

t.test('a Host beside a different :authority: 400, nothing proxied', async (t) => {
  const [h1] = await httpFarm(t, 1);
  const b = await startBalancer(t, h2Yaml(t, { servers: [{ name: 'h-1', url: h1!.url }], route: { http: true } }));
  const session = await h2Session(t, b.proxyPort(), testCa(t).ca.caPem);
  const host = await request(session, { ':path': '/', host: 'elsewhere.example' });
  t.same([host.status, host.headers['x-wslb-error']], [400, 'WSLB_ERR_BAD_HOST']);
  t.equal(h1!.requests.length, 0);
});
