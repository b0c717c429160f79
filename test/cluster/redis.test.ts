/** Two instances sharing counts through a real Redis (started here on its own port): farm-wide least-connections, drain on one applies on both, Redis stopped and back. */

import t from 'tap';
import { connectNamed } from '../helpers/server-process.js';
import { post, servers, redisFarm, status } from './helpers.js';
import { redisSkip } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

t.test('two instances and a Redis', { skip: await redisSkip({ spawns: true }) }, async (t) => {
  const { redis, a, b, clients } = await redisFarm(t);
  const sharing = async (admin: number) => ((await status(admin))['cluster'] as { sharing: string; instances: unknown[] });
  await waitFor(t, async () => (await sharing(a.admin)).instances.length === 2 && (await sharing(b.admin)).instances.length === 2, { ms: 15_000, what: 'each instance lists both' });

  // s3 disabled on a: its 60 clients go to s1 and s2 only. The disable reaches b too; enable it on b.
  t.equal(await post(a.admin, '/pools/p/servers/s3/disable'), 204);
  await waitFor(t, async () => servers(await status(b.admin), 'state')['s3'] === 'disabled', { ms: 10_000, what: 'disable on a applies on b' });
  for (let i = 0; i < 60; i++) clients.push((await connectNamed(a.proxy))[0]);
  t.equal(await post(b.admin, '/pools/p/servers/s3/enable'), 204);
  await waitFor(t, async () => servers(await status(a.admin), 'state')['s3'] === 'up', { ms: 10_000, what: 'enable on b applies on a' });
  await waitFor(t, async () => servers(await status(b.admin), 'active_farm')['s1'] === 30, { ms: 10_000, what: 'b sees a\'s clients' });

  // 90 clients on b: farm-wide least-connections fills s3 first, ending 50/50/50 (b alone would make 60/60/30).
  for (let i = 0; i < 90; i++) clients.push((await connectNamed(b.proxy))[0]);
  const total = servers(await status(b.admin), 'active_farm');
  for (const n of ['s1', 's2', 's3']) t.ok(Math.abs((total[n] as number) - 50) <= 3, `${n}: ${total[n]} of 150 (50 +-3)`);

  // Drain on b applies on a.
  t.equal(await post(b.admin, '/pools/p/servers/s1/drain'), 204);
  await waitFor(t, async () => servers(await status(a.admin), 'state')['s1'] === 'draining', { ms: 10_000, what: 'drain on b applies on a' });
  t.equal(await post(a.admin, '/pools/p/servers/s1/enable'), 204);

  // Redis gone: both keep serving on local numbers and say so; back: sharing resumes.
  await redis.stop();
  await waitFor(t, async () => (await sharing(a.admin)).sharing !== 'ok' && (await sharing(b.admin)).sharing !== 'ok', { ms: 10_000, what: 'both report Redis unavailable' });
  for (const inst of [a, b]) for (let i = 0; i < 5; i++) { const [ws] = await connectNamed(inst.proxy); ws.close(); }
  t.pass('both keep serving without Redis');
  t.ok(await a.cli.waitFor((l) => l['msg'] === 'redis unavailable: balancing on local numbers'), 'a logged it');
  await redis.start();
  await waitFor(t, async () => (await sharing(a.admin)).sharing === 'ok' && (await sharing(b.admin)).sharing === 'ok'
    && (await sharing(b.admin)).instances.length === 2, { ms: 15_000, what: 'sharing resumes when Redis is back' });
  await waitFor(t, async () => {
    const fa = servers(await status(b.admin), 'active_farm');
    const la = servers(await status(a.admin), 'active');
    const lb = servers(await status(b.admin), 'active');
    return ['s1', 's2', 's3'].every((n) => fa[n] === (la[n] as number) + (lb[n] as number));
  }, { ms: 15_000, what: 'farm-wide counts again' });
});
