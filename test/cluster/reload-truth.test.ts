/** workers: 2: a reload names the keys the process tree cannot apply (the primary's own and the workers'), every time, and log.level reaches the primary and the workers. */

import t from 'tap';
import fs from 'node:fs';
import { parse, stringify } from 'yaml';
import tls from 'node:tls';
import { clusterYaml, startInstance } from './helpers.js';
import { waitFor } from '../helpers/wait.js';
import { createTestCa } from '../helpers/certs.js';
import { connectNamed, startChildServer } from '../helpers/server-process.js';

t.test('SIGHUP then POST /reload with a moved listener, a new worker count and log.level: debug', async (t) => {
  const s1 = await startChildServer(t, 's1');
  const yaml = clusterYaml([{ name: 's1', url: s1.url }], { workers: 2 });
  const x = await startInstance(t, yaml, 2);
  const doc = parse(yaml) as Record<string, Record<string, unknown>> & { listeners: Record<string, unknown>[] };
  doc.listeners[0]!['port'] = 1;
  doc['workers'] = 3 as unknown as Record<string, unknown>;
  doc['log']!['level'] = 'debug';
  fs.writeFileSync(x.file, stringify(doc));
  const want = ['workers', 'listeners[0].port'];

  x.cli.child.kill('SIGHUP');
  const line = await x.cli.waitFor((l) => l['msg'] === 'reload' && l['workers'] === 2);
  t.match(line, { result: 'ok', level: 40 });
  t.same(line['restart_required'], want, 'the primary\'s key and the workers\' key');

  const res = await fetch(`http://127.0.0.1:${x.admin}/reload`, { method: 'POST' });
  t.equal(res.status, 200);
  t.same(await res.json(), { result: 'ok', summary: 'ok: 1 routes, 1 pools, 1 servers', restart_required: want }, 'POST /reload says it again');

  // Every worker took the new level: each one logs a tunnel's close at debug.
  const seen = new Set<unknown>();
  for (let i = 0; i < 20 && seen.size < 2; i++) {
    const [ws] = await connectNamed(x.proxy);
    ws.close();
    await waitFor(t, () => x.cli.lines.filter((l) => l['msg'] === 'tunnel closed').length > i, { what: `tunnel ${i + 1} logged its close` });
    for (const l of x.cli.lines) if (l['msg'] === 'tunnel closed' && l['level'] === 20) seen.add(l['worker']);
  }
  t.same([...seen].sort(), [1, 2], 'debug lines from both workers');
  const metrics = await (await fetch(`http://127.0.0.1:${x.admin}/metrics`)).text();
  t.match(metrics, /^wslb_config_reloads_total\{result="ok_restart_required"\} [1-9]/m);
  t.match(metrics, /^wslb_config_reloads_total\{result="ok"\} 0$/m);
});

t.test('a key that does not load fails the reload for the whole tree: 400 at the key, the workers keep their certificate', async (t) => {
  const ca = createTestCa('wslb tree CA');
  t.teardown(() => ca.remove());
  const issued = ca.issue('tree', ['127.0.0.1']);
  const key = `${issued.key}.live`;
  fs.copyFileSync(issued.key, key);
  const s1 = await startChildServer(t, 's1');
  const doc = parse(clusterYaml([{ name: 's1', url: s1.url }], { workers: 2 })) as { listeners: Record<string, unknown>[] };
  doc.listeners[0]!['tls'] = { cert: issued.cert, key };
  const x = await startInstance(t, stringify(doc), 2);
  const served = (): Promise<boolean> => new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port: x.proxy, ca: fs.readFileSync(ca.ca) }, () => { resolve(s.authorized); s.destroy(); });
    s.on('error', () => resolve(false));
  });
  t.ok(await served(), 'the certificate is served');

  fs.writeFileSync(key, 'not a key');
  const res = await fetch(`http://127.0.0.1:${x.admin}/reload`, { method: 'POST' });
  t.equal(res.status, 400);
  const body = (await res.json()) as { error: { code: string; errors: string[] } };
  t.equal(body.error.code, 'WSLB_ERR_ADMIN_RELOAD');
  t.match(body.error.errors[0], /balancer\.yaml:\d+:\d+ listeners\[0\]\.tls\.key: /);
  for (let i = 0; i < 4; i++) t.ok(await served(), `handshake ${i + 1}: still served by either worker`);
});
