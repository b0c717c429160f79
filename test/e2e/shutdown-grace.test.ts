/** timeouts.shutdown_grace for a lone process: after SIGTERM /healthz says 503 while traffic still flows, then the drain; a second signal aborts. */

import t, { type Test } from 'tap';
import { clusterYaml, startInstance } from '../cluster/helpers.js';
import { startChildServer } from '../helpers/server-process.js';
import { checkSecondSignalAborts, checkShutdownGrace } from '../helpers/shutdown-grace.js';

async function lone(t: Test, grace: string) {
  const backs = await Promise.all(['s1', 's2'].map((n) => startChildServer(t, n)));
  const yaml = clusterYaml(backs.map((b) => ({ name: b.name, url: b.url })), { timeouts: { drain: '500ms', shutdown_grace: grace } });
  return startInstance(t, yaml);
}

// 5 s: the checks made during the grace (connects, fetches, an echo) must fit in it on a loaded machine.
t.test('SIGTERM: 5 s of /healthz 503 with new clients still proxied, then 1001 over the drain, exit 0', async (t) => {
  await checkShutdownGrace(t, await lone(t, '5s'), 5000);
});

t.test('a second SIGTERM during the grace aborts with exit 1', async (t) => {
  await checkSecondSignalAborts(t, await lone(t, '10s'), 10_000);
});

t.test('shutdown_grace 0s (the default): the drain starts at once', async (t) => {
  const x = await lone(t, '0s');
  const t0 = Date.now();
  x.cli.child.kill('SIGTERM');
  t.equal(await x.cli.exited, 0);
  // An exit with nothing to drain; a grace would be seconds more (the bound leaves room for a loaded machine).
  t.ok(Date.now() - t0 < 5000, 'no grace');
  t.notOk(x.cli.lines.some((l) => l['msg'] === 'shutdown grace'));
});
