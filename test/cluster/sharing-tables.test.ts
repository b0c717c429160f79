/** The sharing tables in process: bounded remote counts, `local + remote` in the admission check, the primary's per-worker sums, the affinity table and lookups. */

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import t from 'tap';
import { Admission } from '../../src/edge/admission.js';
import { IpShareLocal, IpSharePrimary, RemoteCounts } from '../../src/cluster/ip-share.js';
import { AffinityPrimary, ExpiringMap } from '../../src/cluster/affinity-share.js';
import type { KeyCounts } from '../../src/cluster/sharing-protocol.js';
import type { Limits } from '../../src/config/types.js';
import { redisSkip } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const tick = () => new Promise((r) => setImmediate(r));

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
  t.equal(r.total(), 3);
});

t.test('the admission check reads local + remote; local changes are batched out', async (t) => {
  const admission = new Admission();
  const flushed: KeyCounts[] = [];
  const ip = new IpShareLocal(admission, (c) => flushed.push(c), 10);
  t.teardown(() => ip.close());
  const limits = { max_connections_per_ip: 10, handshakes_per_ip: 0 } as unknown as Limits;
  ip.apply([['127.0.0.1', 9]]);
  t.equal(admission.check('127.0.0.1', limits, true), null, '0 + 9 < 10: admitted');
  const socket = new EventEmitter() as unknown as Socket;
  admission.track('127.0.0.1', socket);
  t.equal(admission.check('127.0.0.1', limits, true), 'WSLB_ERR_IP_CAP', '1 + 9 = 10: refused');
  t.equal(admission.check('10.0.0.1', limits, true), null, 'another address is not affected');
  await new Promise((r) => setTimeout(r, 30));
  t.same(flushed, [[['127.0.0.1', 1]]], 'the change went out');
  socket.emit('close');
  ip.apply([['127.0.0.1', 0]]);
  t.equal(admission.check('127.0.0.1', limits, true), null, 'room again');
  t.same(ip.takeChanges(), [['127.0.0.1', 0]]);
  t.match(ip.status(), { keys_local: 0, keys_remote: 0 });
});

t.test('the primary sends each worker the others\' sums for changed keys', async (t) => {
  const sent: Record<number, KeyCounts[]> = { 1: [], 2: [] };
  const changedTotals: string[] = [];
  const p = new IpSharePrimary((id, c) => sent[id]!.push(c), () => [1, 2]);
  p.onTotal = (k) => changedTotals.push(k);
  p.fromWorker(1, [['a', 3]]);
  p.fromWorker(2, [['a', 2], ['b', 1]]);
  await tick();
  t.same(sent[1], [[['a', 2], ['b', 1]]], 'worker 1 sees worker 2\'s');
  t.same(sent[2], [[['a', 3], ['b', 0]]], 'worker 2 sees worker 1\'s');
  t.same(changedTotals, ['a', 'a', 'b'], 'totals changes reported for Redis');
  p.setInstances(new Map([['a', 4]]));
  await tick();
  t.same(sent[1]!.at(-1), [['a', 6]], 'other instances are added');
  p.workerGone(2);
  await tick();
  t.same(sent[1]!.at(-1), [['a', 4], ['b', 0]], 'a dead worker\'s connections no longer count');
  t.same(p.snapshotFor(3), [['a', 7]], 'a new worker gets the whole farm');
  t.match(p.status(), { keys_local: 1, connections_local: 3, keys_remote: 1, connections_remote: 4 });
});

t.test('affinity entries: a bounded expiring table, forwarded to the other workers, answering lookups', async (t) => {
  let now = 0;
  const m = new ExpiringMap(() => 100, 2);
  m.set('a', 'p/s1', now);
  m.set('b', 'p/s2', now);
  m.set('c', 'p/s1', now);
  t.equal(m.size, 2, 'bounded');
  t.equal(m.get('a', now), undefined, 'the least recently set went');
  now = 150;
  t.equal(m.get('c', now), undefined, 'expired');

  const sent: { id: number; m: unknown }[] = [];
  const p = new AffinityPrimary((id, msg) => sent.push({ id, m: msg }), () => [1, 2], () => 60_000);
  p.learnt(1, 1, 'r', 'sid1', 'p/s1');
  t.same(sent, [{ id: 2, m: { t: 'affinity', route: 'r', session: 'sid1', server: 'p/s1' } }], 'forwarded to the other worker only');
  await p.lookup(2, 7, 'r', 'sid1');
  await p.lookup(2, 8, 'r', 'nope');
  t.same(sent.slice(1), [
    { id: 2, m: { t: 'affinity-found', ref: 7, server: 'p/s1' } },
    { id: 2, m: { t: 'affinity-found', ref: 8, server: null } },
  ], 'lookups answered from the table (no Redis: a miss is null)');
  t.match(p.stats, { learnt: 1, lookups: 2, found: 1 });
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

t.test('through a real Redis: per-IP hashes read back by the other instance, affinity SET/PUBLISH/GET; Redis gone: empty sums', { skip: await redisSkip({ spawns: true }) }, async (t) => {
  const { startRedis } = await import('./helpers.js');
  const { RedisLink } = await import('../../src/cluster/redis-link.js');
  const { IpRedis } = await import('../../src/cluster/ip-redis.js');
  const { AffinityRedis } = await import('../../src/cluster/affinity-share.js');
  const pino = (await import('pino')).default;
  const redis = await startRedis(t);
  const url = `redis://127.0.0.1:${redis.port}`;
  const log = pino({ level: 'silent' });
  const [lx, ly] = [new RedisLink(url, log), new RedisLink(url, log)];
  t.teardown(async () => { await lx.close(); await ly.close(); });
  const heard: string[] = [];
  const ax = new AffinityRedis(lx, 'x', () => 60_000, () => {});
  const ay = new AffinityRedis(ly, 'y', () => 60_000, (r, s, v) => heard.push(`${r}:${s}=${v}`));
  lx.start((sub) => ax.subscribe(sub));
  ly.start((sub) => ay.subscribe(sub));
  await waitFor(t, () => lx.client.isReady && ly.client.isReady && ly.sub.isReady, { ms: 5000, what: 'connected' });
  // RedisShare keeps the member set; here the test does.
  await lx.client.zAdd('wslb:instances', [{ score: Date.now(), value: 'x' }, { score: Date.now(), value: 'y' }]);

  const localX = new Map([['1.2.3.4', 3]]);
  let sumsY = new Map<string, number>();
  const ix = new IpRedis(lx, 'x', { local: () => localX, remote: () => {} });
  const iy = new IpRedis(ly, 'y', { local: () => new Map(), remote: (s) => { sumsY = s; } });
  await ix.tick();
  await iy.tick();
  t.same([...sumsY], [['1.2.3.4', 3]], 'y reads x\'s counts');
  t.equal(iy.peers, 1);
  localX.set('1.2.3.4', 1);
  localX.set('5.6.7.8', 2);
  ix.changed('1.2.3.4');
  ix.changed('5.6.7.8');
  await ix.tick();
  await iy.tick();
  t.same(Object.fromEntries(sumsY), { '1.2.3.4': 1, '5.6.7.8': 2 }, 'changed fields written');
  localX.delete('1.2.3.4');
  ix.changed('1.2.3.4');
  await ix.tick();
  await iy.tick();
  t.same(Object.fromEntries(sumsY), { '5.6.7.8': 2 }, 'a key at 0 leaves the hash');

  ax.learnt('r', 'sid1', 'p/s1');
  await waitFor(t, () => heard.length === 1, { ms: 3000, what: 'published to the other instance' });
  t.same(heard, ['r:sid1=p/s1']);
  t.equal(await ay.lookup('r', 'sid1'), 'p/s1', 'GET finds it');
  t.equal(await ay.lookup('r', 'other'), null, 'unknown: null');
  t.ok(await lx.client.pTTL(AffinityRedis.key('r', 'sid1')) > 50_000, 'expires with the session TTL');

  await ix.close();
  await iy.tick();
  t.same([...sumsY], [], 'x left: its counts are gone at once');
  t.ok(ly.up, 'up');
  await redis.stop();
  sumsY = new Map([['stale', 1]]);
  await iy.tick();
  t.same([...sumsY], [], 'Redis gone: empty sums (per-instance caps)');
  t.notOk(ly.up, 'down');
  t.equal(await ay.lookup('r', 'sid1'), null, 'a lookup with Redis gone is a miss, at once');
});
