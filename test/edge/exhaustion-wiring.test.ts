/** Descriptors running out on an upstream connect pause every listener's accepting: the Runtime's `exhausted` reaches each listener's guard through the Balancer, and each accepts again after the pause. */

import net from 'node:net';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { farmYaml, startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';

/** Resolves with the connection's fate: 'connected' or the error code. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve('connected'); });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

t.test('Runtime.exhausted pauses both listeners; both accept again', async (t) => {
  const doc = parse(farmYaml({ servers: [{ name: 'a', url: 'ws://127.0.0.1:1' }] })) as { listeners: unknown[] };
  doc.listeners.push({ port: 0, host: '127.0.0.1' });
  const b = await startBalancer(t, stringify(doc));
  const ports = [b.proxyPort(0), b.proxyPort(1)];
  t.same(await Promise.all(ports.map(tryConnect)), ['connected', 'connected'], 'both accept');
  b.runtime.exhausted('EMFILE');
  t.same(await Promise.all(ports.map(tryConnect)), ['ECONNREFUSED', 'ECONNREFUSED'], 'both paused at once');
  await waitFor(t, async () => (await Promise.all(ports.map(tryConnect))).every((r) => r === 'connected'), { ms: 3000, what: 'both accept again after the pause' });
});
