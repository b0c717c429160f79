/** The session table: lookups refresh, idle sessions expire, the size cap drops the least recently seen. */

import t from 'tap';
import { Server } from '../../src/pool/server.js';
import { SessionTable } from '../../src/http/sessions.js';

const server = (name: string): Server => new Server('p', { name, url: `ws://127.0.0.1:1/${name}`, host: '127.0.0.1', port: 1, tls: false, weight: 1 });

t.test('expiry is idle time, refreshed by every hit', async (t) => {
  let now = 0;
  const table = new SessionTable({ max: 10, ttlMs: () => 100, now: () => now });
  const a = server('a');
  table.set('s1', a);
  now = 90;
  t.equal(table.get('s1'), a, 'seen at 90');
  now = 180;
  t.equal(table.get('s1'), a, 'still there: idle 90 < 100');
  now = 280;
  t.equal(table.get('s1'), undefined, 'idle 100: forgotten');
  t.equal(table.size, 0);
});

t.test('bounded: the least recently seen goes first; expired entries are trimmed on insert', async (t) => {
  let now = 0;
  const table = new SessionTable({ max: 3, ttlMs: () => 1000, now: () => now });
  const a = server('a');
  for (const id of ['1', '2', '3']) { table.set(id, a); now++; }
  t.equal(table.get('1'), a, 'touch 1: now 2 is the oldest');
  table.set('4', a);
  t.equal(table.size, 3);
  t.equal(table.get('2'), undefined, '2 evicted');
  t.equal(table.get('1'), a);
  now = 5000;
  table.set('5', a);
  t.equal(table.size, 1, 'every expired entry trimmed');
  table.delete('5');
  t.equal(table.size, 0);
});
