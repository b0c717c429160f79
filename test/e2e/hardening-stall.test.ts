/** A client that stops reading while its server keeps sending: memory stays at the buffer bound, and after limits.stall the tunnel closes with 1008. */

import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { upgradeRequest } from '../helpers/raw-client.js';
import { echo, openWs } from '../helpers/hardening.js';

/** A server that pushes 64 KiB messages to every client as fast as its own send buffer allows. */
async function floodServer(): Promise<{ url: string; closes: number[]; close(): Promise<void> }> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  const closes: number[] = [];
  const chunk = Buffer.alloc(64 * 1024, 7);
  wss.on('connection', (ws: WebSocket, req) => {
    ws.on('close', (code) => closes.push(code));
    ws.on('error', () => {});
    if (req.url === '/echo') { ws.on('message', (d) => ws.send(d)); return; }
    const timer = setInterval(() => {
      for (let i = 0; i < 16 && ws.readyState === ws.OPEN && ws.bufferedAmount < 1 << 20; i++) ws.send(chunk);
    }, 5);
    ws.on('close', () => clearInterval(timer));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    closes,
    close: async () => { for (const c of wss.clients) c.terminate(); server.closeAllConnections(); await new Promise((r) => server.close(r)); },
  };
}

t.test('a stalled reader is closed with 1008 after limits.stall, memory bounded meanwhile', async (t) => {
  const server = await floodServer();
  t.teardown(() => server.close());
  const bound = 64 * 1024;
  const b = await startBalancer(t, {
    servers: [{ name: 's', url: server.url }],
    limits: { max_buffered_bytes: bound, stall: '1s' },
  });
  // A raw client: handshake, then never read again.
  const client = net.connect(b.proxyPort(), '127.0.0.1');
  client.on('error', () => {});
  t.teardown(() => client.destroy());
  client.write(upgradeRequest('/flood'));
  let head = '';
  await new Promise<void>((resolve) => {
    const onData = (c: Buffer): void => {
      head += c.toString('latin1');
      if (head.includes('\r\n\r\n')) { client.off('data', onData); client.pause(); resolve(); }
    };
    client.on('data', onData);
  });
  t.match(head, /^HTTP\/1\.1 101/);
  await waitFor(t, () => b.runtime.tunnels.size === 1, { what: 'the flooded tunnel is open' });
  const tunnel = [...b.runtime.tunnels][0]!;

  // Watch the flooded tunnel from before it fills: the stall starts when its pause count stops changing
  // while it stays paused. A change is dated at the sample before the one that saw it (it happened
  // after that one), so a late sample, on a loaded machine, cannot make the stall look shorter.
  let pauses = tunnel.pauses;
  let lastChange = performance.now();
  let prevSample = lastChange;
  let maxBuffered = 0;
  let decidedAt = NaN;
  const watch = setInterval(() => {
    const now = performance.now();
    if (tunnel.lastClose && Number.isNaN(decidedAt)) decidedAt = now;
    if (tunnel.finished || tunnel.lastClose) return;
    if (!tunnel.backpressured) lastChange = now;
    else if (tunnel.pauses !== pauses) lastChange = prevSample;
    pauses = tunnel.pauses;
    prevSample = now;
    maxBuffered = Math.max(maxBuffered, tunnel.buffered.toClient);
  }, 20);
  t.teardown(() => clearInterval(watch));

  // An echo tunnel next to it must be unaffected.
  const healthy = await openWs(`ws://127.0.0.1:${b.proxyPort()}/echo`);
  if (!await waitFor(t, () => tunnel.backpressured || !!tunnel.lastClose, { ms: 10_000, what: 'the client direction reached the buffer bound' })) return;
  t.equal(await echo(healthy, 'still fine'), 'still fine', 'other tunnels are unaffected while one is stalled');

  await waitFor(t, () => server.closes.length > 0, { ms: 20_000, what: 'the stalled tunnel was closed' });
  clearInterval(watch);
  const after = (decidedAt - lastChange) / 1000;
  t.equal(server.closes[0], 1008, 'the server got close 1008 (policy: reader stalled)');
  t.same(tunnel.lastClose, { code: 1008, by: 'balancer' });
  // stall 1 s + at most two sweeps of 250 ms; generous slack above for a loaded machine, none below.
  t.ok(after >= 0.95 && after < 4, `closing began ${after.toFixed(2)} s after the buffer last drained`);
  t.ok(maxBuffered <= bound + 144 * 1024, `at most ${maxBuffered} bytes queued towards the stalled client (bound + one read)`);
  await waitFor(t, () => b.runtime.tunnels.size === 1, { ms: 5000, what: 'the stalled tunnel is gone (both sockets), the healthy one stays' });
  t.equal(await echo(healthy, 'after'), 'after');
  healthy.close();
});
