/** workers: 2: wslb_config_reloads_total counts each reload of the tree once with its result, the ones the primary refuses included, and never goes down when a worker is replaced. */

import t from 'tap';
import fs from 'node:fs';
import { parse, stringify } from 'yaml';
import { startChildServer } from '../helpers/server-process.js';
import { clusterYaml, post, scrape, startInstance, status } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

async function reloads(admin: number): Promise<Record<string, number>> {
  const text = await scrape(admin);
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^wslb_config_reloads_total\{result="(\w+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

t.test('ok, refused and restart-required reloads, each counted once for the tree', async (t) => {
  const s1 = await startChildServer(t, 's1');
  const yaml = clusterYaml([{ name: 's1', url: s1.url }], { workers: 2 });
  const x = await startInstance(t, yaml, 2);
  t.same(await reloads(x.admin), { ok: 0, ok_restart_required: 0, error: 0 }, 'every result from 0');

  t.equal(await post(x.admin, '/reload'), 200);
  t.same(await reloads(x.admin), { ok: 1, ok_restart_required: 0, error: 0 }, 'one reload, not one per worker');

  const bad = parse(yaml) as { pools: Record<string, Record<string, unknown>> };
  bad.pools['p']!['algorithm'] = 'robin';
  fs.writeFileSync(x.file, stringify(bad));
  t.equal(await post(x.admin, '/reload'), 400);
  t.same(await reloads(x.admin), { ok: 1, ok_restart_required: 0, error: 1 }, 'the primary refused it: counted as error');

  fs.writeFileSync(x.file, yaml);   // a replacement worker reads the file (an invalid one would keep it from starting)
  const victim = ((await status(x.admin))['workers'] as { pid: number }[])[0]!;
  process.kill(victim.pid, 'SIGKILL');
  await x.cli.waitFor((l) => l['msg'] === 'worker died; replacing it');
  await waitFor(t, async () => ((await status(x.admin))['workers'] as { ready: boolean }[]).every((w) => w.ready), { ms: 10_000, what: 'replaced' });
  t.same(await reloads(x.admin), { ok: 1, ok_restart_required: 0, error: 1 }, 'a new worker (which reloaded nothing) changes nothing');

  const moved = parse(yaml) as { listeners: Record<string, unknown>[] };
  moved.listeners[0]!['port'] = 1;
  fs.writeFileSync(x.file, stringify(moved));
  x.cli.child.kill('SIGHUP');
  await waitFor(t, () => x.cli.lines.filter((l) => l['msg'] === 'reload' && l['result'] === 'ok' && l['workers'] === 2).length === 2, { ms: 5000, what: 'reloaded' });
  t.same(await reloads(x.admin), { ok: 1, ok_restart_required: 1, error: 1 }, 'SIGHUP with a key that needs a restart');
});
