/** Passive outlier ejection through a real balancer: a server whose health is fine but whose upgrades fail is ejected with backoff, within the cap. */

import t from 'tap';
import WebSocket from 'ws';
import { startBackend } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { connectNamed, startChildServer } from '../helpers/server-process.js';

/** One client attempt: the greeting server's name, or `HTTP <status>` when the upgrade was refused. */
async function attempt(port: number): Promise<string> {
  try {
    const [ws, name] = await connectNamed(port);
    ws.close();
    return name;
  } catch (err) {
    const m = /Unexpected server response: (\d+)/.exec((err as Error).message);
    return m ? `HTTP ${m[1]}` : (err as Error).message;
  }
}

t.test('HTTP health OK but every upgrade fails: ejected, retried after the ejection, ejected again for twice as long', async (t) => {
  const bad = await startChildServer(t, 'bad', 'fail-upgrade');
  const good = await startChildServer(t, 'good');
  const b = await startBalancer(t, {
    servers: [{ name: 'bad', url: bad.url }, { name: 'good', url: good.url }],
    retries: 0,
    pool: {
      // The http check must keep passing on a loaded machine: a 1 s timeout. The ejection must outlast
      // four connects made while it holds: 1.5 s (at 400 ms a loaded machine let it end first).
      health: { check: 'http', interval: '100ms', timeout: '1s' },
      outlier: { failures: 3, ejection: '1500ms', max_ejected_percent: 50 },
    },
  });
  const pool = b.runtime.pools.get('p')!;
  const server = pool.server('bad')!;
  t.equal(server.state, 'up', 'its http health check passes');

  // Each duration is timed from before the attempt that ejected the server, so 'never shorter' holds under load.
  const seen: string[] = [];
  let ejectedAt = 0;
  while (!server.ejected && seen.length < 20) { ejectedAt = performance.now(); seen.push(await attempt(b.proxyPort())); }
  t.equal(seen.filter((s) => s === 'HTTP 500').length, 3, `ejected after 3 failures in a row: ${seen.join(',')}`);
  t.equal(server.state, 'ejected');
  t.equal(server.reason, 'ejected: 3 consecutive upgrade failures (last: HTTP 500); ejection 1 for 1500ms');
  const res = await fetch(`http://127.0.0.1:${b.adminPort()}/status`);
  const doc = (await res.json()) as { pools: { p: { servers: { name: string; state: string; reason: string }[] } } };
  t.match(doc.pools.p.servers.find((s) => s.name === 'bad'), { state: 'ejected', reason: /3 consecutive upgrade failures/ });

  for (let i = 0; i < 4; i++) t.equal(await attempt(b.proxyPort()), 'good', 'ejected: clients go elsewhere');
  await waitFor(t, () => !server.ejected, { ms: 10_000, what: 'un-ejected by its timer (a passing http check does not end it early)' });
  const firstMs = performance.now() - ejectedAt;
  // Never shorter; the upper bound leaves room for a loaded machine and stays below the second, doubled ejection.
  t.ok(firstMs >= 1480 && firstMs < 2900, `first ejection lasted ${firstMs.toFixed(0)} ms`);

  const again: string[] = [];
  let secondAt = 0;
  while (!server.ejected && again.length < 20) { secondAt = performance.now(); again.push(await attempt(b.proxyPort())); }
  t.ok(server.ejected, `retried and ejected again: ${again.join(',')}`);
  t.match(server.reason, /ejection 2 for 3s/);
  await waitFor(t, () => !server.ejected, { ms: 15_000, what: 'un-ejected after the second ejection' });
  const secondMs = performance.now() - secondAt;
  t.ok(secondMs >= 2980 && secondMs < 4500, `second ejection lasted ${secondMs.toFixed(0)} ms (backoff x2)`);
});

t.test('max_ejected_percent: with every server failing, only the share allowed is ejected', async (t) => {
  const bad = [await startChildServer(t, 'x-1', 'fail-upgrade'), await startChildServer(t, 'x-2', 'fail-upgrade'), await startChildServer(t, 'x-3', 'fail-upgrade')];
  const b = await startBalancer(t, {
    servers: bad.map((s) => ({ name: s.name, url: s.url })),
    retries: 0,
    pool: { outlier: { failures: 2, ejection: '10s', max_ejected_percent: 50 } },
  });
  const pool = b.runtime.pools.get('p')!;
  for (let i = 0; i < 15; i++) t.equal(await attempt(b.proxyPort()), 'HTTP 500');
  t.equal(pool.servers.filter((s) => s.ejected).length, 1, '2 of 3 would exceed 50%');
  t.ok(pool.outlier.capped > 0, 'refused ejections are counted');
  t.equal(pool.ready().length, 2, 'the others keep taking traffic');
});

t.test('connect failures count too; the client is retried on another server meanwhile', async (t) => {
  const refused = await startBackend({ mode: 'refuse' });
  const good = await startChildServer(t, 'c-good');
  const b = await startBalancer(t, {
    servers: [{ name: 'dead', url: refused.url }, { name: 'c-good', url: good.url }],
    retries: 1,
    pool: { outlier: { failures: 2, ejection: '30s', max_ejected_percent: 50 } },
  });
  const dead = b.runtime.pools.get('p')!.server('dead')!;
  for (let i = 0; i < 6; i++) t.equal(await attempt(b.proxyPort()), 'c-good', 'every client lands via retry');
  t.ok(dead.ejected);
  t.match(dead.reason, /^ejected: 2 consecutive upgrade failures \(last: connect ECONNREFUSED\)/);
  t.ok(dead.connectFailures >= 2 && dead.connectFailures <= 3, `${dead.connectFailures} connect attempts, then none`);
});

t.test('a websocket health check that passes ends an ejection early', async (t) => {
  const good = await startChildServer(t, 'w-1');
  const other = await startChildServer(t, 'w-2');
  const b = await startBalancer(t, {
    servers: [{ name: 'w-1', url: good.url }, { name: 'w-2', url: other.url }],
    // The check must pass on a loaded machine (1 s timeout); the 60 s ejection tells an early end from its timer.
    pool: { health: { check: 'websocket', interval: '100ms', timeout: '1s' }, outlier: { failures: 1, ejection: '60s', max_ejected_percent: 50 } },
  });
  const pool = b.runtime.pools.get('p')!;
  const s = pool.server('w-1')!;
  pool.outlier.failure(s, 'HTTP 503');   // as if a handshake had just failed
  t.equal(s.state, 'ejected');
  await waitFor(t, () => s.state === 'up', { ms: 10_000, what: 'the next websocket check proves upgrades work again' });
  const ws = new WebSocket(`ws://127.0.0.1:${b.proxyPort()}/`, { perMessageDeflate: false });
  await new Promise((r) => ws.once('message', r));
  ws.close();
});
