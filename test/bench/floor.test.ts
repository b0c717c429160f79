/** bench:compare's floor targets (Node's L7 and L4 pipes, references): they carry a WebSocket both ways, forward the head bytes, and leave nothing open. */

import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { WebSocket, type RawData } from 'ws';
import { startFarm } from '../../src/demo/farm.js';
import { startFloor, type Farm } from '../../bench/compare/peers.js';
import { waitFor } from '../helpers/wait.js';

function farmConnections(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(`http://127.0.0.1:${port}/load`, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve((JSON.parse(body) as { connections: number }).connections));
    }).on('error', reject);
  });
}

/** True once the server reports no client left (polled for up to 10 s: the floor is another process, and the machine may be loaded). */
async function noneLeft(port: number): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (await farmConnections(port) === 0) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

t.test('floor-l7 and floor-l4: echo through, head bytes forwarded, closed cleanly', async (t) => {
  const demo = await startFarm({ ports: [0] });
  t.teardown(() => demo.close());
  const port = demo.servers[0]!.port;
  // startFloor reads only the ports of the farm bench:compare started.
  const farm = { ports: [port] } as unknown as Farm;
  for (const mode of ['l7', 'l4'] as const) {
    const floor = await startFloor(farm, mode);
    t.teardown(() => floor.child?.stop());
    t.match(floor.version, "reference: Node's floor, not a product");

    const ws = new WebSocket(floor.urls[0]!, { perMessageDeflate: false });
    const got: string[] = [];
    ws.on('message', (d: RawData) => got.push(d.toString()));
    await new Promise((r) => ws.once('open', r));
    ws.send('WSB|hello');
    await waitFor(t, () => got.includes('WSB|hello'), { ms: 10_000, what: `${mode}: echoed through` });
    t.match(got[0], '"server":"demo-1"', `${mode}: the server greeted first`);
    ws.close(1000);
    const code = await new Promise<number>((r) => ws.once('close', r));
    t.equal(code, 1000, `${mode}: the close handshake went through`);
    t.ok(await noneLeft(port), `${mode}: the server side closed too`);

    // The upgrade request and a first frame in one write: the frame arrives in `head` and must reach the server.
    const s = net.connect(Number(new URL(floor.urls[0]!).port), '127.0.0.1');
    let buf = '';
    s.on('data', (d: Buffer) => { buf += d.toString('latin1'); });
    const payload = Buffer.from('WSB|early');
    const mask = [1, 2, 3, 4];
    const frame = Buffer.from([0x81, 0x80 | payload.length, ...mask, ...payload.map((b, i) => b ^ mask[i % 4]!)]);
    s.write(Buffer.concat([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'), frame]));
    await waitFor(t, () => buf.includes('WSB|early'), { ms: 10_000, what: `${mode}: bytes sent with the request head are forwarded` });
    t.match(buf, /^HTTP\/1\.1 101 /);
    s.destroy();
    t.ok(await noneLeft(port), `${mode}: a client reset closes the server side`);
    await floor.child?.stop();
  }
});
