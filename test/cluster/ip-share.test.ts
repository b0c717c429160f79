/** `max_connections_per_ip` across the workers of a process tree and across instances sharing a Redis; Redis down: per-instance caps, nothing hangs. */

import t, { type Test } from 'tap';
import WebSocket from 'ws';
import { startChildServer } from '../helpers/server-process.js';
import { clusterYaml, startInstance, startRedis, status, type Instance } from './helpers.js';
import { redisSkip } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const CAP = 10;

interface IpStatus { keys_local: number; connections_local: number; keys_remote: number; connections_remote: number }

/** An open client, or the HTTP status that refused it (bounded: a hang fails the test). */
function attempt(port: number): Promise<WebSocket | number> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('no answer in 10 s')); }, 10_000);
    ws.once('open', () => { clearTimeout(timer); resolve(ws); });
    ws.once('unexpected-response', (req, res) => { clearTimeout(timer); res.resume(); req.destroy(); resolve(res.statusCode ?? 0); });
    ws.once('error', (err) => { clearTimeout(timer); reject(err); });
  });
}

async function ip(inst: Instance): Promise<IpStatus> {
  return ((await status(inst.admin))['sharing'] as { ip: IpStatus }).ip;
}

async function farm(t: Test) {
  const backs = await Promise.all(['s1', 's2'].map((n) => startChildServer(t, n)));
  return backs.map((b) => ({ name: b.name, url: b.url }));
}

const capLimits = { limits: { handshakes_per_ip: 100_000, max_connections_per_ip: CAP } };

t.test('2 workers: the cap counts the address\'s connections on both workers', { timeout: 90_000 }, async (t) => {
  const list = await farm(t);
  const inst = await startInstance(t, clusterYaml(list, { workers: 2, ...capLimits }), 2);
  const open: WebSocket[] = [];
  t.teardown(() => { for (const c of open) c.terminate(); });
  const refused: number[] = [];
  // One at a time, each waiting until the primary holds the new count (the sharing lag is covered, not raced).
  const settled = (n: number, what: string) => waitFor(t, async () => (await ip(inst)).connections_local === n, { ms: 10_000, what });
  for (let i = 0; i < 20; i++) {
    const r = await attempt(inst.proxy);
    if (typeof r === 'number') refused.push(r);
    else open.push(r);
    await settled(open.length, `count settled at ${open.length}`);
  }
  t.equal(open.length, CAP, `exactly ${CAP} of 20 admitted`);
  t.same(refused, Array(20 - CAP).fill(429), 'the rest refused with 429 (WSLB_ERR_IP_CAP)');
  const workers = (await status(inst.admin))['workers'] as { connections: number }[];
  t.ok(workers.every((w) => w.connections > 0), `both workers hold clients: ${workers.map((w) => w.connections).join('+')}`);

  for (const ws of open.splice(0, 3)) ws.close();
  await settled(CAP - 3, 'closes are shared too');
  for (let i = 0; i < 3; i++) {
    const r = await attempt(inst.proxy);
    t.type(r, WebSocket, `admitted again after closes (${i + 1})`);
    if (typeof r !== 'number') open.push(r);
    await settled(open.length, `count settled at ${open.length}`);
  }
  t.equal(await attempt(inst.proxy), 429, 'full again');
});

t.test('2 instances and a Redis: one cap across both; Redis down: per-instance caps, nothing hangs', { timeout: 120_000, skip: await redisSkip({ spawns: true }) }, async (t) => {
  const redis = await startRedis(t);
  const list = await farm(t);
  const cfg = (name: string) => clusterYaml(list, { ...capLimits, cluster: { redis: `redis://127.0.0.1:${redis.port}`, name } });
  const [a, b] = await Promise.all([startInstance(t, cfg('a')), startInstance(t, cfg('b'))]);
  const open: WebSocket[] = [];
  t.teardown(() => { for (const c of open) c.terminate(); });
  // Settled: each instance holds the other's count as remote, and together they hold `n`.
  const settled = (n: number, what: string) => waitFor(t, async () => {
    const [x, y] = [await ip(a), await ip(b)];
    return x.connections_local + y.connections_local === n && x.connections_remote === y.connections_local && y.connections_remote === x.connections_local;
  }, { ms: 15_000, what });
  await settled(0, 'both share through Redis');
  const refused: number[] = [];
  // Batches of one client per instance (within one instance its own count is exact), settled between batches.
  for (let i = 0; i < 10; i++) {
    for (const inst of [a, b]) {
      const r = await attempt(inst.proxy);
      if (typeof r === 'number') refused.push(r);
      else open.push(r);
    }
    await settled(open.length, `count settled at ${open.length}`);
  }
  t.equal(open.length, CAP, `exactly ${CAP} of 20 admitted across both instances`);
  t.same(refused, Array(20 - CAP).fill(429), 'the rest refused with 429');
  const doc = (await status(a.admin))['sharing'] as { redis: string; ip: { instances: number } };
  t.equal(doc.redis, 'ok');
  t.equal(doc.ip.instances, 1, 'a reads b\'s counts');

  for (const ws of open.splice(0)) ws.close();
  await settled(0, 'closes are shared too');

  await redis.stop();
  await waitFor(t, async () => {
    const [x, y] = [await status(a.admin), await status(b.admin)];
    return [x, y].every((d) => (d['sharing'] as { redis: string }).redis !== 'ok');
  }, { ms: 10_000, what: 'both report Redis unavailable' });
  t.ok(await a.cli.waitFor((l) => l['msg'] === 'redis unavailable: balancing on local numbers'), 'a logged it');
  for (const inst of [a, b]) {
    let admitted = 0;
    for (let i = 0; i < CAP + 2; i++) {
      const r = await attempt(inst.proxy);
      if (typeof r === 'number') t.equal(r, 429);
      else { admitted++; open.push(r); }
    }
    t.equal(admitted, CAP, `port ${inst.proxy}: its own ${CAP} (per-instance cap while Redis is away)`);
  }
});
