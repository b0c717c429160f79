/** Reloads say what they did not apply: restart_required in the log line, the POST /reload answer and the reloads metric, for as long as the file differs; log.level applies on reload, child loggers included. */

import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parse, stringify } from 'yaml';
import { clusterYaml, startInstance } from '../cluster/helpers.js';
import { waitFor } from '../helpers/wait.js';
import { loadConfigFile } from '../../src/config/load.js';
import { Balancer } from '../../src/main.js';
import { connectNamed, startChildServer } from '../helpers/server-process.js';

type Doc = Record<string, Record<string, unknown> & { length?: number }> & { listeners: Record<string, unknown>[] };

async function postReload(admin: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${admin}/reload`, { method: 'POST' });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function reloadsMetric(admin: number, result: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
  const m = new RegExp(`^wslb_config_reloads_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

t.test('SIGHUP and POST /reload: restart_required every time the file differs from what runs; log.level applies', async (t) => {
  const s1 = await startChildServer(t, 's1');
  const yaml = clusterYaml([{ name: 's1', url: s1.url }]);
  const x = await startInstance(t, yaml);
  const doc = parse(yaml) as Doc;
  doc.listeners[0]!['port'] = 1;            // cannot move an open listener
  doc['admin']!['token'] = 'changed';       // the admin listener keeps its settings too
  doc['log']!['level'] = 'debug';           // applies in place
  fs.writeFileSync(x.file, stringify(doc));

  x.cli.child.kill('SIGHUP');
  const first = await x.cli.waitFor((l) => l['msg'] === 'reload');
  t.match(first, { result: 'ok', level: 40 }, 'ok, logged as a warning');
  t.same(first['restart_required'], ['listeners[0].port', 'admin.token']);

  // The new level is in force: a tunnel's close is logged at debug.
  const [ws] = await connectNamed(x.proxy);
  ws.close();
  const closed = await x.cli.waitFor((l) => l['msg'] === 'tunnel closed', 5000);
  t.equal(closed['level'], 20, 'debug lines after log.level: debug');

  // POST /reload without a token (the running admin has none): the same keys, every time.
  for (const i of [1, 2]) {
    const r = await postReload(x.admin);
    t.equal(r.status, 200);
    t.same(r.body, { result: 'ok', summary: 'ok: 1 routes, 1 pools, 1 servers', restart_required: ['listeners[0].port', 'admin.token'] }, `POST ${i}`);
  }
  const reloadLines = () => x.cli.lines.filter((l) => l['msg'] === 'reload');
  await waitFor(t, () => reloadLines().length === 3, { ms: 10_000, what: 'three reload lines' });
  const lines = reloadLines();
  t.ok(lines.every((l) => (l['restart_required'] as string[]).length === 2), 'every reload line names them');
  t.equal(await reloadsMetric(x.admin, 'ok_restart_required'), 3);
  t.equal(await reloadsMetric(x.admin, 'ok'), 0);

  // The file back to what runs: a plain ok.
  fs.writeFileSync(x.file, yaml);
  const back = await postReload(x.admin);
  t.same(back.body, { result: 'ok', summary: 'ok: 1 routes, 1 pools, 1 servers', restart_required: [] });
  t.equal(await reloadsMetric(x.admin, 'ok'), 1);
  await waitFor(t, () => reloadLines().length === 4, { ms: 10_000, what: 'a fourth reload line' });
  const last = reloadLines().at(-1)!;
  t.match(last, { result: 'ok', level: 30, restart_required: [] });
  t.notOk('warning' in last);
});

t.test('log.level on reload reaches child loggers made before it, unless they set their own', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wslb-level-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'balancer.yaml');
  const yaml = clusterYaml([{ name: 'none', url: 'ws://127.0.0.1:1' }]).replace('level: info', 'level: warn');
  fs.writeFileSync(file, yaml);
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>); done(); } });
  const root = pino({ level: 'warn', base: undefined }, sink);
  const worker = root.child({ worker: 1 });      // as a cluster worker's logger is made
  const b = new Balancer(loadConfigFile(file, {}), worker);
  await b.start();
  t.teardown(() => b.destroy());
  const part = worker.child({ part: 'x' });        // a child made before the reload
  const own = worker.child({ part: 'y' }, { level: 'error' });
  t.equal(part.isLevelEnabled('debug'), false);

  fs.writeFileSync(file, yaml.replace('level: warn', 'level: debug'));
  const out = await b.reload({});
  t.same(out, { ok: true, summary: 'ok: 1 routes, 1 pools, 1 servers', restartRequired: [] });
  t.equal(b.runtime.log.isLevelEnabled('debug'), true, 'the balancer\'s logger');
  t.equal(part.isLevelEnabled('debug'), true, 'a child made before the reload follows');
  t.equal(own.level, 'error', 'a child with its own level keeps it');
  t.ok(lines.some((l) => l['msg'] === 'reload' && l['level'] === 30 && l['worker'] === 1), 'the reload line itself is at the new level');
});
