/** PrimaryEvents in-process against a scripted supervisor: the history ring, /status only while a stream is open, totals kept across worker replacement, the snapshot of the first stream. */

import t from 'tap';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Worker } from 'node:cluster';
import type { Logger } from '../../src/log.js';
import type { Tick } from '../../src/metrics/sampler.js';
import { PrimaryEvents } from '../../src/cluster/primary-events.js';
import type { Supervisor } from '../../src/cluster/supervisor.js';
import type { WorkerTick } from '../../src/cluster/tick-merge.js';
import { waitFor } from '../helpers/wait.js';

type Fake = Pick<Supervisor, 'askAll' | 'workers'>;

/** Workers by cluster id; `ticks[id]` is what that worker answers (undefined: no answer). */
function fakeSupervisor(ids: number[], ticks: Record<number, WorkerTick | undefined>): Fake & { ids: number[]; asked: number } {
  const fake = {
    ids,
    asked: 0,
    get workers() { return fake.ids.map((id) => ({ id }) as Worker); },
    askAll: (async () => {
      fake.asked++;
      return fake.ids.map((id, i) => {
        const body = ticks[id];
        return { slot: { id: i + 1, worker: { id } as Worker, ready: true, startedAt: 0, crashes: 0, restarts: 0 }, reply: body ? { t: 'reply' as const, id: 0, ok: true, body } : null };
      });
    }) as Fake['askAll'],
  };
  return fake;
}

function workerTick(active: number, handshakes: number): WorkerTick {
  const tick: Tick = {
    sample: { t: 0, servers: { p: { a: [active, 10, 20] } }, handshakes: 1, rejections: 0 },
    rates: { handshakes: 1, rejections: {}, closes: {} },
    totals: { handshakes, rejections: {}, closes: { '1000': handshakes } },
  };
  return { tick, active: { 'p/a': active } };
}

const errors: unknown[] = [];
const log = { error: (o: unknown) => { errors.push(o); } } as unknown as Logger;

t.test('polls fill the ring; /status is asked only while a stream is open', async (t) => {
  const sup = fakeSupervisor([1, 2], { 1: workerTick(2, 5), 2: workerTick(3, 7) });
  let statusCalls = 0;
  let now = 1000;
  const ev = new PrimaryEvents(sup, async () => ({ n: ++statusCalls }), log, true, { points: 3, now: () => now++ });
  for (let i = 0; i < 5; i++) await ev.poll();
  t.equal(ev.history.length, 3, 'the ring keeps `points` samples');
  t.same(ev.history.map((s) => s.t), [1002, 1003, 1004]);
  t.same(ev.history.at(-1)!.servers, { p: { a: [5, 20, 40] } });
  t.equal(statusCalls, 0, 'no stream, no /status');
  t.equal(ev.last, null, 'a tick without /status is not shown');

  const seen: unknown[] = [];
  const off = ev.subscribe((tick) => seen.push(tick.status));
  await ev.poll();   // the one subscribe started
  t.ok(statusCalls >= 1, 'the first subscriber gets a tick with /status at once');
  t.same(ev.last?.status, { n: statusCalls });
  t.same(ev.last?.totals, { handshakes: 12, rejections: {}, closes: { '1000': 12 } });
  t.ok(seen.length >= 1);
  off();
  const calls = statusCalls;
  await ev.poll();
  t.equal(statusCalls, calls, 'unsubscribed: no /status again');
  t.equal(ev.streams, 0);
});

t.test('a replaced worker\'s totals stay counted; a silent one counts its last', async (t) => {
  const ticks: Record<number, WorkerTick | undefined> = { 1: workerTick(1, 10), 2: workerTick(1, 20) };
  const sup = fakeSupervisor([1, 2], ticks);
  const ev = new PrimaryEvents(sup, async () => ({}), log, false);
  ev.subscribe(() => {});
  await ev.poll();
  t.equal(ev.last?.totals.handshakes, 30);
  // Worker 2 is slow this round: its last totals still count, its tunnels are unknown (0).
  ticks[2] = undefined;
  await ev.poll();
  t.equal(ev.last?.totals.handshakes, 30);
  t.same(ev.last?.sample.servers, { p: { a: [1, 10, 20] } });
  // Worker 1 dies and worker 3 replaces it.
  sup.ids = [2, 3];
  ticks[2] = workerTick(1, 21);
  ticks[3] = workerTick(0, 2);
  await ev.poll();
  t.equal(ev.last?.totals.handshakes, 10 + 21 + 2, 'the dead worker\'s 10 stay');
  t.same(ev.last?.totals.closes, { '1000': 33 });
  ev.close();
});

t.test('a failing round is logged, never thrown; a subscriber arriving mid-round gets its own round', async (t) => {
  const sup = fakeSupervisor([1], { 1: workerTick(1, 1) });
  let fail = true;
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => { release = r; });
  const slowAsk = sup.askAll;
  const ev = new PrimaryEvents({ get workers() { return sup.workers; }, askAll: async (m, ms) => { await gate; return slowAsk(m, ms); } }, async () => {
    if (fail) { fail = false; throw new Error('status failed'); }
    return { ok: true };
  }, log, false);
  const round = ev.poll();   // no subscriber: no /status
  const seen: unknown[] = [];
  ev.subscribe((tick) => seen.push(tick.status));   // busy: runs again when this round ends
  release();
  await round;
  t.equal(errors.length, 1, 'the second pass asked /status, which threw: logged');
  t.same(seen, [], 'nothing sent: the first pass had no /status, the second failed');
  await ev.poll();
  t.same(seen, [{ ok: true }]);
  ev.close();
});

t.test('HTTP: the first stream\'s snapshot waits for a tick with /status, then ticks follow; close ends it', async (t) => {
  const sup = fakeSupervisor([1, 2], { 1: workerTick(2, 5), 2: workerTick(3, 7) });
  const ev = new PrimaryEvents(sup, async () => ({ connections: 5 }), log, true, { intervalMs: 50 });
  const server = http.createServer((req, res) => ev.open(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => { ev.close(); server.closeAllConnections(); server.close(); });
  ev.start();
  ev.start();   // idempotent
  const res = await new Promise<http.IncomingMessage>((resolve) => http.get({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/events' }, resolve));
  t.match(res.headers['content-type'], /^text\/event-stream/);
  res.setEncoding('utf8');
  let body = '';
  res.on('data', (c: string) => { body += c; });
  const ended = once(res, 'end');
  await waitFor(t, () => (body.match(/event: tick/g) ?? []).length >= 2, { ms: 10_000, what: 'two ticks after the snapshot' });
  const blocks = body.split('\n\n').filter((b) => b.includes('data: '));
  t.match(blocks[0], /^event: snapshot/);
  const snap = JSON.parse(/^data: (.*)$/m.exec(blocks[0]!)![1]!) as Record<string, unknown>;
  t.match(snap, { auth: true, status: { connections: 5 }, sample: { servers: { p: { a: [5, 20, 40] } } }, totals: { handshakes: 12 }, history: Array });
  t.ok(blocks.slice(1).every((b) => b.startsWith('event: tick')), 'then ticks');
  t.equal(ev.streams, 1);
  ev.close();
  await ended;
  t.pass('close ended the stream');
});
