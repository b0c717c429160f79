/** The farm view's pure parts: summing and subtracting figures, delta messages, how the others' sum lands on a Server, load reports applied in a worker. */

import t from 'tap';
import { addShare, applyRemote, DeltaSender, FULL_EVERY, mergeDelta, othersOf, rttShare, type FarmShare } from '../../src/cluster/farm-view.js';
import { LoadApplier, LoadChanges, loadStates } from '../../src/cluster/farm-load.js';
import type { LoadState } from '../../src/cluster/protocol.js';
import { Server } from '../../src/pool/server.js';
import type { Pool } from '../../src/pool/pool.js';
import type { Runtime } from '../../src/runtime.js';

const server = (name: string, weight = 1) => new Server('p', { name, url: `ws://127.0.0.1:1/${name}`, host: '127.0.0.1', port: 1, tls: false, weight });
const runtimeOf = (servers: Server[]) => {
  const pool = { name: 'p', servers, server: (n: string) => servers.find((s) => s.name === n) } as unknown as Pool;
  return { rt: { pools: new Map([['p', pool]]) } as unknown as Runtime, pool };
};

t.test('Server: algorithms read local + remote bandwidth, and the mean RTT of the processes that measured', async (t) => {
  const s = server('a');
  s.localBandwidth = 1000;
  t.equal(s.bandwidth, 1000, 'alone: the local figure');
  s.remoteBandwidth = 3000;
  t.equal(s.bandwidth, 4000, 'farm-wide');
  t.equal(s.rtt, 0, 'never measured');
  s.localRtt = 10;
  t.equal(s.rtt, 10);
  s.remoteRttSum = 50;   // two other processes: 20 and 30 ms
  s.remoteRttCount = 2;
  t.equal(s.rtt, 20, '(10 + 20 + 30) / 3');
  s.localRtt = 0;
  t.equal(s.rtt, 25, 'not measured here: the others\' mean only');
});

t.test('addShare / othersOf: sums of contributions, and everyone but one', async (t) => {
  const w1: FarmShare = { 'p/a': [3, 100, 10, 1], 'p/b': [1, 0, 0, 0] };
  const w2: FarmShare = { 'p/a': [2, 50, 20, 1] };
  const own: FarmShare = { 'p/a': [0, 0, 4, 1] };
  const all = addShare(addShare(addShare({}, w1), w2), own);
  t.same(all, { 'p/a': [5, 150, 34, 3], 'p/b': [1, 0, 0, 0] });
  t.same(w1['p/a'], [3, 100, 10, 1], 'inputs untouched');
  t.same(othersOf(all, w1), { 'p/a': [2, 50, 24, 2], 'p/b': [0, 0, 0, 0] });
  t.same(othersOf(all, undefined), all, 'a worker that has not reported: everything');
  t.same(othersOf({ 'p/a': [1, 10.4, 0.1 + 0.2, 1] }, { 'p/a': [1, 10, 0.3, 1] }), { 'p/a': [0, 0, 0, 0] }, 'rounded, never negative');
});

t.test('applyRemote: the others\' figures land on the remote parts; absent servers get 0', async (t) => {
  const a = server('a');
  const b = server('b');
  const { rt } = runtimeOf([a, b]);
  a.localActive = 2;
  applyRemote(rt, { 'p/a': [5, 700, 30, 2], 'p/b': [1, 1, 0, 0] });
  t.equal(a.active, 7);
  t.equal(a.bandwidth, 700);
  t.equal(a.rtt, 15);
  applyRemote(rt, {});
  t.same([a.active, a.bandwidth, a.rtt, b.active], [2, 0, 0, 0]);
});

t.test('rttShare: one more measurement per server from the primary\'s health checks', async (t) => {
  const a = server('a');
  const b = server('b');
  a.localRtt = 1.23456;
  const { pool } = runtimeOf([a, b]);
  t.same(rttShare([pool]), { 'p/a': [0, 0, 1.235, 1] });
});

t.test('DeltaSender: full first, then changed entries only, nothing when unchanged, full again every FULL_EVERY ticks', async (t) => {
  const d = new DeltaSender();
  const one: FarmShare = { 'p/a': [1, 0, 0, 0], 'p/b': [0, 0, 0, 0] };
  t.same(d.next(one), { full: true, figures: one });
  t.equal(d.next({ 'p/a': [1, 0, 0, 0], 'p/b': [0, 0, 0, 0] }), null, 'unchanged: no message');
  t.same(d.next({ 'p/a': [1, 0, 0, 0], 'p/b': [1, 0, 0, 0] }), { full: false, figures: { 'p/b': [1, 0, 0, 0] } });
  t.same(d.next({ 'p/a': [1, 0, 0, 0] }), { full: true, figures: { 'p/a': [1, 0, 0, 0] } }, 'a server gone: a full record says so');
  let fulls = 0;
  for (let i = 0; i < 3 * FULL_EVERY; i++) if (d.next({ 'p/a': [1, 0, 0, 0] })?.full) fulls++;
  t.equal(fulls, 3, 'unchanged data: one full record per FULL_EVERY ticks');
  d.reset();
  t.equal(d.next({ 'p/a': [1, 0, 0, 0] })?.full, true, 'after reset');

  let kept: FarmShare = {};
  kept = mergeDelta(kept, { full: true, figures: { 'p/a': [1, 0, 0, 0], 'p/b': [2, 0, 0, 0] } });
  kept = mergeDelta(kept, { full: false, figures: { 'p/b': [3, 0, 0, 0] } });
  t.same(kept, { 'p/a': [1, 0, 0, 0], 'p/b': [3, 0, 0, 0] }, 'a delta merges');
  kept = mergeDelta(kept, { full: true, figures: { 'p/b': [3, 0, 0, 0] } });
  t.same(kept, { 'p/b': [3, 0, 0, 0] }, 'a full record replaces');
});

t.test('load reports: changes only; a worker applies load, staleness, weight and a report drain (never undoing an admin one)', async (t) => {
  const a = server('a', 2);
  const b = server('b');
  const { rt, pool } = runtimeOf([a, b]);
  const primary = runtimeOf([server('a', 2), server('b')]);
  const [pa, pb] = primary.pool.servers;
  pa!.load = 0.4;
  pb!.loadStale = true;
  pb!.loadError = 'no report yet';
  const changes = new LoadChanges();
  let states = loadStates([primary.pool], () => true);
  t.equal(changes.next(states).length, 2, 'first: every server');
  t.same(changes.next(loadStates([primary.pool], () => true)), [], 'nothing changed: nothing to send');
  t.same(loadStates([primary.pool], () => false), [], 'pools without a poller are not sent');
  const applier = new LoadApplier();
  applier.apply(rt, states);
  t.same([a.load, a.loadStale, b.loadStale, b.loadError], [0.4, false, true, 'no report yet']);

  pa!.weight = 7;            // a report's weight and drain, as the poller leaves them
  pa!.draining = true;
  states = changes.next(loadStates([primary.pool], () => true));
  t.same(states.map((s: LoadState) => s.server), ['a']);
  applier.apply(rt, states);
  t.same([a.configWeight, a.draining, a.reason], [7, true, 'load report: drain']);
  applier.apply(rt, [{ ...states[0]!, weight: 2, drain: false }]);
  t.same([a.configWeight, a.draining, a.reason], [2, false, null], 'undone when the report no longer asks');

  b.draining = true;         // an admin drain
  applier.apply(rt, [{ pool: 'p', server: 'b', load: 0, stale: true, error: 'x', weight: 1, drain: false }]);
  t.equal(b.draining, true, 'an admin drain is not the report\'s to undo');
  applier.apply(rt, [{ pool: 'p', server: 'gone', load: 0, stale: true, error: 'x', weight: 1, drain: false }]);
  t.pass('an unknown server is skipped');
  void pool;
});
