/** Which server each client lands on through a real balancer: exact sequences for round-robin and least-connections. */

import t from 'tap';
import { once } from 'node:events';
import WebSocket from 'ws';
import { startEchoBackends } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';

/** Opens a client and returns it with the name of the backend that took it (the backend with a new handshake). */
async function connect(port: number, backends: { name: string; handshakes: unknown[] }[]): Promise<[WebSocket, string]> {
  const before = backends.map((b) => b.handshakes.length);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  await once(ws, 'open');
  const i = backends.findIndex((b, j) => b.handshakes.length > before[j]!);
  return [ws, backends[i]!.name];
}

t.test('round-robin, weights 3,1,1: interleaved exact sequence', async (t) => {
  const backends = await startEchoBackends(3, 's');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const b = await startBalancer(t, {
    algorithm: 'round-robin',
    servers: backends.map((s, i) => ({ name: s.name, url: s.url, weight: i === 0 ? 3 : 1 })),
  });
  const seq: string[] = [];
  for (let i = 0; i < 10; i++) {
    const [ws, name] = await connect(b.proxyPort(), backends);
    seq.push(name);
    ws.close();
  }
  t.same(seq, ['s-1', 's-2', 's-1', 's-3', 's-1', 's-1', 's-2', 's-1', 's-3', 's-1']);
});

t.test('least-connections follows live tunnel counts', async (t) => {
  const backends = await startEchoBackends(3, 'l');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const b = await startBalancer(t, { algorithm: 'least-connections', servers: backends.map((s) => ({ name: s.name, url: s.url })) });
  const pool = b.runtime.pools.get('p')!;
  const open: [WebSocket, string][] = [];
  for (let i = 0; i < 6; i++) open.push(await connect(b.proxyPort(), backends));
  t.same(pool.servers.map((s) => s.active), [2, 2, 2], 'six clients spread 2/2/2');

  // Close both clients on l-2: the next two must go there.
  for (const [ws, name] of open) if (name === 'l-2') ws.close();
  await waitFor(t, () => pool.servers[1]!.active === 0, { what: 'l-2 has no client left' });
  const [a, na] = await connect(b.proxyPort(), backends);
  const [c, nc] = await connect(b.proxyPort(), backends);
  t.same([na, nc], ['l-2', 'l-2']);
  t.same(pool.servers.map((s) => s.active), [2, 2, 2]);
  for (const [ws] of open) ws.close();
  a.close(); c.close();
  await waitFor(t, () => pool.servers.every((s) => s.active === 0), { what: 'every counter back to 0' });
});
