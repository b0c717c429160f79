/** Two instances sharing through a real Redis (started here on its own port): least-bandwidth on one reads the traffic the other carries. */

import t from 'tap';
import { connectNamed } from '../helpers/server-process.js';
import { servers, redisFarm, status } from './helpers.js';
import { redisSkip } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

t.test('traffic through instance a makes instance b avoid that server', { skip: await redisSkip({ spawns: true }) }, async (t) => {
  const { a, b, clients } = await redisFarm(t, { pool: { algorithm: { name: 'least-bandwidth', window: '500ms' } } });

  const [pumped, busy] = await connectNamed(a.proxy);
  clients.push(pumped);
  const chunk = Buffer.alloc(8192, 1);
  const pump = setInterval(() => { if (pumped.bufferedAmount < 1 << 20) pumped.send(chunk); }, 10);
  t.teardown(() => clearInterval(pump));
  await waitFor(t, async () => (servers(await status(b.admin), 'bandwidth_farm_bps')[busy] as number) > 100_000, { ms: 20_000, what: `b sees ${busy}'s bandwidth through Redis` });
  const docA = await status(a.admin);
  const docB = await status(b.admin);
  t.ok((servers(docA, 'bandwidth_bps')[busy] as number) > 100_000, 'a: its own bytes/s');
  t.ok((servers(docB, 'bandwidth_bps')[busy] as number) < 1000, 'b: its own bytes/s stay its own (nothing counted twice)');

  const landed: string[] = [];
  for (let i = 0; i < 20; i++) {
    const [ws, name] = await connectNamed(b.proxy);
    clients.push(ws);
    landed.push(name);
  }
  t.equal(landed.filter((n) => n === busy).length, 0, `none of 20 new clients on b went to the busy ${busy}: ${landed.join(' ')}`);
});
