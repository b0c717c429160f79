/** least-response-time end to end: the upgrade round trip feeds server.rtt, and new clients avoid a server that answers slowly. */

import t from 'tap';
import type WebSocket from 'ws';
import { startLoadBackend } from '../helpers/load-backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { closeAll, connectWho } from '../helpers/who.js';

// 2 s: the fast server's round trips, each a sample of its rtt, may take hundreds of ms on a loaded machine;
// the ten picks below hold while fast's rtt x 11 stays under slow's x 2.
t.test('a server that takes 2 s to answer the upgrade gets no new client while the fast one scores lower', async (t) => {
  const fast = await startLoadBackend('fast');
  const slow = await startLoadBackend('slow', { upgradeDelayMs: 2000 });
  const backends = [fast, slow];
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const b = await startBalancer(t, { limits: { handshakes_per_ip: '10000/s' }, algorithm: 'least-response-time', servers: backends.map((s) => ({ name: s.name, url: s.url })) });
  const pool = b.runtime.pools.get('p')!;
  const open: WebSocket[] = [];
  const landed: string[] = [];
  // Both unmeasured (rtt 0) at first: each gets one client and so its first measurement.
  for (let i = 0; i < 2; i++) { const [ws, n] = await connectWho(b.proxyPort(), '/', backends); open.push(ws); landed.push(n); }
  t.same([...landed].sort(), ['fast', 'slow'], 'each unmeasured server is tried once');
  const [f, s] = [pool.server('fast')!, pool.server('slow')!];
  t.ok(s.rtt >= 1990, `slow rtt measured: ${s.rtt.toFixed(1)} ms`);
  t.ok(f.rtt < s.rtt / 4, `fast rtt measured: ${f.rtt.toFixed(1)} ms, well below the slow one`);

  const next: string[] = [];
  for (let i = 0; i < 10; i++) { const [ws, n] = await connectWho(b.proxyPort(), '/', backends); open.push(ws); next.push(n); }
  t.same(next, Array(10).fill('fast'), `rtt x (active + 1): fast ${f.rtt.toFixed(1)} x 12 < slow ${s.rtt.toFixed(0)} x 2`);

  const st = await (await fetch(`http://127.0.0.1:${b.adminPort()}/status`)).json() as { pools: { p: { servers: { name: string; rtt_ms: number }[] } } };
  t.ok(st.pools.p.servers.find((x) => x.name === 'slow')!.rtt_ms >= 1990, '/status shows rtt_ms');
  await closeAll(open);
});
