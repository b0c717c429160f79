/** The per-IP table's idle list: least recently seen idle addresses go first, live ones are never in the way, an address joins the list when its last connection closes, and every count reaches the cluster's shared table. */

import t from 'tap';
import { fakeSocket, testLimits } from './admission-helpers.js';
import { Admission, type SharedCounts } from '../../src/edge/admission.js';

const limits = testLimits;

// With one token per second and a clock that stands still, an address's second handshake is
// refused while the table remembers it and admitted once it was forgotten: that shows which went.

t.test('over the bound, the least recently seen idle address is forgotten first', async (t) => {
  const a = new Admission({ now: () => 0, maxIdleEntries: 3 });
  const l = limits();
  for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) t.equal(a.check(ip, l, true), null);
  t.equal(a.check('10.0.0.1', l, true), 'WSLB_ERR_RATE', 'seen again: now the most recent');
  t.equal(a.check('10.0.0.4', l, true), null);
  t.equal(a.size, 4, 'one over the bound: trimmed at the next admission');
  t.equal(a.check('10.0.0.2', l, true), null, '.2, least recently seen, was forgotten (a fresh bucket)');
  t.equal(a.check('10.0.0.1', l, true), 'WSLB_ERR_RATE', '.1, seen after .2, was remembered');
  t.ok(a.size <= 4);
});

t.test('live addresses are never trimmed, nor do they hold up the trimming of idle ones', async (t) => {
  let now = 0;
  const a = new Admission({ now: () => now, maxIdleEntries: 50 });
  const l = limits({ handshakes_per_ip: 10 });
  const live: ReturnType<typeof fakeSocket>[] = [];
  for (let i = 0; i < 20; i++) {
    const s = fakeSocket();
    t.equal(a.check(`192.0.2.${i}`, l, true), null);
    a.track(`192.0.2.${i}`, s);
    live.push(s);
  }
  for (let i = 0; i < 5000; i++) a.check(`10.0.${i >> 8}.${i & 255}`, l, true);
  t.ok(a.size <= 51, `bounded with 20 live addresses among them: ${a.size}`);
  for (let i = 0; i < 20; i++) t.equal(a.connections(`192.0.2.${i}`), 1);
  now = 10_000;   // every bucket full again: idle entries expire as admissions pass
  for (let i = 0; i < 100; i++) a.check('198.51.100.1', l, false);
  t.equal(a.size, 21, 'the live addresses and the one just seen');
  for (const s of live) s.emit('close');
  for (let i = 0; i < 100; i++) a.check('198.51.100.1', l, false);
  t.equal(a.size, 1, 'closed and with full buckets: gone');
});

t.test('an address whose last connection closes is idle from then on, seen at that moment', async (t) => {
  let now = 0;
  const a = new Admission({ now: () => now, maxIdleEntries: 2 });
  const l = limits();
  const s = fakeSocket();
  t.equal(a.check('10.0.0.9', l, true), null);
  a.track('10.0.0.9', s);
  t.equal(a.check('10.0.0.1', l, true), null);
  t.equal(a.check('10.0.0.2', l, true), null);
  s.emit('close');
  t.equal(a.connections('10.0.0.9'), 0);
  t.equal(a.check('10.0.0.3', l, true), null, 'over the bound: .1 goes, the closed one stays');
  t.equal(a.check('10.0.0.9', l, true), 'WSLB_ERR_RATE', 'its spent bucket is remembered');
  // Not before its bucket is full again does a closed address leave on its own.
  now = 999;
  t.equal(a.check('10.0.0.9', l, false), null);
  t.equal(a.check('10.0.0.9', l, true), 'WSLB_ERR_RATE');
  now = 5000;
  a.check('198.51.100.1', l, false);
  a.check('198.51.100.1', l, false);
  t.equal(a.size, 1, 'full buckets: forgotten');
});

t.test('each count is released once per close, also for a socket counted twice', async (t) => {
  const a = new Admission({ now: () => 0 });
  const l = limits({ max_connections_per_ip: 1 });
  const s = fakeSocket();
  const other = fakeSocket();
  a.track('10.0.0.1', s);
  a.track('10.0.0.1', s);
  a.track('10.0.0.1', other);
  t.equal(a.connections('10.0.0.1'), 3);
  s.emit('close');
  t.equal(a.connections('10.0.0.1'), 1, 'both counts of the socket');
  s.emit('close');
  t.equal(a.connections('10.0.0.1'), 1, 'a second close event releases nothing');
  other.emit('close');
  t.equal(a.connections('10.0.0.1'), 0);
  t.equal(a.check('10.0.0.1', l, false), null);
});

t.test('the shared table hears every local count; the check adds the others\' counts', async (t) => {
  const heard: [string, number][] = [];
  const remote = new Map<string, number>([['10.0.0.1', 2]]);
  const shared: SharedCounts = { remote: (k) => remote.get(k) ?? 0, changed: (k, n) => { heard.push([k, n]); } };
  const a = new Admission({ now: () => 0, shared });
  const l = limits({ max_connections_per_ip: 3, handshakes_per_ip: 100 });
  const s = fakeSocket();
  t.equal(a.check('10.0.0.1', l, true), null, '0 + 2 < 3');
  a.track('10.0.0.1', s);
  t.equal(a.check('10.0.0.1', l, true), 'WSLB_ERR_IP_CAP', '1 + 2 = 3');
  t.equal(a.check('::ffff:10.0.0.1', l, true), 'WSLB_ERR_IP_CAP', 'the same key, however written');
  s.emit('close');
  t.equal(a.check('10.0.0.1', l, true), null);
  t.same(heard, [['10.0.0.1', 1], ['10.0.0.1', 0]]);
});
