/** timeouts.shutdown_grace with workers: 2: the primary takes the signal, says 503 while both workers keep proxying, then drains them; a second signal aborts. */

import t, { type Test } from 'tap';
import { clusterYaml, startInstance } from './helpers.js';
import { startChildServer } from '../helpers/server-process.js';
import { checkSecondSignalAborts, checkShutdownGrace } from '../helpers/shutdown-grace.js';

async function tree(t: Test, grace: string) {
  const backs = await Promise.all(['s1', 's2'].map((n) => startChildServer(t, n)));
  const yaml = clusterYaml(backs.map((b) => ({ name: b.name, url: b.url })), { workers: 2, timeouts: { drain: '500ms', shutdown_grace: grace } });
  return startInstance(t, yaml, 2);
}

t.test('workers: 2: SIGTERM to the primary: grace with 503 and new clients proxied by the workers, then the drain, exit 0', async (t) => {
  // 6 s: six new clients, fetches and an echo must fit in the grace on a loaded machine.
  await checkShutdownGrace(t, await tree(t, '6s'), 6000, 6);
});

t.test('workers: 2: a second SIGTERM during the grace aborts with exit 1', async (t) => {
  await checkSecondSignalAborts(t, await tree(t, '10s'), 10_000);
});
