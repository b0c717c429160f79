/** GET /events: a snapshot with history first, then one tick per second carrying /status and rates. */

import t from 'tap';
import { once } from 'node:events';
import WebSocket from 'ws';
import { startEchoBackends } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { stream } from '../helpers/event-stream.js';



t.test('snapshot then ticks, at most one per second, with live counts and rates', async (t) => {
  const backends = await startEchoBackends(1, 'ev');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const b = await startBalancer(t, { servers: [{ name: 'ev-1', url: backends[0]!.url }] });
  const s = stream(b.adminPort());
  t.teardown(() => s.req.destroy());
  const headers = await s.headers;
  t.match(headers['content-type'], /^text\/event-stream/);
  t.equal(headers['cache-control'], 'no-store');
  await waitFor(t, () => s.events.length >= 1, { what: 'snapshot arrives at once' });
  t.equal(s.events[0]!.event, 'snapshot');
  t.match(s.events[0]!.data, { auth: false, status: { pools: { p: { servers: [{ name: 'ev-1', state: 'up' }] } } }, history: Array });

  const clients = [];
  for (let i = 0; i < 3; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${b.proxyPort()}/`, { perMessageDeflate: false });
    await once(ws, 'open');
    clients.push(ws);
  }
  const start = s.events.length;
  await waitFor(t, () => s.events.length >= start + 2, { ms: 10_000, what: 'two ticks' });
  // The ticks' own times (the sampler's clock), not their arrival: a delayed tick followed by one on time
  // arrives less than a second apart, but was not taken any sooner.
  const gap = (s.events[start + 1]!.data['t'] as number) - (s.events[start]!.data['t'] as number);
  t.ok(gap >= 900, `not faster than once a second (${gap} ms between two ticks)`);
  const tick = s.events.at(-1)!;
  t.equal(tick.event, 'tick');
  t.match(tick.data, {
    status: { connections: 3, pools: { p: { servers: [{ name: 'ev-1', active: 3 }] } } },
    totals: { handshakes: 3 },
    sample: { servers: { p: { 'ev-1': [3, Number, Number] } } },
  });
  for (const ws of clients) ws.terminate();
});

t.test('the stream ends with the admin listener; many streams are capped', async (t) => {
  const backends = await startEchoBackends(1, 'cap');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const b = await startBalancer(t, { servers: [{ name: 'cap-1', url: backends[0]!.url }] });
  const streams = Array.from({ length: 32 }, () => stream(b.adminPort()));
  await Promise.all(streams.map((s) => s.headers));
  const res = await fetch(`http://127.0.0.1:${b.adminPort()}/events`);
  t.equal(res.status, 503);
  t.match(await res.json(), { error: { code: 'WSLB_ERR_ADMIN_BUSY' } });
  streams[0]!.req.destroy();
  // The admin server sees the close a little later (after a fixed 50 ms, on a loaded machine, not yet):
  // retry until the freed slot is taken.
  let again: ReturnType<typeof stream> | undefined;
  await waitFor(t, async () => {
    const s = stream(b.adminPort());
    if (/^text\/event-stream/.test((await s.headers)['content-type'] ?? '')) { again = s; return true; }
    s.req.destroy();
    return false;
  }, { what: 'a slot freed' });
  if (!again) return;
  const closed = Promise.all([...streams.slice(1), again].map((s) => new Promise((r) => s.req.on('close', r))));
  await b.close(100);
  await closed;
  t.pass('every stream ended on close');
});
