/** workers: 2: the primary's /metrics passes `promtool check metrics` after traffic, and again after a worker was killed and replaced. */

import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { once } from 'node:events';
import { connectNamed, startChildServer } from '../helpers/server-process.js';
import { clusterYaml, scrape, startInstance, status, type Instance } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

const PROMTOOL = '/usr/bin/promtool';

/** promtool's verdict on an exposition: its exit code and what it printed (problems go to stderr). */
async function check(text: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  child.stdin.end(text);
  const [code] = await once(child, 'exit') as [number | null];
  return { code, out };
}

async function traffic(t: Test, inst: Instance, count: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: count }, () => connectNamed(inst.proxy).then(([ws]) => ws)));
  await Promise.all(clients.map(async (ws) => { ws.close(1000); await once(ws, 'close'); }));
  await waitFor(t, async () => (await status(inst.admin))['connections'] === 0, { what: `the tree saw all ${count} closes` });
}

t.test('promtool check metrics on the tree\'s /metrics', { skip: fs.existsSync(PROMTOOL) ? false : `${PROMTOOL} is not installed` }, async (t) => {
  const backs = await Promise.all(['s1', 's2'].map((n) => startChildServer(t, n)));
  const inst = await startInstance(t, clusterYaml(backs.map((b) => ({ name: b.name, url: b.url })), { workers: 2 }), 2);
  await traffic(t, inst, 6);
  const first = await scrape(inst.admin);
  t.notMatch(first, /^nodejs_active_(handles|requests|resources)_total/m, 'no gauge named _total, the primary\'s or a worker\'s');
  t.match(first, /^nodejs_active_handles\{type="[^"]+"\} \d+/m, 'the per-type gauges stay');
  t.match(first, /^nodejs_active_handles\{type="[^"]+",worker="1"\} \d+/m, 'the workers\' too');
  t.same(await check(first), { code: 0, out: '' }, 'after traffic');

  const victim = ((await status(inst.admin))['workers'] as { pid: number }[])[0]!;
  process.kill(victim.pid, 'SIGKILL');
  await inst.cli.waitFor((l) => l['msg'] === 'worker died; replacing it');
  await waitFor(t, async () => ((await status(inst.admin))['workers'] as { ready: boolean }[]).every((w) => w.ready), { ms: 10_000, what: 'replaced' });
  await traffic(t, inst, 4);
  const after = await scrape(inst.admin);
  t.notMatch(after, /^nodejs_active_(handles|requests|resources)_total/m);
  t.same(await check(after), { code: 0, out: '' }, 'after a worker was killed and replaced');
});
