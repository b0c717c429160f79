/** The demo farm behind a real balancer: hello says which server, echo, room ticks, broadcast, HTTP pages. */

import t from 'tap';
import { once } from 'node:events';
import WebSocket from 'ws';
import { startFarm } from '../../src/demo/farm.js';
import { startBalancer } from '../helpers/balancer.js';

t.test('demo farm through the balancer', async (t) => {
  const farm = await startFarm({ ports: [0, 0, 0], tickMs: 50 });
  t.teardown(() => farm.close());
  t.same(farm.servers.map((s) => s.name), ['demo-1', 'demo-2', 'demo-3']);
  const b = await startBalancer(t, { servers: farm.servers.map((s) => ({ name: s.name, url: `ws://127.0.0.1:${s.port}` })) });
  const url = `ws://127.0.0.1:${b.proxyPort()}`;

  const landed: string[] = [];
  for (let i = 0; i < 3; i++) {
    const ws = new WebSocket(`${url}/`, { perMessageDeflate: false });
    const [hello] = await once(ws, 'message') as [Buffer];
    const doc = JSON.parse(hello.toString()) as { type: string; server: string };
    t.equal(doc.type, 'hello');
    landed.push(doc.server);
    ws.send('echo me');
    const [echo] = await once(ws, 'message') as [Buffer];
    t.equal(echo.toString(), 'echo me');
    ws.close();
  }
  t.same(landed, ['demo-1', 'demo-2', 'demo-3'], 'round robin over the farm, each server names itself');

  const room = new WebSocket(`${url}/room`, { perMessageDeflate: false });
  await once(room, 'message');   // hello
  const [tick] = await once(room, 'message') as [Buffer];
  t.match(JSON.parse(tick.toString()), { type: 'tick', server: /^demo-\d$/ });
  room.send('broadcast:hi all');
  let got = '';
  while (got !== 'broadcast:hi all') got = ((await once(room, 'message')) as [Buffer])[0].toString();
  t.pass('broadcast delivered to the room');
  room.close();

  const page = await fetch(`http://127.0.0.1:${farm.servers[0]!.port}/`);
  t.match(await page.text(), 'demo-1');
  const load = await (await fetch(`http://127.0.0.1:${farm.servers[0]!.port}/load`)).json() as Record<string, number>;
  t.type(load.connections, 'number');
});
