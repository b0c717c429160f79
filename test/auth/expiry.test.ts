// The one close_on_expiry watch: closes in deadline order with 1008, never early, skips finished tunnels, holds one timer, and stays within twice the open tunnels.
import t from 'tap';
import { ExpiryWatch, type Expirable } from '../../src/auth/expiry.js';
import { waitFor } from '../helpers/wait.js';

class Fake implements Expirable {
  finished = false;
  closed: { code: number; reason?: string | undefined } | null = null;
  constructor(readonly name: string, readonly log: string[] = []) {}
  close(code: number, reason?: string): void {
    this.closed = { code, reason };
    this.log.push(this.name);
  }
}

t.test('closes in order of expiry, each only once its time has passed', async (t) => {
  let now = 1000;
  const w = new ExpiryWatch(() => now);
  t.teardown(() => w.clear());
  const order: string[] = [];
  const c = new Fake('c', order);
  const a = new Fake('a', order);
  const b = new Fake('b', order);
  w.add(c, 5000);
  w.add(a, 2000);
  w.add(b, 3000);
  now = 1999;
  w.fire();
  t.same(order, [], 'nothing before its time');
  now = 3000;
  w.fire();
  t.same(order, ['a', 'b']);
  t.same(a.closed, { code: 1008, reason: 'token expired' });
  now = 10_000;
  w.fire();
  t.same(order, ['a', 'b', 'c']);
  t.equal(w.size, 0);
});

t.test('a tunnel already finished is not closed', async (t) => {
  let now = 0;
  const w = new ExpiryWatch(() => now);
  t.teardown(() => w.clear());
  const f = new Fake('f');
  w.add(f, 10);
  f.finished = true;
  now = 20;
  w.fire();
  t.equal(f.closed, null);
});

t.test('the real timer fires at the earliest end, re-armed when an earlier one arrives', async (t) => {
  const w = new ExpiryWatch();
  t.teardown(() => w.clear());
  const late = new Fake('late');
  const early = new Fake('early');
  w.add(late, Date.now() + 60_000);
  w.add(early, Date.now() + 30);
  await waitFor(t, () => early.closed !== null, { what: 'the earlier entry closed by the one timer' });
  t.equal(late.closed, null, 'the later one still waits');
  t.equal(w.size, 1);
});

t.test('finished tunnels are dropped at compaction: the heap stays within twice the open ones', async (t) => {
  const w = new ExpiryWatch(() => 0);
  t.teardown(() => w.clear());
  const open: Fake[] = [];
  let peak = 0;
  for (let i = 0; i < 20_000; i++) {
    const f = new Fake(String(i));
    w.add(f, 1e12 + i);
    if (i % 10 === 0) open.push(f); else f.finished = true;   // 9 of 10 close before they expire
    peak = Math.max(peak, w.size);
  }
  t.ok(peak <= Math.max(1024, 2 * open.length) + 1, `peak ${peak} within bound for ${open.length} open`);
  t.ok(w.size < 20_000 / 2, `size ${w.size} after 20,000 adds`);
});

t.test('an end far in the future does not overflow the timer', async (t) => {
  const w = new ExpiryWatch();
  t.teardown(() => w.clear());
  const f = new Fake('far');
  w.add(f, Date.now() + 100 * 24 * 3600 * 1000);
  await new Promise((r) => setTimeout(r, 20));
  t.equal(f.closed, null, 'not closed early by a clamped delay');
});
