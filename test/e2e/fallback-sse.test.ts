/** Server-Sent Events and held polls through the balancer: latency, idle timer, client disconnect, drain and shutdown. */

import t, { type Test } from 'tap';
import http from 'node:http';
import { startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { startHttpBackend, type HttpBackend } from '../http/backend-http.js';
import { openSse, request, type SseClient } from '../http/sse-client.js';

async function farm(t: Test, n: number): Promise<HttpBackend[]> {
  const out: HttpBackend[] = [];
  for (let i = 1; i <= n; i++) out.push(await startHttpBackend(`h-${i}`));
  t.teardown(() => Promise.all(out.map((b) => b.close())));
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('100 SSE streams: every event relayed as it comes, streams counted in server.active', async (t) => {
  const backends = await farm(t, 3);
  const b = await startBalancer(t, { algorithm: 'least-connections', servers: backends, route: { http: true } });
  const clients: SseClient[] = [];
  for (let i = 0; i < 100; i++) clients.push(await openSse(b.proxyPort(), '/sse'));
  await waitFor(t, () => backends.reduce((n, s) => n + s.streams.length, 0) === 100, { what: 'every stream reached a server' });
  const pool = b.runtime.pools.get('p')!;
  t.same(pool.servers.map((s) => s.active).sort(), [33, 33, 34], 'least-connections saw the open streams');
  // Nothing is sent after an event until every client has it: an event held back for more data (or
  // for the end of the stream) never arrives. A latency bound in ms would measure the machine's load.
  for (let k = 0; k < 5; k++) {
    for (const s of backends) s.emit(`e${k}`);
    await waitFor(t, () => clients.every((c) => c.events.length === k + 1), { ms: 10_000, what: `event ${k} reached every client, nothing sent after it` });
  }
  let worst = 0;
  for (const c of clients) for (const e of c.events) worst = Math.max(worst, e.at - (JSON.parse(e.data) as { t: number }).t);
  t.comment(`slowest event took ${worst} ms`);
  for (const c of clients) c.req.destroy();
  await waitFor(t, () => pool.servers.every((s) => s.active === 0), { what: 'counters back to 0' });
});

t.test('Last-Event-ID is forwarded; a client disconnect closes the upstream at once', async (t) => {
  const [s] = await farm(t, 1);
  const b = await startBalancer(t, { servers: [s!], route: { http: true } });
  const c = await openSse(b.proxyPort(), '/sse', { 'Last-Event-ID': '41' });
  await waitFor(t, () => s!.streams.length === 1, { what: 'the stream reached the server' });
  t.equal(s!.streams[0]!.lastEventId, '41');
  const gone = Date.now();
  c.req.destroy();
  // Nothing else would close it before timeouts.http (60 s): the bound leaves room for a loaded machine.
  await waitFor(t, () => s!.streams[0]!.closedAt !== null, { ms: 5000, what: 'upstream stream closed' });
  t.ok(s!.streams[0]!.closedAt! - gone < 5000, `closed after ${s!.streams[0]!.closedAt! - gone} ms`);

  // A held poll abandoned by its client is abandoned upstream too, and the server's counter drops.
  // Held 30 s: far past the waits below, so only the abandon can end it in time.
  const held = http.get({ host: '127.0.0.1', port: b.proxyPort(), path: '/hold?ms=30000', agent: false });
  held.on('error', () => {});
  await waitFor(t, () => s!.requests.some((r) => r.url.startsWith('/hold')), { what: 'the held poll reached the server' });
  t.equal(b.runtime.http.size, 1, 'one exchange open');
  t.equal(b.runtime.pools.get('p')!.servers[0]!.active, 1, 'the held poll counts in active');
  const t0 = Date.now();
  held.destroy();
  if (await waitFor(t, () => s!.abandoned.length === 1, { ms: 5000, what: 'held request abandoned upstream' })) {
    t.ok(s!.abandoned[0]! - t0 < 5000, `abandoned ${s!.abandoned[0]! - t0} ms after the client left`);
  }
  await waitFor(t, () => b.runtime.http.size === 0 && b.runtime.pools.get('p')!.servers[0]!.active === 0, { what: 'exchange gone' });

  // The same at shutdown's hard stop.
  const held2 = request(b.proxyPort(), '/hold?ms=30000').catch(() => null);
  await waitFor(t, () => b.runtime.http.size === 1, { what: 'one exchange open' });
  // The exchange is open before its request reaches the server: destroyed earlier, the server never sees it to abandon it.
  await waitFor(t, () => s!.requests.filter((r) => r.url.startsWith('/hold')).length === 2, { what: 'the second held poll reached the server' });
  b.runtime.http.destroyAll();
  await held2;
  await waitFor(t, () => s!.abandoned.length === 2, { ms: 5000, what: 'destroyAll abandons upstream' });
});

t.test('a poll held 20 s is not cut with the default timeouts.http', { timeout: 40_000 }, async (t) => {
  const [s] = await farm(t, 1);
  const b = await startBalancer(t, { servers: [s!], route: { http: true } });
  const t0 = Date.now();
  const r = await request(b.proxyPort(), '/hold?ms=20000');
  t.equal(r.status, 200);
  t.same(JSON.parse(r.body), { server: 'h-1', held: 20000 });
  t.ok(Date.now() - t0 >= 20000);
});

t.test('timeouts.http is an idle timer: a busy stream outlives it, a silent poll gets 504', async (t) => {
  const [s] = await farm(t, 1);
  // 1.5 s against events every 200 ms: only a stall of over 1.3 s would make the busy stream idle.
  const b = await startBalancer(t, { servers: [s!], route: { http: true }, timeouts: { http: '1500ms' } });
  const c = await openSse(b.proxyPort(), '/sse');
  for (let k = 0; k < 16; k++) { s!.emit(`k${k}`); await sleep(200); }   // 3.2 s of traffic, never 1.5 s idle
  await waitFor(t, () => c.events.length === 16, { what: 'every event arrived' });
  t.equal(c.events.length, 16, 'stream alive past 2 x timeouts.http');
  const ended = c.ended;
  t.equal(await ended, 'cut', 'then cut once idle');

  const t0 = Date.now();
  const r = await request(b.proxyPort(), '/hold?ms=30000');
  t.equal(r.status, 504);
  t.equal(r.headers['x-wslb-error'], 'WSLB_ERR_UPSTREAM_TIMEOUT');
  t.equal(r.headers.connection, 'close');
  // The server would answer after 30 s; the bound leaves the 1.5 s timeout room for a loaded machine.
  t.ok(Date.now() - t0 < 10_000, 'answered at the idle timeout');
  t.equal(b.runtime.routeStats.get('r')?.rejections.get('WSLB_ERR_UPSTREAM_TIMEOUT'), 1, 'counted for the route');
});

t.test('drain and shutdown end SSE streams cleanly (chunked terminator)', async (t) => {
  const backends = await farm(t, 2);
  const b = await startBalancer(t, { servers: backends, route: { http: true } });
  const pool = b.runtime.pools.get('p')!;
  const a1 = await openSse(b.proxyPort(), '/sse');
  const a2 = await openSse(b.proxyPort(), '/sse');
  await waitFor(t, () => backends.every((s) => s.streams.length === 1), { what: 'one stream on each server' });
  const first = pool.servers[0]!;
  const drained = b.runtime.drainServer(first, 100);
  const onFirst = (await Promise.race([a1.ended.then(() => a1), a2.ended.then(() => a2)]));
  t.equal(await onFirst.ended, 'clean', 'the drained server\'s stream ended with the terminator');
  await drained;
  t.equal(first.active, 0);
  const other = onFirst === a1 ? a2 : a1;
  const t0 = Date.now();
  await b.close(200);
  t.equal(await other.ended, 'clean', 'shutdown ended the last stream cleanly');
  // The stream would otherwise last until timeouts.http (60 s); the bound leaves the 200 ms drain room for a loaded machine.
  t.ok(Date.now() - t0 < 5000, 'shutdown did not wait for the stream');
  await waitFor(t, () => backends.every((s) => s.streams.every((x) => x.closedAt !== null)), { what: 'upstream streams closed' });
});
