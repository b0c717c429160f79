/** The uses of the replicated table in process: bounded remote counts and `local + remote` in the admission check, affinity sessions arriving and awaited, admin actions in force (latest wins, adopted, never applied twice). */

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import t from 'tap';
import { Admission } from '../../src/edge/admission.js';
import { IpShare, RemoteCounts } from '../../src/cluster/ip-share.js';
import { AffinityShare, LOOKUP_MS } from '../../src/cluster/affinity-share.js';
import { AdminState } from '../../src/cluster/admin-state.js';
import type { Limits } from '../../src/config/types.js';
import type { Runtime } from '../../src/runtime.js';
import type { Server } from '../../src/pool/server.js';

t.test('remote counts are bounded; a key near its cap is not pushed out by 1-connection keys', async (t) => {
  const r = new RemoteCounts(4);
  for (const k of ['a', 'b', 'c', 'd']) r.set(k, 1);
  r.set('heavy', 9);
  t.equal(r.size, 4, 'still 4');
  t.equal(r.get('heavy'), 9, 'took the place of a 1');
  t.equal(r.get('a'), 0, 'the oldest 1 went');
  r.set('spray', 1);
  t.equal(r.get('spray'), 0, 'a 1 does not push out another 1');
  t.equal(r.dropped, 1);
  r.set('heavy', 0);
  t.equal(r.size, 3, '0 deletes');
});

t.test('the admission check reads local + the other origins\' sum; local counts are published', async (t) => {
  const ip = new IpShare('i#1.1');
  const admission = new Admission({ shared: ip });
  const other = new IpShare('i#2.2');
  const limits = { max_connections_per_ip: 10, handshakes_per_ip: 0 } as unknown as Limits;
  other.table.set('127.0.0.1', 9);
  ip.table.receive(other.table.next()!);
  t.equal(admission.check('127.0.0.1', limits, true), null, '0 + 9 < 10: admitted');
  const socket = new EventEmitter() as unknown as Socket;
  admission.track('127.0.0.1', socket);
  t.equal(admission.check('127.0.0.1', limits, true), 'WSLB_ERR_IP_CAP', '1 + 9 = 10: refused');
  t.equal(admission.check('10.0.0.1', limits, true), null, 'another address is not affected');
  t.same(ip.table.next()?.entries, [['127.0.0.1', 1]], 'the change goes out at the next tick');
  socket.emit('close');
  t.same(ip.table.next()?.entries, [['127.0.0.1', null]], 'back to 0: the row is deleted');
  other.table.delete('127.0.0.1');
  ip.table.receive(other.table.next()!);
  t.equal(admission.check('127.0.0.1', limits, true), null, 'room again');
  t.match(ip.status(), { keys_local: 0, keys_remote: 0, instances: 0 });

  // A primary's status: its workers' rows are the tree's (local), another instance's are remote.
  const primary = new IpShare('i#0');
  const w1 = new IpShare('i#1.1');
  const remote = new IpShare('j#0');
  w1.table.set('a', 3);
  remote.table.set('a', 4);
  primary.table.receive(w1.table.next()!);
  primary.table.receive(remote.table.next()!);
  t.same(primary.status(), { keys_local: 1, connections_local: 3, keys_remote: 1, connections_remote: 4, dropped: 0, instances: 1 });
  t.equal(primary.remote('a'), 7, 'the check of a process sees every other origin');
});

/** A Runtime with one engine.io route `r` over pool p (servers a, b): just what AffinityShare touches. */
function affinityRuntime(): { rt: Runtime; sessions: Map<string, Server> } {
  const sessions = new Map<string, Server>();
  const servers = new Map(['a', 'b'].map((n) => [n, { pool: 'p', name: n } as unknown as Server]));
  const route = { config: { name: 'r' } };
  const rt = {
    routes: [route],
    pools: new Map([['p', { server: (n: string) => servers.get(n) }]]),
    http: { affinity: (r: unknown) => (r === route ? { sessions } : null) },
  } as unknown as Runtime;
  return { rt, sessions };
}

t.test('affinity sessions: published when new, moved or due a refresh; others\' land in the route\'s table; a lookup waits for one on its way', async (t) => {
  const x = affinityRuntime();
  const y = affinityRuntime();
  const ax = new AffinityShare('i#1.1', x.rt, () => 60_000);
  const ay = new AffinityShare('i#2.2', y.rt, () => 60_000);
  const a = { pool: 'p', name: 'a' } as Server;
  ax.observed('r', 's1', a);
  ax.observed('r', 's1', a);
  t.equal(ax.stats.shared, 1, 'kept again within a third of the TTL: not re-published');
  ay.table.receive(ax.table.next()!);
  t.equal(y.sessions.get('s1')?.name, 'a', 'in the other process\'s route table');
  t.equal(ay.stats.received, 1);

  const waited = ay.lookup('r', 's2');
  ax.observed('r', 's2', { pool: 'p', name: 'b' } as Server);
  setTimeout(() => ay.table.receive(ax.table.next()!), 30);
  await waited;
  t.equal(y.sessions.get('s2')?.name, 'b', 'a request that waited got the session once it arrived');
  t.match(ay.stats, { lookups: 1, found: 1 });
  const started = Date.now();
  await ay.lookup('r', 'unknown');
  t.ok(Date.now() - started >= LOOKUP_MS - 5, 'an unknown session waits LOOKUP_MS at most, then picks normally');
  t.match(ay.stats, { lookups: 2, found: 1 });
  ax.observed('r', 's3', { pool: 'q', name: 'zz' } as Server);
  ay.table.receive(ax.table.next()!);
  t.equal(ay.stats.ignored, 1, 'a server unknown here is ignored');
});

t.test('admin actions: the latest wins, an instance adopts and republishes, nothing is applied twice, a fresh enable undoes nothing', async (t) => {
  const applied: string[] = [];
  const a = new AdminState('a#0', 'a', { adopt: true, apply: (p, s, act) => applied.push(`a ${act} ${p}/${s}`) });
  const b = new AdminState('b#0', 'b', { adopt: true, apply: (p, s, act) => applied.push(`b ${act} ${p}/${s}`) });
  a.issue('p', 's1', 'disable', 1000, '127.0.0.1');
  b.table.receive(a.table.next()!);
  t.same(applied, ['b disable p/s1'], 'b applies a\'s action');
  t.match(b.table.get('p/s1'), { action: 'disable', by: 'a', at: 1000, caller: '127.0.0.1' }, 'and holds it as its own row (it outlives a)');
  a.table.receive(b.table.next()!);
  t.same(applied, ['b disable p/s1'], 'the same action coming back is not applied again');
  b.issue('p', 's1', 'enable', 2000);
  a.issue('p', 's1', 'drain', 1500);   // issued earlier, published later (Redis was down)
  a.table.receive(b.table.next()!);
  b.table.receive(a.table.next()!);
  t.same(applied, ['b disable p/s1', 'a enable p/s1'], 'the later enable wins on both');
  t.same(a.inForce(), [], 'nothing in force: enable rows are not listed');

  const fresh: string[] = [];
  const c = new AdminState('c#0', 'c', { adopt: true, apply: (p, s, act) => fresh.push(`${act} ${p}/${s}`) });
  a.issue('p', 's2', 'drain', 3000);
  c.table.receive(a.table.fullOf('a#0')!);
  t.same(fresh, ['drain p/s2'], 'an instance that starts learns the actions in force, not the enables');
  t.match(c.inForce(), [{ pool: 'p', server: 's2', action: 'drain', by: 'a' }]);

  const w: string[] = [];
  const worker = new AdminState('a#1.1', 'a', { adopt: false, apply: (p, s, act) => w.push(`${act} ${p}/${s}`) });
  worker.applied('p', 's3', 4000);   // applied at once by the primary's request
  a.issue('p', 's3', 'disable', 4000);
  worker.table.receive(a.table.fullOf('a#0')!);
  t.same(w, ['drain p/s2'], 'a worker applies what it reads, except what its request applied already');
  t.equal(worker.table.get('p/s2'), undefined, 'a worker does not republish');
});

t.test('Affinity tells its observer what it learns and keeps, and which sessions it does not know', async (t) => {
  const { Affinity } = await import('../../src/http/affinity.js');
  const { Server } = await import('../../src/pool/server.js');
  const a = new Server('p', { name: 'a', url: 'ws://127.0.0.1:1', host: '127.0.0.1', port: 1, tls: false, weight: 1 });
  const seen: string[] = [];
  const eio = new Affinity({ kind: 'engine.io' }, () => 60_000);
  eio.observer = (session, server) => seen.push(`${session}@${server.name}`);
  const poll = { url: '/socket.io/?EIO=4&transport=polling&sid=s1', method: 'GET', headers: {} };
  t.equal(eio.unknownSession(poll), 's1', 'unknown here: a lookup candidate');
  eio.learn('s1', a);
  t.equal(eio.unknownSession(poll), undefined, 'known');
  eio.chosen(poll, a, false);
  t.same(seen, ['s1@a', 's1@a'], 'learnt, then kept');
  const cookie = new Affinity({ kind: 'cookie', cookie: 'srv' }, () => 60_000);
  t.equal(cookie.unknownSession(poll), undefined, 'cookies need no lookup');
  const sockjs = new Affinity({ kind: 'sockjs' }, () => 60_000);
  sockjs.observer = (session) => seen.push(session);
  sockjs.chosen({ url: '/echo/1/x/xhr', method: 'POST', headers: {} }, a, false);
  t.equal(seen.at(-1), '1/x', 'sockjs: learnt on first sight');
});

