/** Data fidelity through the balancer: sizes at every length-encoding edge, order, subprotocols, deflate, ping/pong, close codes. */

import t from 'tap';
import { once } from 'node:events';
import WebSocket from 'ws';
import { startBackend } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';

const open = async (url: string, protocols?: string[], opts: WebSocket.ClientOptions = {}) => {
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...opts });
  await once(ws, 'open');
  return ws;
};
const next = (ws: WebSocket) => once(ws, 'message') as Promise<[Buffer, boolean]>;

t.test('echo fidelity, order, ping/pong, close codes', async (t) => {
  const backend = await startBackend({
    name: 'b1',
    handleProtocols: (set) => (set.has('chat.v2') ? 'chat.v2' : false),
    perMessageDeflate: true,
  });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'b1', url: backend.url }] });
  const url = `ws://127.0.0.1:${b.proxyPort()}/`;

  await t.test('text and binary at 0, 125, 126, 65535, 65536 bytes and 1 MiB', async (t) => {
    const ws = await open(url);
    for (const n of [0, 125, 126, 65535, 65536, 1 << 20]) {
      const bin = Buffer.alloc(n, n % 251);
      for (let i = 0; i < n; i += 997) bin[i] = i & 0xff;
      ws.send(bin);
      const [data, isBinary] = await next(ws);
      t.ok(isBinary && Buffer.compare(data, bin) === 0, `binary ${n}`);
      const txt = 'é'.repeat(Math.floor(n / 2)) + (n % 2 ? 'x' : '');
      ws.send(txt);
      const [back, isBin] = await next(ws);
      t.ok(!isBin && back.toString() === txt, `text ${n}`);
    }
    ws.close();
  });

  await t.test('1,000 ordered messages', async (t) => {
    const ws = await open(url);
    const got: string[] = [];
    const done = new Promise<void>((r) => ws.on('message', (d) => { got.push(d.toString()); if (got.length === 1000) r(); }));
    for (let i = 0; i < 1000; i++) ws.send(String(i));
    await done;
    t.same(got, Array.from({ length: 1000 }, (_, i) => String(i)));
    ws.close();
  });

  await t.test('subprotocol chosen by the server passes through', async (t) => {
    const ws = await open(url, ['chat.v1', 'chat.v2']);
    t.equal(ws.protocol, 'chat.v2');
    ws.close();
  });

  await t.test('permessage-deflate negotiated end to end', async (t) => {
    const ws = await open(url, undefined, { perMessageDeflate: true });
    t.match(ws.extensions, /permessage-deflate/);
    const msg = 'compress me '.repeat(1000);
    ws.send(msg);
    const [data] = await next(ws);
    t.equal(data.toString(), msg);
    ws.close();
  });

  await t.test('ping/pong both ways', async (t) => {
    const ws = await open(url);
    ws.ping(Buffer.from('p1'));
    const [payload] = await once(ws, 'pong') as [Buffer];
    t.equal(payload.toString(), 'p1', 'server answered our ping through the tunnel');
    const serverSide = [...backend.wss.clients][0]!;
    serverSide.ping(Buffer.from('p2'));
    const [ping] = await once(ws, 'ping') as [Buffer];
    t.equal(ping.toString(), 'p2', 'server ping reaches the client');
    ws.close();
  });

  await t.test('client close code and reason reach the server', async (t) => {
    const ws = await open(url);
    await waitFor(t, () => backend.wss.clients.size === 1, { what: 'the server holds the connection' });
    const serverSide = [...backend.wss.clients][0]!;
    const closed = once(serverSide, 'close') as Promise<[number, Buffer]>;
    ws.close(4001, 'bye from client');
    const [code, reason] = await closed;
    t.equal(code, 4001);
    t.equal(reason.toString(), 'bye from client');
  });

  await t.test('server close code and reason reach the client', async (t) => {
    const ws = await open(url);
    await waitFor(t, () => backend.wss.clients.size === 1, { what: 'the server holds the connection' });
    [...backend.wss.clients][0]!.close(4002, 'bye from server');
    const [code, reason] = await once(ws, 'close') as [number, Buffer];
    t.equal(code, 4002);
    t.equal(reason.toString(), 'bye from server');
  });

  await t.test('request headers reach the server with forwarding headers', async (t) => {
    const ws = await open(url, undefined, { headers: { Cookie: 'a=1', Authorization: 'Bearer x', Origin: 'https://app.example', 'X-Forwarded-For': '10.9.9.9' } });
    const h = backend.handshakes.at(-1)!;
    t.equal(h.cookie, 'a=1');
    t.equal(h.authorization, 'Bearer x');
    t.equal(h.origin, 'https://app.example');
    t.equal(h['x-forwarded-for'], '10.9.9.9, 127.0.0.1');
    t.equal(h['x-forwarded-proto'], 'ws');
    t.match(h['x-forwarded-host'], /^127\.0\.0\.1:\d+$/);
    t.equal(h.upgrade, 'websocket');
    ws.close();
  });

  await waitFor(t, () => b.runtime.pools.get('p')!.servers[0]!.active === 0, { what: 'active back to 0' });
});
