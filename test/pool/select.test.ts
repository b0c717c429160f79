/** Selection: ready minus tried, the pin before the algorithm, at most retries + 1 picks, the hash key read once, and the outlier verdicts. */

import t from 'tap';
import { createBalancer, defaultDeps, needsOf } from '../../src/balancing/index.js';
import type { Balancer, PickContext, ServerView } from '../../src/balancing/balancer.js';
import { loadConfigText } from '../../src/config/load.js';
import { Pool } from '../../src/pool/pool.js';
import { Selection, type Pinning } from '../../src/pool/select.js';
import type { Server } from '../../src/pool/server.js';

function pool(algorithm = 'round-robin', retries = 2, extra = ''): Pool {
  const c = loadConfigText(
    `pools:\n  p:\n    algorithm: ${algorithm}\n    retries: ${retries}\n    health: { check: none, interval: 2500ms }\n${extra}` +
    '    servers: [{ name: a, url: "ws://127.0.0.1:1" }, { name: b, url: "ws://127.0.0.1:2" }, { name: c, url: "ws://127.0.0.1:3" }]\n' +
    'routes: [{ pool: p }]\n', 'b.yaml', {});
  const p = new Pool(c.pools['p']!);
  t.teardown(() => p.destroy());
  return p;
}

const req = { url: '/?room=r1', headers: {} };

t.test('each pick skips the servers already tried; retries + 1 picks at most', async (t) => {
  const p = pool('round-robin', 1);
  const s = new Selection({ pool: p, balancer: p.balancer }, req, '10.0.0.1', null);
  const got = [s.next()?.name, s.next()?.name, s.next()?.name];
  t.same(got, ['a', 'b', undefined], 'retries: 1 -> two picks');
  t.equal(s.lastCode, 'WSLB_ERR_NO_SERVER');
  t.equal(s.retryAfter(), '3', 'health interval 2.5 s, rounded up');
});

t.test('no ready server left: nothing, whatever the retries', async (t) => {
  const p = pool('round-robin', 5);
  p.servers[1]!.status.setEnabled(false);
  const s = new Selection({ pool: p, balancer: p.balancer }, req, '10.0.0.1', null);
  t.same([s.next()?.name, s.next()?.name, s.next()?.name], ['a', 'c', undefined]);
});

t.test('the pin wins while its server is ready and untried; the algorithm picks otherwise', async (t) => {
  const p = pool();
  const pin: Pinning = { pinned: (_req, servers) => servers.find((x) => x.name === 'c') };
  const s = new Selection({ pool: p, balancer: p.balancer }, req, '10.0.0.1', pin);
  t.same([s.next()?.name, s.next()?.name], ['c', 'a'], 'c tried: round-robin from then on');
});

t.test('the key is read once from the request, as the route algorithm declares', async (t) => {
  const seen: (string | undefined)[] = [];
  const p = pool();
  const hash = createBalancer({ name: 'hash', options: { key: 'query:room' } }, defaultDeps);
  const spy: Balancer = { name: 'spy', pick: <S extends ServerView>(ctx: PickContext<S>): S | undefined => { seen.push(ctx.key); return hash.pick(ctx); } };
  const s = new Selection({ pool: p, balancer: spy, key: needsOf({ name: 'hash', options: { key: 'query:room' } }).key }, req, '10.0.0.1', null);
  const first = s.next();
  const second = s.next();
  t.same(seen, ['r1', 'r1']);
  t.not(first, second, 'the retry hashes the same key over fewer servers');
});

t.test('connect failures count, feed outlier detection and become the answer', async (t) => {
  const p = pool('round-robin', 2, '    outlier: { failures: 2, ejection: 10s, max_ejected_percent: 100 }\n');
  const s = new Selection({ pool: p, balancer: p.balancer }, req, '10.0.0.1', null);
  const a = s.next() as Server;
  s.connectFailed('ECONNREFUSED');
  t.equal(a.connectFailures, 1);
  t.equal(s.lastCode, 'WSLB_ERR_CONNECT');
  s.failed(a, 'invalid 101: no accept');
  t.equal(a.state, 'ejected');
  t.match(a.reason, /2 consecutive upgrade failures \(last: invalid 101: no accept\)/);
  const b = s.next() as Server;
  s.answered(b, 503);
  s.answered(b, 404);
  s.answered(b, 502);
  t.equal(b.state, 'up', 'a non-5xx answer broke the streak');
  s.succeeded(b);
  s.answered(b, 500);
  t.equal(b.state, 'up');
});
