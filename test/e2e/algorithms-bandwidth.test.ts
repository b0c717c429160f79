/** least-bandwidth end to end: new clients steer away from the server carrying a chatty client's traffic. */

import t from 'tap';
import { once } from 'node:events';
import type WebSocket from 'ws';
import { startEchoBackends } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { closeAll, connectWho } from '../helpers/who.js';

t.test('a server moving megabytes per second gets no new clients while idle ones exist', async (t) => {
  const backends = await startEchoBackends(3, 'bw');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const b = await startBalancer(t, {
    limits: { handshakes_per_ip: '10000/s' },
    algorithm: { name: 'least-bandwidth', window: '1s' },
    servers: backends.map((s) => ({ name: s.name, url: s.url })),
  });
  const pool = b.runtime.pools.get('p')!;
  const [heavy, hot] = await connectWho(b.proxyPort(), '/', backends);
  const hotServer = pool.server(hot)!;

  // The chatty client: 32 KiB echoed back and forth, bounded in count and time.
  let pumping = true;
  const payload = Buffer.alloc(32 * 1024, 7);
  const pump = (async () => {
    const end = Date.now() + 8000;
    for (let i = 0; i < 5000 && pumping && Date.now() < end; i++) {
      heavy.send(payload);
      await once(heavy, 'message');
    }
  })();
  await waitFor(t, () => hotServer.bandwidth > 1e6, { ms: 5000, what: () => `the sampler sees the traffic: ${Math.round(hotServer.bandwidth)} B/s` });

  const open: WebSocket[] = [];
  const landed: string[] = [];
  for (let i = 0; i < 6; i++) {
    const [ws, name] = await connectWho(b.proxyPort(), '/', backends);
    open.push(ws);
    landed.push(name);
  }
  pumping = false;
  await pump;
  t.notOk(landed.includes(hot), `no new client on ${hot}: ${landed.join(' ')}`);
  const others = backends.map((x) => x.name).filter((n) => n !== hot);
  t.same(others.map((n) => landed.filter((l) => l === n).length), [3, 3], 'idle servers tie on bytes/s and split by active count');

  const st = await (await fetch(`http://127.0.0.1:${b.adminPort()}/status`)).json() as { pools: { p: { servers: { name: string; bandwidth_bps: number }[] } } };
  t.ok(st.pools.p.servers.find((s) => s.name === hot)!.bandwidth_bps > 1e6, '/status shows bandwidth_bps');
  await closeAll([heavy, ...open]);
});
