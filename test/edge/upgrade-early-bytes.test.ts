/**
 * The client's 101 and what follows it, through the balancer: a server's greeting (bytes that come
 * with its 101) reaches the client right after the 101; client bytes sent before the 101 reach the
 * server; and when those early bytes close the tunnel at once (a message too big), the client
 * still gets the 101 first, then the close frame, never a close frame without a 101.
 */

import t, { type Test } from 'tap';
import net from 'node:net';
import { startBalancer } from '../helpers/balancer.js';
import { upgradeRequest, wsAccept } from '../helpers/raw-client.js';
import { closeCodeOf, frame, OP, parseFrames } from '../helpers/ws-frames.js';
import { waitFor } from '../helpers/wait.js';

const GREETING = frame(OP.TEXT, '{"type":"hello"}', { mask: false });

/** A server that answers the first request head with a valid 101 and `greeting` in one write, and keeps every byte that follows. */
async function greetingServer(t: Test, greeting: Buffer): Promise<{ url: string; got: () => Buffer }> {
  const after: Buffer[] = [];
  const server = net.createServer((s) => {
    let head = Buffer.alloc(0);
    let answered = false;
    s.on('error', () => {});
    s.on('data', (c: Buffer) => {
      if (answered) { after.push(c); return; }
      head = Buffer.concat([head, c]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      answered = true;
      const key = /sec-websocket-key: *(\S+)/i.exec(head.toString('latin1'))?.[1] ?? '';
      s.write(Buffer.concat([
        Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${wsAccept(key)}\r\n\r\n`, 'latin1'),
        greeting,
      ]));
      if (head.length > end + 4) after.push(head.subarray(end + 4));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  return { url: `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`, got: () => Buffer.concat(after) };
}

/** Connects, writes `bytes` in one write, and collects what the balancer sends until it ends the connection or `until` holds. */
async function exchange(t: Test, port: number, bytes: Buffer, until: (got: Buffer) => boolean): Promise<{ got: Buffer; ended: boolean }> {
  const sock = net.connect({ host: '127.0.0.1', port });
  t.teardown(() => sock.destroy());
  const chunks: Buffer[] = [];
  let ended = false;
  sock.on('error', () => {});
  sock.on('data', (c: Buffer) => chunks.push(c));
  sock.on('close', () => { ended = true; });
  sock.write(bytes);
  await waitFor(t, () => ended || until(Buffer.concat(chunks)), { what: 'the balancer answered' });
  return { got: Buffer.concat(chunks), ended };
}

function afterHead(got: Buffer): Buffer | null {
  const end = got.indexOf('\r\n\r\n');
  return end === -1 ? null : got.subarray(end + 4);
}

t.test('a greeting that comes with the server\'s 101 follows the client\'s 101, once, from its first byte', async (t) => {
  const server = await greetingServer(t, GREETING);
  const b = await startBalancer(t, { servers: [{ name: 's', url: server.url }] });
  const { got } = await exchange(t, b.proxyPort(), Buffer.from(upgradeRequest('/'), 'latin1'),
    (g) => (afterHead(g)?.length ?? 0) >= GREETING.length);
  t.match(got.toString('latin1'), /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  t.equal(got.toString('latin1').split('HTTP/1.1 101').length, 2, 'one 101');
  t.ok(afterHead(got)!.equals(GREETING), 'then exactly the greeting');
});

t.test('client bytes sent with the request reach the server; the greeting still follows the 101', async (t) => {
  const server = await greetingServer(t, GREETING);
  const b = await startBalancer(t, { servers: [{ name: 's', url: server.url }] });
  const early = frame(OP.TEXT, 'early');
  const { got } = await exchange(t, b.proxyPort(), Buffer.concat([Buffer.from(upgradeRequest('/'), 'latin1'), early]),
    (g) => (afterHead(g)?.length ?? 0) >= GREETING.length);
  t.match(got.toString('latin1'), /^HTTP\/1\.1 101 /);
  t.ok(afterHead(got)!.equals(GREETING), 'the greeting after the 101');
  await waitFor(t, () => server.got().equals(early), { what: 'the early message reached the server' });
});

t.test('early client bytes that close the tunnel at once: the 101 first, then the close frame, then the end', async (t) => {
  const server = await greetingServer(t, GREETING);
  const b = await startBalancer(t, { servers: [{ name: 's', url: server.url }], limits: { max_message_bytes: '1KiB' } });
  const tooBig = frame(OP.BINARY, Buffer.alloc(4096, 7));
  const { got, ended } = await exchange(t, b.proxyPort(), Buffer.concat([Buffer.from(upgradeRequest('/'), 'latin1'), tooBig]), () => false);
  t.ok(ended, 'the balancer ended the connection');
  t.match(got.toString('latin1'), /^HTTP\/1\.1 101 Switching Protocols\r\n/, 'the 101 comes first');
  const { frames, rest } = parseFrames(afterHead(got) ?? Buffer.alloc(0));
  t.equal(rest.length, 0, 'whole frames only');
  t.same(frames.map((f) => f.op), [OP.CLOSE], 'then one close frame, nothing else');
  t.equal(closeCodeOf(frames[0]!), 1009);
  await waitFor(t, () => parseFrames(server.got()).frames.length > 0, { what: 'the server got the balancer\'s close' });
  const toServer = parseFrames(server.got()).frames;
  t.same(toServer.map((f) => f.op), [OP.CLOSE], 'the server got the close frame, no byte of the message too big');
  t.equal(closeCodeOf(toServer[0]!), 1009);
});
