/**
 * Admin actions are shared state, not fire-and-forget events: an action issued on one instance
 * while Redis is down reaches the others when Redis is back; an instance that starts later learns
 * the actions in force; an enable removes the action everywhere; a worker that replaces a crashed
 * one applies the actions in force. Redis here is a redis-server child on its own free port.
 */

import t from 'tap';
import { startChildServer } from '../helpers/server-process.js';
import { redisSkip } from '../helpers/redis.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { clusterYaml, post, servers, startInstance, startRedis, status, type Instance } from './helpers.js';

const skip = await redisSkip({ spawns: true });

const state = async (inst: Instance, name: string): Promise<unknown> => servers(await status(inst.admin), 'state')[name];
const sharing = async (inst: Instance): Promise<string> => ((await status(inst.admin))['cluster'] as { sharing: string }).sharing;
const inForce = async (inst: Instance): Promise<{ pool: string; server: string; action: string; by: string; at: string }[]> =>
  ((await status(inst.admin))['sharing'] as { admin_actions: { pool: string; server: string; action: string; by: string; at: string }[] }).admin_actions;

t.test('an action issued while Redis is down reaches the other instance when it is back; a later instance learns it; enable removes it', { skip, timeout: 120_000 }, async (t) => {
  const redis = await startRedis(t);
  const backs = await Promise.all(['s1', 's2', 's3'].map((n) => startChildServer(t, n)));
  const list = backs.map((b) => ({ name: b.name, url: b.url }));
  const cfg = (name: string): string => clusterYaml(list, { cluster: { redis: `redis://127.0.0.1:${redis.port}`, name } });
  const [a, b] = await Promise.all([startInstance(t, cfg('a')), startInstance(t, cfg('b'))]);
  await waitFor(t, async () => (await sharing(a)) === 'ok' && (await sharing(b)) === 'ok', { ms: 10_000, what: 'both share through Redis' });

  await redis.stop();
  await waitFor(t, async () => (await sharing(a)) !== 'ok' && (await sharing(b)) !== 'ok', { ms: 10_000, what: 'both see Redis gone' });
  t.equal(await post(a.admin, '/pools/p/servers/s3/disable'), 204, 'disabled on a while Redis is down');
  t.equal(await state(a, 's3'), 'disabled');
  await sleep(500);
  t.equal(await state(b, 's3'), 'up', 'b cannot know yet');

  await redis.start();
  await waitFor(t, async () => (await state(b, 's3')) === 'disabled', { ms: 10_000, what: 'Redis back: the action reaches b' });
  t.ok(await b.cli.waitFor((l) => l['msg'] === 'admin action from another instance' && l['server'] === 's3' && l['action'] === 'disable', 5000), 'b logs where it came from');
  t.match(await inForce(b), [{ pool: 'p', server: 's3', action: 'disable', by: /^a\// }], 'in force on b, issued by a');

  const c = await startInstance(t, cfg('c'));
  await waitFor(t, async () => (await state(c, 's3')) === 'disabled', { ms: 10_000, what: 'an instance started later learns the action in force' });

  t.equal(await post(c.admin, '/pools/p/servers/s3/enable'), 204, 'enable on c');
  await waitFor(t, async () => (await state(a, 's3')) === 'up' && (await state(b, 's3')) === 'up', { ms: 10_000, what: 'enable removes it on a and b' });
  t.same(await inForce(a), [], 'nothing in force any more');

  // The instance that issued the first action leaves: what it issued and what others adopted stays.
  t.equal(await post(a.admin, '/pools/p/servers/s1/drain'), 204);
  await waitFor(t, async () => (await state(c, 's1')) === 'draining', { ms: 10_000, what: 'drain on a reaches c' });
  a.cli.child.kill('SIGTERM');
  await a.cli.exited;
  const d = await startInstance(t, cfg('d'));
  await waitFor(t, async () => (await state(d, 's1')) === 'draining', { ms: 10_000, what: 'a is gone; d still learns the drain in force from b and c' });
});

t.test('workers: 2: a worker replacing a crashed one applies the actions in force', { timeout: 90_000 }, async (t) => {
  const backs = await Promise.all(['s1', 's2'].map((n) => startChildServer(t, n)));
  const inst = await startInstance(t, clusterYaml(backs.map((b) => ({ name: b.name, url: b.url })), { workers: 2 }), 2);
  t.equal(await post(inst.admin, '/pools/p/servers/s1/disable'), 204);
  const workers = async () => (await status(inst.admin))['workers'] as { id: number; pid: number; ready: boolean }[];
  const before = await workers();
  process.kill(before[0]!.pid, 'SIGKILL');
  await waitFor(t, async () => { const w = await workers(); return w.length === 2 && w.every((x) => x.ready) && w[0]!.pid !== before[0]!.pid; }, { ms: 20_000, what: 'the slot has a new worker' });
  // The merged state is `up` if any worker has s1 up: the new worker must have applied the disable.
  t.equal(await state(inst, 's1'), 'disabled', 'the new worker applied the disable in force');
  t.match(((await status(inst.admin))['sharing'] as { admin_actions: unknown[] }).admin_actions, [{ pool: 'p', server: 's1', action: 'disable' }]);
});
