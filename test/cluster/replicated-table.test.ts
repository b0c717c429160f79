/** The replication primitive in process: deltas after a first full, heartbeats, a gap kept until a full heals it, TTL and `gone`, the combined view, relayed fulls. */

import t from 'tap';
import { HEARTBEAT_TICKS, latest, ReplicatedTable, sum, TTL_MS, type TableMessage } from '../../src/cluster/replicated-table.js';
import { instanceOf, TableSet } from '../../src/cluster/table-set.js';

const counts = (origin: string, changes: [string, number | undefined][] = [], now = () => 0) =>
  new ReplicatedTable<number>('ip', origin, { combine: sum, onChange: (k, v) => changes.push([k, v]), now });

t.test('an origin: a full first, then only changes, nothing when idle but a heartbeat', async (t) => {
  const a = counts('a#0');
  a.set('x', 1);
  t.match(a.next(), { kind: 'full', seq: 1, entries: [['x', 1]] });
  t.equal(a.next(), null, 'nothing changed: nothing sent');
  a.set('x', 1);
  t.equal(a.next(), null, 'the same value is no change');
  a.set('x', 2);
  a.set('y', 1);
  a.delete('y');
  t.same(a.next(), { table: 'ip', origin: 'a#0', seq: 2, kind: 'delta', entries: [['x', 2], ['y', null]] }, 'changes since the last tick; null = deleted');
  let beats = 0;
  for (let i = 0; i < 2 * HEARTBEAT_TICKS; i++) { const m = a.next(); if (m) { beats++; t.same(m.entries, []); } }
  t.equal(beats, 2, 'idle: one empty delta per HEARTBEAT_TICKS');
  a.replace(new Map([['z', 5]]));
  t.same(a.next()?.entries, [['x', null], ['z', 5]], 'replace: absent keys deleted');
});

t.test('a reader: other origins combined; a gap keeps the rows until a full replaces them', async (t) => {
  const changes: [string, number | undefined][] = [];
  const r = counts('r#0', changes);
  const a = counts('a#0');
  const b = counts('b#0');
  a.set('x', 2);
  b.set('x', 3);
  t.ok(r.receive(a.next()!));
  t.ok(r.receive(b.next()!));
  t.equal(r.view('x'), 5, 'summed over origins');
  t.same(changes, [['x', 2], ['x', 5]], 'told each change of the view');

  a.set('x', 4);
  const lost = a.next()!;   // never delivered
  void lost;
  a.set('y', 1);
  const after = a.next()!;
  t.notOk(r.receive(after), 'seq 3 after 1: a gap, not applied');
  t.equal(r.view('x'), 5, 'the rows held are kept (nothing dropped)');
  t.equal(r.view('y'), undefined);
  t.ok(r.receive(a.fullOf('a#0')!), 'the origin\'s full (as a relay or the origin answers a sync)');
  t.same([r.view('x'), r.view('y')], [7, 1], 'healed');
  a.set('y', 2);
  t.ok(r.receive(a.next()!), 'and deltas follow on from the full');
  t.equal(r.view('y'), 2);
  t.notOk(r.receive(counts('c#0').gone()), 'gone from an origin never heard: nothing to do');
  t.ok(r.receive(b.gone()), 'gone: its rows leave at once');
  t.same([r.view('x'), r.view('y')], [4, 2]);
  t.notOk(r.receive({ table: 'ip', origin: 'r#0', seq: 1, kind: 'full', entries: [['x', 9]] }), 'its own messages coming back are ignored');
});

t.test('TTL: an origin not heard from for TTL_MS is dropped; heartbeats keep it', async (t) => {
  let now = 0;
  const r = counts('r#0', [], () => now);
  const a = counts('a#0');
  const b = counts('b#0');
  a.set('x', 1);
  b.set('x', 1);
  r.receive(a.next()!);
  r.receive(b.next()!);
  let beats = 0;
  for (let i = 0; i < HEARTBEAT_TICKS; i++) {
    now += TTL_MS / HEARTBEAT_TICKS;
    const m = a.next();   // b's heartbeats are lost
    b.next();
    if (m) { beats++; t.ok(r.receive(m), 'a heartbeat applies'); }
  }
  t.equal(beats, 1);
  now = TTL_MS + 1;
  const gone = r.expire();
  t.same(gone.map((m) => [m.origin, m.kind]), [['b#0', 'gone']], 'b was silent: dropped, with a gone message for relays');
  t.equal(r.view('x'), 1, 'a still counts');
});

t.test('latest: a later write wins, equal times pick the same row everywhere', async (t) => {
  t.same(latest([{ at: 1, by: 'a' }, { at: 2, by: 'a' }]), { at: 2, by: 'a' });
  t.same(latest([{ at: 2, by: 'b' }, { at: 2, by: 'a' }]), { at: 2, by: 'b' });
  t.same(latest([{ at: 2, by: 'a' }, { at: 2, by: 'b' }]), { at: 2, by: 'b' });
});

t.test('TableSet: one tick for every table, fulls of chosen origins, drop by origin, gaps reported', async (t) => {
  const set = new TableSet('i1#0');
  const ip = set.add(counts('i1#0'));
  const other = set.add(new ReplicatedTable<string>('s', 'i1#0', { combine: (v) => v[0]! }));
  ip.set('x', 1);
  other.set('k', 'v');
  t.same(set.tick().map((m) => [m.table, m.kind]), [['ip', 'full'], ['s', 'full']]);
  const w = counts('i1#1.7');
  w.set('x', 2);
  const r = set.receive([w.next()!, { table: 'nope', origin: 'x#0', seq: 1, kind: 'full', entries: [] }]);
  t.equal(r.applied.length, 1, 'a table not kept here is skipped');
  t.equal(ip.view('x'), 2);
  w.set('x', 3);
  w.next();   // lost
  w.set('x', 4);
  t.same([...set.receive([w.next()!]).gaps], ['i1#1.7'], 'out of sequence: reported for a sync');
  const fulls = set.fulls((o) => instanceOf(o) === 'i1');
  t.same(fulls.map((m) => `${m.table}:${m.origin}`).sort(), ['ip:i1#0', 'ip:i1#1.7', 's:i1#0'], 'own and stored origins of this instance');
  const msgs: TableMessage[] = set.drop((o) => o === 'i1#1.7');
  t.same(msgs.map((m) => [m.origin, m.kind]), [['i1#1.7', 'gone']]);
  t.equal(ip.view('x'), undefined);
  t.same(set.gone().map((m) => [m.table, m.kind]), [['ip', 'gone'], ['s', 'gone']]);
  t.equal(instanceOf('edge/host/12#3.4'), 'edge/host/12');
});
