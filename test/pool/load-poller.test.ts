import t from 'tap';
import { LoadPoller, DEFAULT_LOAD, type LoadSettings } from '../../src/pool/load-poller.js';
import { scoreReport } from '../../src/pool/load-report.js';
import { Server } from '../../src/pool/server.js';
import type { ServerConfig } from '../../src/config/types.js';

t.test('scoreReport: table', async (t) => {
  const f = { cpu: 0.5, memory: 0.2, connections: 0.001 };
  const ok: [unknown, Record<string, number> | undefined, object][] = [
    [42, undefined, { score: 0.42, drain: false }],
    [0, f, { score: 0, drain: false }],
    [100, f, { score: 1, drain: false }],
    [{ cpu: 0.4, memory: 0.5, connections: 1000 }, f, { score: 0.2 + 0.1 + 1, drain: false }],
    [{ cpu: 0.4, memory: 0.6 }, undefined, { score: 0.5, drain: false }],
    [{ cpu: 0.4, weight: 7, drain: true, note: 'x' }, undefined, { score: 0.4, drain: true, weight: 7 }],
    [{ cpu: 1, memory: 1, connections: 0, weight: 0 }, f, { score: 0.7, drain: false, weight: 0 }],
  ];
  for (const [body, formula, want] of ok) {
    const got = scoreReport(body, formula);
    t.ok(Math.abs(got.score - (want as { score: number }).score) < 1e-9, `${JSON.stringify(body)} -> ${got.score}`);
    t.same({ ...got, score: 0 }, { ...want, score: 0 });
  }
  const bad: [unknown, Record<string, number> | undefined, RegExp][] = [
    [101, undefined, /0 to 100/],
    [-1, f, /0 to 100/],
    ['42', undefined, /number 0-100 or an object/],
    [null, undefined, /number 0-100 or an object/],
    [[1, 2], undefined, /number 0-100 or an object/],
    [{ cpu: 0.4 }, f, /lacks numeric field "memory"/],
    [{ drain: true }, undefined, /no numeric field/],
    [{ cpu: 1, weight: -1 }, undefined, /"weight" must be a number >= 0/],
    [{ cpu: 1, weight: 'x' }, undefined, /"weight"/],
  ];
  for (const [body, formula, re] of bad) t.throws(() => scoreReport(body, formula), re, JSON.stringify(body));
});

const cfg = (name: string, weight = 1): ServerConfig => ({ name, url: `ws://127.0.0.1:1`, host: '127.0.0.1', port: 1, tls: false, weight });

function setup(answers: Record<string, () => Promise<unknown>>, settings: Partial<LoadSettings> = {}) {
  const configs = [cfg('a', 2), cfg('b')];
  const pool = { name: 'p', servers: configs.map((c) => new Server('p', c)), config: { servers: configs } };
  let now = 0;
  const poller = new LoadPoller(pool, { ...DEFAULT_LOAD, interval: 1000, ...settings }, {
    now: () => now,
    fetch: (s) => answers[s.name]!(),
  });
  return { pool, poller, a: pool.servers[0]!, b: pool.servers[1]!, setNow: (n: number) => { now = n; } };
}

t.test('reports, failures, staleness by age, weight and drain', async (t) => {
  const answers: Record<string, () => Promise<unknown>> = {
    a: async () => ({ cpu: 0.3 }),
    b: async () => 70,
  };
  const { poller, a, b, setNow } = setup(answers);
  poller.start();                                    // marks stale, polls at once (the timer is unref'd)
  t.teardown(() => poller.close());
  await poller.round();
  t.same([a.load, a.loadStale, a.loadError, b.load, b.loadStale], [0.3, false, null, 0.7, false]);

  answers['b'] = async () => { throw new Error('load endpoint answered 500'); };
  await poller.round();
  t.same([b.loadStale, b.loadError], [true, 'load endpoint answered 500'], 'a failed poll: stale at once');
  answers['b'] = async () => 10;
  await poller.round();
  t.same([b.loadStale, b.load], [false, 0.1], 'and fresh again with the next good report');

  answers['a'] = async () => ({ cpu: 0.2, weight: 5 });
  await poller.round();
  t.equal(a.weight, 5, 'a reported weight replaces the configured one');
  answers['a'] = async () => ({ cpu: 0.2 });
  await poller.round();
  t.equal(a.weight, 2, 'a report without weight restores the configured one');

  answers['a'] = async () => ({ cpu: 0.2, drain: true });
  await poller.round();
  t.same([a.draining, a.state, a.reason], [true, 'draining', 'load report: drain']);
  answers['a'] = async () => ({ cpu: 0.2 });
  await poller.round();
  t.same([a.draining, a.state], [false, 'up'], 'undrained by the next report');

  b.status.setDraining(true, 'drained by admin');   // an admin drain
  await poller.round();
  t.equal(b.draining, true, 'the poller never undoes a drain it did not make');
  b.status.setDraining(false, null);

  // A poll that never settles: the report ages past stale_after (3 x interval).
  setNow(1000);
  await poller.round();                              // last good report at t = 1000
  answers['a'] = () => new Promise(() => {});
  setNow(2000);
  void poller.round();
  setNow(3500);
  void poller.round();
  t.equal(a.loadStale, false, 'within 3 intervals: still fresh');
  answers['a'] = async () => ({ cpu: 0.2, weight: 9, drain: true });
  setNow(4100);
  void poller.round();
  t.same([a.loadStale, a.loadError], [true, 'no load report for 3100 ms'], 'the hung poll is not repeated; the age decides');
  t.equal(a.weight, 2);
});

t.test('stale also undoes a reported weight and drain; results after close are ignored', async (t) => {
  let fail = false;
  const answers = { a: async () => { if (fail) throw new Error('down'); return { cpu: 0.1, weight: 4, drain: true }; }, b: async () => 1 };
  const { poller, a } = setup(answers, { stale_after: 10_000 });
  await poller.round();
  t.same([a.weight, a.draining], [4, true]);
  fail = true;
  await poller.round();
  t.same([a.loadStale, a.weight, a.draining, a.loadError], [true, 2, false, 'down']);
  fail = false;
  const pending = poller.round();
  poller.close();
  await pending;
  t.equal(a.loadStale, true, 'a report landing after close changes nothing');
});
