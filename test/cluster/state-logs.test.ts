/** workers: 2: every server state change is logged once per process tree, including a server's first check result at start and after a reload. */

import t from 'tap';
import fs from 'node:fs';
import { startChildServer } from '../helpers/server-process.js';
import { clusterYaml, post, startInstance } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

type Line = Record<string, unknown>;

/** Time for the same change to show up from the other processes, had they logged it too. */
const ECHO_MS = 1000;

t.test('workers: 2: one `server state changed` line per change, first results included', async (t) => {
  const up = await startChildServer(t, 'up');
  const dead = await startChildServer(t, 'dead');
  dead.kill('SIGKILL');   // refused from the start
  await new Promise((r) => dead.process.once('exit', r));
  const list = [{ name: 'up', url: up.url }, { name: 'dead', url: dead.url }];
  // timeout 1 s: with fall 1, a check timed out by a stall of the primary would log a change of its own.
  const pool = { health: { check: 'tcp', interval: '200ms', timeout: '1s', rise: 1, fall: 1 } };
  const inst = await startInstance(t, clusterYaml(list, { workers: 2 }, pool), 2);
  const changes = (server: string): Line[] => inst.cli.lines.filter((l) => l['msg'] === 'server state changed' && l['server'] === server);
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, ECHO_MS));

  await settle();
  t.match(changes('dead'), [{ level: 40, pool: 'p', from: 'unknown', to: 'down', reason: /^health check failed: / }], 'down from the start: one warn line');
  t.equal(changes('dead').length, 1);
  t.match(changes('up'), [{ level: 30, pool: 'p', from: 'unknown', to: 'up', reason: null }], 'up from the start: one info line');
  t.equal(changes('up').length, 1);

  up.kill('SIGKILL');
  await waitFor(t, () => changes('up').length >= 2, { ms: 5000, what: 'the failure is logged' });
  await settle();
  t.match(changes('up').slice(1), [{ level: 40, from: 'up', to: 'down' }], 'a health change: once (the primary), not once per worker');
  t.equal(changes('up').length, 2);

  t.equal(await post(inst.admin, '/pools/p/servers/dead/disable'), 204);
  await waitFor(t, () => changes('dead').length >= 2, { ms: 5000, what: 'the admin change is logged' });
  await settle();
  t.match(changes('dead').filter((l) => l['to'] === 'disabled'), [{ from: 'down', to: 'disabled', reason: 'disabled by admin' }], 'an admin change every worker applies: once');
  t.equal(changes('dead').filter((l) => l['to'] === 'disabled').length, 1);

  fs.writeFileSync(inst.file, clusterYaml([...list, { name: 'late', url: dead.url }], { workers: 2 }, pool));
  t.equal(await post(inst.admin, '/reload'), 200);
  await waitFor(t, () => changes('late').length >= 1, { ms: 5000, what: 'a server added by a reload is logged when its first check fails' });
  await settle();
  t.match(changes('late'), [{ level: 40, from: 'unknown', to: 'down', reason: /^health check failed: / }]);
  t.equal(changes('late').length, 1);
});
