/** workers: 2: the primary's admin logs 401s with the caller's address, and every worker's `admin action` line carries the caller the primary saw. */

import t from 'tap';
import { startChildServer } from '../helpers/server-process.js';
import { clusterYaml, startInstance } from './helpers.js';

t.test('admin 401s and actions name the caller across a process tree', async (t) => {
  const back = await startChildServer(t, 's1');
  const inst = await startInstance(t, clusterYaml([{ name: back.name, url: back.url }], { workers: 2, admin: { port: 0, host: '127.0.0.1', token: 'sesame' } }), 2);
  const admin = `http://127.0.0.1:${inst.admin}`;
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${admin}/pools/p/servers/s1/disable`, { method: 'POST', headers: { authorization: 'Bearer wrong' } });
    t.equal(res.status, 401);
  }
  const refused = await inst.cli.waitFor((l) => l['msg'] === 'admin unauthorized');
  t.match(refused, { path: '/pools/p/servers/s1/disable', client: '127.0.0.1', status: 401, count: 1 });

  const ok = await fetch(`${admin}/pools/p/servers/s1/disable`, { method: 'POST', headers: { authorization: 'Bearer sesame' } });
  t.equal(ok.status, 204);
  // Each worker logs its own line; a missing one times out (and fails) here.
  await inst.cli.waitFor(() => inst.cli.lines.filter((l) => l['msg'] === 'admin action').length >= 2, 5000);
  const actions = inst.cli.lines.filter((l) => l['msg'] === 'admin action');
  t.equal(actions.length, 2, 'one line per worker');
  t.ok(actions.every((l) => l['caller'] === '127.0.0.1' && l['action'] === 'disable'), 'each names the caller');
  t.equal(inst.cli.lines.filter((l) => l['msg'] === 'admin unauthorized').length, 1, 'three 401s, one line so far');
});
