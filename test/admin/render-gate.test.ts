/** Scrape storms: /metrics and /status render at most once per interval, shared by every waiting request, never older than the request; past a bound 503. */

import t, { type Test } from 'tap';
import http from 'node:http';
import { AdminServer } from '../../src/admin/server.js';
import { RenderGate, TurnPacer } from '../../src/metrics/render-gate.js';
import { startEchoBackends } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import type { Balancer } from '../../src/main.js';

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: string }

/** One GET on its own connection (no agent): concurrent calls are concurrent requests. */
function get(port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

async function adminOn(t: Test, b: Balancer, renderIntervalMs: number, maxRenderRequests: number): Promise<{ admin: AdminServer; port: number }> {
  const admin = new AdminServer(b.runtime, () => [], {}, { renderIntervalMs, maxRenderRequests });
  const { port } = await admin.listen(0, '127.0.0.1');
  t.teardown(() => admin.close());
  return { admin, port };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('RenderGate: at once when quiet, one shared render per interval, in-flight renders joined, failures not kept', async (t) => {
  let n = 0;
  let release: (() => void) | null = null;
  let slow = false;
  const gate = new RenderGate(async () => {
    n++;
    if (slow) await new Promise<void>((r) => { release = r; });
    return `render ${n}`;
  }, 150);
  t.equal(await gate.get(), 'render 1', 'the first request renders at once');
  const batch = await Promise.all(Array.from({ length: 50 }, () => gate.get()));
  t.same(new Set(batch), new Set(['render 2']), '50 requests within the interval share one (new) render');
  t.equal(gate.renders, 2);
  await sleep(200);
  slow = true;
  const first = gate.get();
  await sleep(10);
  t.equal(gate.renders, 3, 'after a quiet interval: rendered at once');
  const joined = [gate.get(), gate.get()];
  release!();
  t.same(await Promise.all([first, ...joined]), ['render 3', 'render 3', 'render 3'], 'requests during a render in flight await it');
  t.equal(gate.renders, 3, 'not repeated');

  let fail = true;
  const flaky = new RenderGate(() => { if (fail) throw new Error('boom'); return 'ok'; }, 0);
  await t.rejects(flaky.get(), /boom/);
  fail = false;
  t.equal(await flaky.get(), 'ok', 'a failed render is not served again');
});

t.test('TurnPacer: a batch of answers goes out perTurn at a time, one event-loop turn after another', async (t) => {
  const pacer = new TurnPacer(16);
  const done: number[] = [];
  for (let i = 0; i < 40; i++) void pacer.next().then(() => done.push(i));
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
  t.equal(done.length, 0, 'nothing in the current turn');
  await turn();
  t.equal(done.length, 16);
  await turn();
  t.equal(done.length, 32);
  await turn();
  t.same(done, Array.from({ length: 40 }, (_, i) => i), 'all, in arrival order');
});

t.test('N concurrent /metrics and /status requests: one render each, and the answer reflects state from after the request', async (t) => {
  const backends = await startEchoBackends(2, 'g');
  t.teardown(() => Promise.all(backends.map((be) => be.close())));
  const b = await startBalancer(t, { servers: backends.map((be) => ({ name: be.name, url: be.url })) });
  // 1 s: the 80 concurrent requests below must all arrive before the next render is due; at 300 ms a
  // stall of this process split them over two renders.
  const { admin, port } = await adminOn(t, b, 1000, 100);

  t.equal((await get(port, '/metrics')).status, 200);
  t.equal((await get(port, '/status')).status, 200);
  t.same(admin.renders, { metrics: 1, status: 1 }, 'one render each');

  const answers = await Promise.all([
    ...Array.from({ length: 40 }, () => get(port, '/metrics')),
    ...Array.from({ length: 40 }, () => get(port, '/status')),
  ]);
  t.ok(answers.every((a) => a.status === 200), 'all 80 answered 200');
  t.same(admin.renders, { metrics: 2, status: 2 }, '40 concurrent requests per endpoint: exactly one more render each');
  t.equal(new Set(answers.slice(0, 40).map((a) => a.body)).size, 1, 'the same /metrics text for all');

  // Right after a render, a state change: the next request waits for a new render instead of getting the old one.
  b.runtime.pools.get('p')!.server('g-1')!.status.setEnabled(false);
  const doc = JSON.parse((await get(port, '/status')).body) as { pools: { p: { servers: { name: string; state: string }[] } } };
  t.equal(doc.pools.p.servers.find((s) => s.name === 'g-1')!.state, 'disabled', 'never older than the request');
  t.same(admin.renders, { metrics: 2, status: 3 });

  // Past the interval with nothing waiting: the next request renders at once, the previous text is not reused.
  await sleep(1050);
  const before = admin.renders.metrics;
  t.equal((await get(port, '/metrics')).status, 200);
  t.equal(admin.renders.metrics, before + 1, 'a new render after the interval');
});

t.test('past maxRenderRequests waiting: 503 WSLB_ERR_ADMIN_OVERLOADED with Retry-After, sent with the batch; /healthz unaffected; slots come back', async (t) => {
  const backends = await startEchoBackends(1, 'h');
  t.teardown(() => Promise.all(backends.map((be) => be.close())));
  const b = await startBalancer(t, { servers: [{ name: 'h-1', url: backends[0]!.url }] });
  const { admin, port } = await adminOn(t, b, 1000, 3);

  const warmedAt = Date.now();   // before the renders: the next ones are due 1 s after this at the earliest
  t.equal((await get(port, '/metrics')).status, 200, 'warm: the next render is 1 s away');
  t.equal((await get(port, '/status')).status, 200);
  const answeredAt: number[] = [];
  const storm = Array.from({ length: 5 }, (_, i) => get(port, i % 2 ? '/status' : '/metrics').then((a) => { answeredAt.push(Date.now()); return a; }));
  // Every answer, refused ones included, waits for the next render: dated rather than raced against
  // a 700 ms sleep that a loaded machine could start after the render.
  await Promise.all(storm);
  t.ok(answeredAt.every((at) => at - warmedAt >= 990), `three wait for the next render, the two refused with them (answered ${answeredAt.map((at) => at - warmedAt).join(', ')} ms after the warm-up)`);
  t.equal((await get(port, '/healthz')).status, 200, '/healthz is not bounded');
  const answers = await Promise.all(storm);
  const over = answers.filter((a) => a.status === 503);
  t.equal(answers.filter((a) => a.status === 200).length, 3, 'three answered from the shared render');
  t.equal(over.length, 2, 'two over the bound');
  for (const a of over) {
    t.equal(a.headers['retry-after'], '1');
    t.equal(a.headers['x-wslb-error'], 'WSLB_ERR_ADMIN_OVERLOADED');
    t.equal((JSON.parse(a.body) as { error: { code: string } }).error.code, 'WSLB_ERR_ADMIN_OVERLOADED');
  }
  t.same(admin.renders, { metrics: 2, status: 2 }, 'one render per endpoint for the whole batch');
  const again = await Promise.all(Array.from({ length: 3 }, () => get(port, '/metrics')));
  t.same(again.map((a) => a.status), [200, 200, 200], 'the slots were released');
});
