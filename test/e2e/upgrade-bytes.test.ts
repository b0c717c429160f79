/** Header bytes past ASCII (obs-text) in a server's answer reach the client unchanged: in a relayed 101 and in a relayed non-101 answer. */

import t from 'tap';
import net from 'node:net';
import { startBalancer } from '../helpers/balancer.js';
import { rawRequest, upgradeRequest, wsAccept } from '../helpers/raw-client.js';

const OBS = 'caf\xe9 \xff\x80';   // latin1: one byte per character

/** A server that answers every request head with `answer(key)`, written as latin1 bytes. */
async function rawServer(answer: (key: string) => string): Promise<{ url: string; close(): void }> {
  const server = net.createServer((s) => {
    let buf = '';
    s.on('error', () => {});
    s.on('data', (c) => {
      buf += c.toString('latin1');
      if (!buf.includes('\r\n\r\n')) return;
      const key = /sec-websocket-key: *(\S+)/i.exec(buf)?.[1] ?? '';
      s.write(Buffer.from(answer(key), 'latin1'));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`, close: () => server.close() };
}

t.test('a 101 header value with obs-text bytes is relayed byte for byte', async (t) => {
  const backend = await rawServer((key) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${wsAccept(key)}\r\nX-Obs: ${OBS}\r\n\r\n`);
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'x', url: backend.url }] });
  const res = await rawRequest(b.proxyPort(), upgradeRequest('/'), { untilHead: true });
  t.equal(res.status, 101);
  t.equal(res.headers['x-obs'], OBS, 'the same bytes, not their UTF-8 encoding');
});

t.test('a relayed non-101 answer keeps obs-text header bytes too', async (t) => {
  const backend = await rawServer(() => `HTTP/1.1 403 Forbidden\r\nX-Obs: ${OBS}\r\nContent-Length: 2\r\n\r\nno`);
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'x', url: backend.url }] });
  const res = await rawRequest(b.proxyPort(), upgradeRequest('/'));
  t.equal(res.status, 403);
  t.equal(res.headers['x-obs'], OBS);
  t.equal(res.body, 'no');
});
