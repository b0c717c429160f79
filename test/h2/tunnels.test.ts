// WebSocket tunnels over HTTP/2 streams: many per connection spread by the algorithm, a reset ends only its own, drains and server failures close at frame boundaries, 1009, idle, backpressure tied to h2 flow control.
import t from 'tap';
import http2 from 'node:http2';
import { once } from 'node:events';
import type { WebSocket } from 'ws';
import { h2Farm } from './farm.js';
import { clientFrame, closeCodeOf, connectWs, echoOver, h2Session, type Tunnel } from './client.js';
import { sleep, waitFor } from '../helpers/wait.js';

const activeOf = (b: { runtime: { pools: Map<string, { servers: { name: string; active: number }[] }> } }): Record<string, number> =>
  Object.fromEntries(b.runtime.pools.get('p')!.servers.map((s) => [s.name, s.active]));

t.test('six streams on one connection: round-robin spreads them 2-2-2, each echoes on its own', async (t) => {
  const { b, backends, caPem } = await h2Farm(t, 3, { algorithm: 'round-robin' });
  const session = await h2Session(t, b.proxyPort(), caPem);
  const tunnels: Tunnel[] = [];
  for (let i = 0; i < 6; i++) tunnels.push(await connectWs(session, `/s${i}`));
  t.same(tunnels.map((x) => x.status), [200, 200, 200, 200, 200, 200]);
  t.same(backends.map((be) => be.connections), [2, 2, 2], 'spread by the algorithm');
  const echoes = await Promise.all(tunnels.map((x, i) => echoOver(x, `m${i}`)));
  t.same(echoes, ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
  t.equal(b.runtime.http2.sessions, 1, 'all over one HTTP/2 connection');
  t.equal(b.runtime.http2.tunnels, 6);
  t.same(activeOf(b), { 'e-1': 2, 'e-2': 2, 'e-3': 2 });
});

t.test('a reset stream ends its own tunnel and its server connection; its siblings carry on', async (t) => {
  const { b, backends, caPem } = await h2Farm(t, 1);
  const session = await h2Session(t, b.proxyPort(), caPem);
  const [a, x, c] = [await connectWs(session, '/a'), await connectWs(session, '/b'), await connectWs(session, '/c')];
  t.equal(backends[0]!.active, 3);
  x.stream.close(http2.constants.NGHTTP2_CANCEL);
  await waitFor(t, () => backends[0]!.active === 2, { what: 'the reset stream\'s server connection closed' });
  await waitFor(t, () => b.runtime.tunnels.size === 2, { what: 'its tunnel ended' });
  t.equal(await echoOver(a, 'still here'), 'still here');
  t.equal(await echoOver(c, 'me too'), 'me too');
  t.notOk(session.destroyed, 'the connection stays up');
});

t.test('an admin drain closes its tunnels with 1012 at a frame boundary, then END_STREAM; the other server\'s stay', async (t) => {
  const { b, caPem } = await h2Farm(t, 2, { algorithm: 'round-robin' });
  const session = await h2Session(t, b.proxyPort(), caPem);
  const one = await connectWs(session, '/1');
  const two = await connectWs(session, '/2');
  t.equal(await echoOver(one, 'x'), 'x');
  const server = b.runtime.pools.get('p')!.servers.find((s) => s.name === 'e-1')!;
  const ended = once(one.stream, 'end');
  void b.runtime.drainServer(server, 0);
  const f = await one.next();
  t.same([f.opcode, closeCodeOf(f)], [8, 1012], 'close frame 1012');
  await ended;
  t.pass('the stream ended (END_STREAM)');
  t.equal(await echoOver(two, 'y'), 'y', 'the tunnel on the other server is untouched');
});

t.test('a server that dies between frames gives its client 1014', async (t) => {
  const { b, backends, caPem } = await h2Farm(t, 1);
  const session = await h2Session(t, b.proxyPort(), caPem);
  const tunnel = await connectWs(session, '/');
  t.equal(await echoOver(tunnel, 'ok'), 'ok');
  for (const ws of backends[0]!.wss.clients) (ws as WebSocket).terminate();
  const f = await tunnel.next();
  t.same([f.opcode, closeCodeOf(f)], [8, 1014]);
  tunnel.stream.end();   // the client's side of the closing handshake: END_STREAM
  await waitFor(t, () => b.runtime.tunnels.size === 0, { what: 'the tunnel closed' });
});

t.test('a message over max_message_bytes is closed with 1009', async (t) => {
  const { b, caPem } = await h2Farm(t, 1, { limits: { max_message_bytes: '1KiB' } });
  const session = await h2Session(t, b.proxyPort(), caPem);
  const tunnel = await connectWs(session, '/');
  t.equal(await echoOver(tunnel, 'small'), 'small');
  const next = tunnel.next();
  tunnel.stream.write(clientFrame(2, Buffer.alloc(4096)));
  const f = await next;
  t.same([f.opcode, closeCodeOf(f)], [8, 1009]);
});

t.test('an idle tunnel is closed with 1001 after timeouts.idle', async (t) => {
  const { b, caPem } = await h2Farm(t, 1, { timeouts: { idle: '300ms' } });
  const session = await h2Session(t, b.proxyPort(), caPem);
  const tunnel = await connectWs(session, '/');
  const f = await tunnel.next();
  t.same([f.opcode, closeCodeOf(f)], [8, 1001]);
});

t.test('a stream that does not read: its server is paused at max_buffered_bytes (h2 flow control), its siblings unaffected', async (t) => {
  const { b, backends, caPem } = await h2Farm(t, 1, { limits: { max_buffered_bytes: '64KiB', stall: '0s' } });
  const session = await h2Session(t, b.proxyPort(), caPem);
  const slow = await connectWs(session, '/slow');
  const quick = await connectWs(session, '/quick');
  slow.stream.pause();   // the h2 client stops reading: its stream window fills, then our writes queue
  const flooder = [...backends[0]!.wss.clients][0] as WebSocket;
  const chunk = Buffer.alloc(16 * 1024, 7);
  let sent = 0;
  // The server pushes up to 8 MiB as fast as its socket takes it, for at most 1.5 s.
  const until = Date.now() + 1500;
  await new Promise<void>((resolve) => {
    const push = (): void => {
      while (sent < 8 * 1024 * 1024 && flooder.bufferedAmount < 1024 * 1024) { flooder.send(chunk); sent += chunk.length; }
      if (sent >= 8 * 1024 * 1024 || Date.now() > until) resolve(); else setTimeout(push, 5);
    };
    push();
  });
  // Waited for: after a stall the push loop can end before the balancer had a turn to take the bytes it sent.
  const backpressured = () => [...b.runtime.tunnels].find((x) => x.server.name === 'e-1' && x.backpressured);
  await waitFor(t, () => backpressured() !== undefined, { ms: 10_000, what: 'the slow stream\'s tunnel paused its server' });
  const slowTunnel = backpressured();
  const queued = slowTunnel ? slowTunnel.buffered.toClient : -1;
  t.ok(queued >= 0 && queued < 64 * 1024 + 160 * 1024, `queued towards the client is bounded: ${queued} bytes`);
  for (let i = 0; i < 5; i++) t.equal(await echoOver(quick, `q${i}`), `q${i}`, 'the sibling stream echoes');
  // Reading again drains it.
  let got = 0;
  slow.stream.on('data', (c: Buffer) => { got += c.length; });
  slow.stream.resume();
  await waitFor(t, () => got > 1024 * 1024, { what: 'the slow stream reads again' });
  await sleep(0);
});

t.test('a server that does not read: the client\'s stream is paused (its window closes), bounded, and its siblings carry on', async (t) => {
  const { b, backends, caPem } = await h2Farm(t, 1, { limits: { max_buffered_bytes: '64KiB', stall: '0s' } });
  const session = await h2Session(t, b.proxyPort(), caPem);
  const stuck = await connectWs(session, '/stuck');
  const quick = await connectWs(session, '/quick');
  const serverSide = [...backends[0]!.wss.clients][0] as WebSocket & { _socket: { pause(): void; resume(): void } };
  serverSide._socket.pause();
  const frame = clientFrame(2, Buffer.alloc(16 * 1024, 3));
  let written = 0;
  const until = Date.now() + 1500;
  while (written < 4 * 1024 * 1024 && Date.now() < until) {
    if (!stuck.stream.write(frame)) await Promise.race([once(stuck.stream, 'drain'), sleep(100)]);
    written += frame.length;
  }
  // Waited for: after a stall the write loop can end before the balancer had a turn to take what was written.
  await waitFor(t, () => [...b.runtime.tunnels].some((x) => x.backpressured), { ms: 10_000, what: 'the tunnel paused the client stream' });
  const tunnel = [...b.runtime.tunnels].find((x) => x.backpressured);
  const held = tunnel ? tunnel.buffered.toServer : -1;
  t.ok(held >= 0 && held < 64 * 1024 + 160 * 1024, `queued towards the server is bounded: ${held} bytes`);
  t.ok(stuck.stream.writableLength > 0 || written < 4 * 1024 * 1024, 'the client is held back by flow control');
  for (let i = 0; i < 3; i++) t.equal(await echoOver(quick, `q${i}`), `q${i}`, 'the sibling stream echoes');
  serverSide._socket.resume();
});

t.test('a stream stalled past limits.stall is closed; its siblings are not', async (t) => {
  const { b, backends, caPem } = await h2Farm(t, 1, { limits: { max_buffered_bytes: '64KiB', stall: '300ms' } });
  const session = await h2Session(t, b.proxyPort(), caPem);
  const slow = await connectWs(session, '/slow');
  const quick = await connectWs(session, '/quick');
  slow.stream.pause();
  const flooder = [...backends[0]!.wss.clients][0] as WebSocket;
  for (let i = 0; i < 64; i++) flooder.send(Buffer.alloc(16 * 1024));
  await waitFor(t, () => b.runtime.tunnels.size === 1, { what: 'the stalled tunnel was closed' });
  t.equal(await echoOver(quick, 'alive'), 'alive');
  t.equal(backends[0]!.active, 1, 'its server connection went with it');
});

t.test('half-close: the client\'s END_STREAM reaches the server as FIN; its closing ends the stream', async (t) => {
  const { b, backends, caPem } = await h2Farm(t, 1);
  const session = await h2Session(t, b.proxyPort(), caPem);
  const tunnel = await connectWs(session, '/');
  t.equal(await echoOver(tunnel, 'before FIN'), 'before FIN');
  const serverSocket = ([...backends[0]!.wss.clients][0] as WebSocket & { _socket: { once(e: string, f: () => void): void } })._socket;
  const fin = new Promise<void>((resolve) => serverSocket.once('end', resolve));
  const ended = once(tunnel.stream, 'close');
  tunnel.stream.end();
  await fin;
  t.pass('the server read end-of-stream');
  await ended;
  await waitFor(t, () => b.runtime.tunnels.size === 0 && backends[0]!.active === 0, { what: 'tunnel and server connection closed' });
});
