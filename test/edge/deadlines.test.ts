// The shared deadline queue: fires each uncancelled deadline once, never before it is due, in due order.
import t from 'tap';
import { Deadlines } from '../../src/edge/deadlines.js';
import { waitFor } from '../helpers/wait.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('a deadline fires once, not before its time; a cancelled one never fires', async (t) => {
  const q = new Deadlines();
  const fired: [string, number][] = [];
  const t0 = performance.now();
  const at = (name: string) => ({ expire: () => fired.push([name, performance.now() - t0]) });
  q.arm(30, at('a'));
  const b = q.arm(40, at('b'));
  q.arm(50, at('c'));
  t.equal(q.size, 3);
  q.cancel(b);
  q.cancel(b);   // twice is harmless
  t.equal(q.size, 2);
  await sleep(120);
  t.same(fired.map((f) => f[0]), ['a', 'c']);
  t.ok(fired[0]![1] >= 30, `a after 30 ms (${fired[0]![1]})`);
  t.ok(fired[1]![1] >= 50, `c after 50 ms (${fired[1]![1]})`);
  t.equal(q.size, 0);
});

t.test('a shorter deadline armed after a longer one fires first (a reload that shortens a timeout)', async (t) => {
  const q = new Deadlines();
  const fired: string[] = [];
  q.arm(80, { expire: () => fired.push('long') });
  q.arm(20, { expire: () => fired.push('short') });
  await sleep(50);
  t.same(fired, ['short']);
  await sleep(80);
  t.same(fired, ['short', 'long']);
});

t.test('the queue works again after it emptied, and an expire may arm and cancel others', async (t) => {
  const q = new Deadlines();
  const fired: string[] = [];
  const x = q.arm(10, { expire: () => fired.push('x') });
  q.cancel(x);
  t.equal(q.size, 0);
  let victim: ReturnType<Deadlines['arm']> | null = null;
  q.arm(20, {
    expire: () => {
      fired.push('first');
      q.cancel(victim!);
      q.arm(10, { expire: () => fired.push('rearmed') });
    },
  });
  victim = q.arm(25, { expire: () => fired.push('victim') });
  // Waited for rather than slept: 'rearmed' is armed 10 ms after 'first' fires, so after a stall of the
  // process it can come later than any fixed sleep begun before it. A victim that fired would come first (due at 25 ms).
  await waitFor(t, () => fired.includes('rearmed'), { what: 'the deadline armed from an expire fired' });
  t.same(fired, ['first', 'rearmed']);
  t.equal(q.size, 0);
});

t.test('many deadlines: every uncancelled one fires exactly once', async (t) => {
  const q = new Deadlines();
  const count = new Map<number, number>();
  const handles = [];
  for (let i = 0; i < 3000; i++) handles.push(q.arm(5 + (i % 7), { expire: () => count.set(i, (count.get(i) ?? 0) + 1) }));
  for (let i = 0; i < 3000; i += 2) q.cancel(handles[i]!);
  await sleep(80);
  t.equal(count.size, 1500);
  t.ok([...count].every(([i, n]) => i % 2 === 1 && n === 1));
  t.equal(q.size, 0);
});
