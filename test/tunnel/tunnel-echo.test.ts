/** Tunnel data path through real sockets: echo fidelity, ordering, ping/pong, close codes passing through, permessage-deflate, counters. */

import t from 'tap';
import { WebSocket } from 'ws';
import { startBackend, startRelay } from './relay.js';
import { waitFor } from '../helpers/wait.js';

const open = (url: string, perMessageDeflate = false): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });

const nextMessage = (ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> =>
  new Promise((resolve) => ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })));

const closed = (ws: WebSocket): Promise<{ code: number; reason: string }> =>
  new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));

t.test('echo fidelity: text and binary at every length encoding boundary and 1 MiB', async (t) => {
  const backend = await startBackend();
  const relay = await startRelay({ backendPort: backend.port });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const ws = await open(relay.url);
  let sent = 0;
  for (const n of [0, 125, 126, 65535, 65536, 1024 * 1024]) {
    const bin = Buffer.alloc(n);
    for (let i = 0; i < n; i++) bin[i] = (i * 31 + n) & 0xff;
    const p = nextMessage(ws);
    ws.send(bin);
    const got = await p;
    t.ok(got.isBinary, `binary ${n}`);
    t.ok(got.data.equals(bin), `binary ${n} bytes identical`);
    const text = 'é'.repeat(Math.floor(n / 2)) + (n % 2 ? 'x' : '');
    const q = nextMessage(ws);
    ws.send(text);
    const back = await q;
    t.notOk(back.isBinary, `text ${n}`);
    t.equal(back.data.toString('utf8'), text, `text ${n} identical`);
    sent += 2;
  }
  const hop = await relay.hop(0);
  t.equal(hop.tunnel.server, relay.server);
  t.equal(hop.tunnel.lastClose, undefined, 'no close frame yet');
  t.equal(relay.server.messagesIn, sent);
  t.equal(relay.server.messagesOut, sent);
  t.ok(relay.server.bytesIn > 2 * (1024 * 1024 + 65536), 'bytes counted client -> server');
  t.ok(relay.server.bytesOut > 2 * (1024 * 1024 + 65536), 'bytes counted server -> client');
  t.equal(relay.server.bytesIn - relay.server.bytesOut, sent * 4, 'only the client masks differ');
  t.equal(relay.server.active, 1);
  const c = closed(ws);
  ws.close(1000);
  t.equal((await c).code, 1000);
  await relay.idle();
  t.equal(relay.server.active, 0);
  t.equal(relay.server.total, 1);
  t.ok(hop.client.destroyed && hop.upstream.destroyed, 'both sockets destroyed');
});

t.test('1,000 messages arrive in order', async (t) => {
  const backend = await startBackend();
  const relay = await startRelay({ backendPort: backend.port });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const ws = await open(relay.url);
  const got: string[] = [];
  const all = new Promise<void>((resolve) => ws.on('message', (d: Buffer) => { got.push(d.toString()); if (got.length === 1000) resolve(); }));
  for (let i = 0; i < 1000; i++) ws.send(`m${i}`);
  await all;
  t.same(got, Array.from({ length: 1000 }, (_, i) => `m${i}`));
  t.equal(relay.server.messagesIn, 1000);
  t.equal(relay.server.messagesOut, 1000);
  ws.close();
  await relay.idle();
  t.equal(relay.server.active, 0);
});

t.test('ping/pong both ways', async (t) => {
  const backend = await startBackend();
  const relay = await startRelay({ backendPort: backend.port });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const ws = await open(relay.url);
  const pong = new Promise<Buffer>((r) => ws.once('pong', r));
  ws.ping(Buffer.from('hello'));
  t.equal((await pong).toString(), 'hello', 'client ping answered by the server');
  const srv = backend.conns[0];
  const pong2 = new Promise<Buffer>((r) => srv.once('pong', r));
  srv.ping(Buffer.from('there'));
  t.equal((await pong2).toString(), 'there', 'server ping answered by the client');
  t.equal(relay.server.messagesIn, 0, 'control frames are not messages');
  ws.close();
  await relay.idle();
  t.equal(relay.server.active, 0);
});

t.test('close codes and reasons pass through untouched, both ways', async (t) => {
  const backend = await startBackend();
  const relay = await startRelay({ backendPort: backend.port });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });

  const a = await open(relay.url);
  const srvClosed = new Promise<{ code: number; reason: string }>((resolve) =>
    backend.conns[0].once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
  a.close(4001, 'client-bye');
  t.same(await srvClosed, { code: 4001, reason: 'client-bye' }, 'client close reaches the server');
  await relay.idle();
  t.same(relay.hops[0].tunnel.lastClose, { code: 4001, by: 'client' });

  const b = await open(relay.url);
  const c = closed(b);
  b.send('cmd:close:4002:server-bye');
  t.same(await c, { code: 4002, reason: 'server-bye' }, 'server close reaches the client');
  await relay.idle();
  t.same(relay.hops[1].tunnel.lastClose, { code: 4002, by: 'server' });
  t.equal(relay.server.active, 0);
  t.equal(relay.server.total, 2);
});

t.test('permessage-deflate negotiated end to end', async (t) => {
  const backend = await startBackend(true);
  const relay = await startRelay({ backendPort: backend.port });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const ws = await open(relay.url, true);
  t.match(ws.extensions, /permessage-deflate/);
  const text = 'compress me '.repeat(5000);
  const p = nextMessage(ws);
  ws.send(text);
  t.equal((await p).data.toString(), text);
  t.ok(relay.server.bytesIn < text.length / 10, 'compressed bytes on the wire');
  t.equal(relay.server.messagesOut, 1);
  ws.close();
  await relay.idle();
  t.equal(relay.server.active, 0);
});

t.test('a message the server sends right after the handshake is delivered', async (t) => {
  const backend = await startBackend();
  const relay = await startRelay({ backendPort: backend.port });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const ws = await open(relay.url);
  // Bytes held during the handshake (both ways) are covered with raw sockets in tunnel-close.
  backend.conns[0].send('first');
  const got = await nextMessage(ws);
  t.equal(got.data.toString(), 'first');
  ws.terminate();
  await waitFor(t, () => relay.server.active === 0, { what: 'active back to 0 after the client left' });
});
