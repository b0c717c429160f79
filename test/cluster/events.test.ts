/** workers: 2: the primary serves the dashboard and a /events stream summed over both workers, with the lone process's document shape, HEAD and stream cap. */

import t from 'tap';
import WebSocket from 'ws';
import { connectNamed, startChildServer } from '../helpers/server-process.js';
import { clusterYaml, startInstance, type Instance } from './helpers.js';
import { waitFor } from '../helpers/wait.js';
import { stream, type Event } from '../helpers/event-stream.js';

type Point = [number, number, number];


async function call(port: number, method: string, path: string): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

// One process tree for the file (three processes to start and stop).
let inst: Instance;
t.before(async () => {
  const backs = await Promise.all(['s1', 's2', 's3'].map((n) => startChildServer(t, n)));
  inst = await startInstance(t, clusterYaml(backs.map((b) => ({ name: b.name, url: b.url })), { workers: 2 }), 2);
});

const points = (e: Event): Record<string, Point> => ((e.data['sample'] as { servers: Record<string, Record<string, Point>> }).servers['p'] ?? {});

t.test('the primary serves the dashboard, with HEAD and 405 as the lone process', async (t) => {
  const page = await call(inst.admin, 'GET', '/');
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /^text\/html/);
  t.match(page.headers.get('content-security-policy'), /script-src 'self'/);
  t.match(page.body, /<script src="dashboard.js" defer><\/script>/);
  const js = await call(inst.admin, 'GET', '/dashboard.js');
  t.equal(js.status, 200);
  t.match(js.headers.get('content-type'), /^text\/javascript/);
  t.doesNotThrow(() => new Function(js.body), 'the script parses');
  const css = await call(inst.admin, 'GET', '/dashboard.css');
  t.equal(css.status, 200);
  t.match(css.headers.get('content-type'), /^text\/css/);
  t.equal((await call(inst.admin, 'GET', '/index.html')).body, page.body);

  const head = await call(inst.admin, 'HEAD', '/');
  t.equal(head.status, 200);
  t.equal(head.body, '');
  const headEvents = await call(inst.admin, 'HEAD', '/events');
  t.equal(headEvents.status, 200);
  t.match(headEvents.headers.get('content-type'), /^text\/event-stream/);
  t.equal(headEvents.body, '');
  for (const path of ['/', '/dashboard.js', '/events']) {
    const r = await call(inst.admin, 'POST', path);
    t.equal(r.status, 405, `POST ${path}`);
    t.equal(r.headers.get('allow'), 'GET, HEAD');
  }
});

t.test('/events: a snapshot, then ticks whose per-server counts are the sum over both workers', async (t) => {
  const s = stream(inst.admin);
  t.teardown(() => s.req.destroy());
  const headers = await s.headers;
  t.match(headers['content-type'], /^text\/event-stream/);
  t.equal(headers['cache-control'], 'no-store');
  await waitFor(t, () => s.events.length >= 1, { ms: 10_000, what: 'a snapshot arrives' });
  const snap = s.events[0]!;
  t.equal(snap.event, 'snapshot');
  t.match(snap.data, {
    t: Number, auth: false,
    status: { draining: false, connections: 0, routes: [{ name: 'r', pool: 'p' }], pools: { p: { servers: [{ name: 's1', state: 'up' }, { name: 's2' }, { name: 's3' }] } }, workers: [{ id: 1 }, { id: 2 }] },
    rates: { handshakes: 0, rejections: {}, closes: {} },
    totals: { handshakes: 0 },
    sample: { t: Number, servers: { p: { s1: [0, 0, 0], s2: [0, 0, 0], s3: [0, 0, 0] } }, handshakes: 0, rejections: 0 },
    history: Array,
  });
  t.ok((snap.data['history'] as unknown[]).length >= 1, 'the primary kept a history before the stream opened');

  const clients: WebSocket[] = [];
  t.teardown(() => { for (const c of clients) c.terminate(); });
  const per: Record<string, number> = { s1: 0, s2: 0, s3: 0 };
  for (let i = 0; i < 20; i++) {
    const [ws, name] = await connectNamed(inst.proxy);
    clients.push(ws);
    per[name]!++;
    ws.send('x'.repeat(1000));
  }
  const matches = (e: Event): boolean => e.event === 'tick' && ['s1', 's2', 's3'].every((n) => points(e)[n]?.[0] === per[n]);
  await waitFor(t, () => s.events.some(matches), { ms: 10_000, what: `a tick shows ${JSON.stringify(per)}` });
  const tick = s.events.find(matches)!;
  const status = tick.data['status'] as { connections: number; pools: { p: { servers: { name: string; active: number }[] } }; workers: { connections: number }[] };
  t.equal(status.connections, 20, 'the tick carries the merged /status');
  t.same(Object.fromEntries(status.pools.p.servers.map((x) => [x.name, x.active])), per);
  t.ok(status.workers.every((w) => w.connections > 0), 'both workers hold tunnels');
  await waitFor(t, () => {
    const last = s.events.at(-1)!;
    return (last.data['totals'] as { handshakes: number }).handshakes === 20;
  }, { ms: 5000, what: 'totals: every handshake of both workers' });
  t.ok(s.events.some((e) => e.event === 'tick' && Object.values(points(e)).some((p) => p[1] > 0)), 'byte rates summed too');

  // Ticks come once a second, not faster. By the ticks' own times (the primary's clock), not their
  // arrival: the primary keeps ticking while this process is stalled, and the ticks then arrive together.
  // A tick's time is taken when its round ends (up to 0.9 s after it began), so two gaps are measured:
  // at least 2 s between round starts, less one round.
  const start = s.events.length;
  await waitFor(t, () => s.events.length >= start + 3, { ms: 15_000, what: 'three more ticks' });
  const span = (s.events[start + 2]!.data['t'] as number) - (s.events[start]!.data['t'] as number);
  t.ok(span >= 900, `not faster than once a second (${span} ms over two ticks)`);
  t.equal(s.events.filter((e) => e.event === 'snapshot').length, 1, 'one snapshot');

  for (const c of clients) c.close();
  await waitFor(t, () => ['s1', 's2', 's3'].every((n) => points(s.events.at(-1)!)[n]?.[0] === 0), { ms: 10_000, what: 'closed tunnels leave the counts' });
  const closes = (): Record<string, number> => (s.events.at(-1)!.data['totals'] as { closes: Record<string, number> }).closes;
  await waitFor(t, () => Object.values(closes()).reduce((a, b) => a + b, 0) === 20, { ms: 5000, what: () => `closes summed: ${JSON.stringify(closes())}` });
});

t.test('/events streams are capped as in the lone process', async (t) => {
  const streams: ReturnType<typeof stream>[] = [];
  t.teardown(() => { for (const s of streams) s.req.destroy(); });
  // The previous test's stream may take a moment to leave its slot.
  await waitFor(t, async () => {
    while (streams.length < 32) {
      const s = stream(inst.admin);
      if (!/^text\/event-stream/.test((await s.headers)['content-type'] ?? '')) { s.req.destroy(); return false; }
      streams.push(s);
    }
    return true;
  }, { ms: 5000, what: '32 streams open' });
  const res = await fetch(`http://127.0.0.1:${inst.admin}/events`);
  t.equal(res.status, 503);
  t.equal(res.headers.get('retry-after'), '5');
  t.match(await res.json(), { error: { code: 'WSLB_ERR_ADMIN_BUSY' } });
  await waitFor(t, () => streams.every((s) => s.events[0]?.event === 'snapshot'), { ms: 10_000, what: 'every stream got its snapshot' });
  streams[0]!.req.destroy();
  const opened: ReturnType<typeof stream>[] = [];
  t.teardown(() => { for (const s of opened) s.req.destroy(); });
  // The primary sees the close a little later: retry until the freed slot is taken.
  await waitFor(t, async () => {
    const s = stream(inst.admin);
    opened.push(s);
    if (/^text\/event-stream/.test((await s.headers)['content-type'] ?? '')) return true;
    s.req.destroy();
    return false;
  }, { ms: 5000, what: 'a slot freed' });
});
