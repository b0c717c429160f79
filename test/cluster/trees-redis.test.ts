/** The deployment shape of deploy/compose.yaml: two instances, each a process tree of `workers: 2`, sharing one Redis: farm-wide least-connections over four accepting processes, and an admin drain on one tree reaching every worker of the other. */

import t from 'tap';
import { connectNamed } from '../helpers/server-process.js';
import { post, servers, redisFarm, status } from './helpers.js';
import { redisSkip } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

t.test('two process trees of 2 workers each and a Redis', { skip: await redisSkip({ spawns: true }) }, async (t) => {
  const { a, b, clients } = await redisFarm(t, { workers: 2 });
  const cluster = async (admin: number) => ((await status(admin))['cluster'] as { sharing: string; instances: unknown[] });
  await waitFor(t, async () => (await cluster(a.admin)).instances.length === 2 && (await cluster(b.admin)).instances.length === 2, { ms: 15_000, what: 'each tree lists both' });

  // s3 disabled: a's 60 clients fill s1 and s2 only (30/30), whichever of a's workers takes them.
  t.equal(await post(a.admin, '/pools/p/servers/s3/disable'), 204);
  await waitFor(t, async () => servers(await status(b.admin), 'state')['s3'] === 'disabled', { ms: 10_000, what: 'disable on a reaches b' });
  for (let i = 0; i < 60; i++) clients.push((await connectNamed(a.proxy))[0]);
  t.equal(await post(b.admin, '/pools/p/servers/s3/enable'), 204);
  await waitFor(t, async () => servers(await status(a.admin), 'state')['s3'] === 'up', { ms: 10_000, what: 'enable on b reaches a' });
  const workersOf = async (admin: number) => ((await status(admin))['workers'] as { farm_active: Record<string, number> | null; connections: number | null }[]);
  const onA = servers(await status(a.admin), 'active') as Record<string, number>;
  t.equal(onA['s1']! + onA['s2']!, 60, `a placed its 60 on s1 and s2 only (${onA['s1']}/${onA['s2']})`);
  await waitFor(t, async () => (await workersOf(b.admin)).every((w) => ['s1', 's2', 's3'].every((n) => w.farm_active?.[`p/${n}`] === onA[n])), { ms: 15_000, what: 'every worker of b reads a\'s counts (workers -> primary -> Redis -> primary -> workers)' });

  // 90 clients on b: farm-wide least-connections fills s3 first: 50/50/50 (b alone would make 30/30/30 on top: 60/60/30).
  // In batches of 10, each once b's workers read the farm's total: a worker learns its sibling's
  // picks ~100 ms late (more on a loaded machine), and this checks the decisions, not that lag.
  const viewTotal = (w: { farm_active: Record<string, number> | null }): number => ['p/s1', 'p/s2', 'p/s3'].reduce((n, k) => n + (w.farm_active?.[k] ?? 0), 0);
  for (let batch = 1; batch <= 9; batch++) {
    for (let i = 0; i < 10; i++) clients.push((await connectNamed(b.proxy))[0]);
    await waitFor(t, async () => (await workersOf(b.admin)).every((w) => viewTotal(w) === 60 + 10 * batch), { what: `b's workers read the farm's total of ${60 + 10 * batch}` });
  }
  t.ok((await workersOf(b.admin)).every((w) => (w.connections ?? 0) > 0), 'both of b\'s workers took clients');
  let total: Record<string, unknown> = {};
  await waitFor(t, async () => {
    const la = servers(await status(a.admin), 'active');
    const lb = servers(await status(b.admin), 'active');
    total = Object.fromEntries(['s1', 's2', 's3'].map((n) => [n, (la[n] as number) + (lb[n] as number)]));
    return (total['s1'] as number) + (total['s2'] as number) + (total['s3'] as number) === 150;
  }, { what: 'a and b hold 150 clients together' });
  for (const n of ['s1', 's2', 's3']) t.ok(Math.abs((total[n] as number) - 50) <= 5, `${n}: ${total[n]} of 150 (50 +-5)`);

  // A drain on b reaches every worker of a.
  t.equal(await post(b.admin, '/pools/p/servers/s1/drain'), 204);
  await waitFor(t, async () => servers(await status(a.admin), 'state')['s1'] === 'draining', { ms: 10_000, what: 'drain on b reaches a' });
  const [ws, name] = await connectNamed(a.proxy);
  clients.push(ws);
  t.not(name, 's1', 'a new client on a avoids the draining server');
});
