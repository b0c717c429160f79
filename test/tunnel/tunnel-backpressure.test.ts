/** Tunnel backpressure on real sockets: a reader that never reads, on either side, must not grow the balancer's buffers past maxBufferedBytes + one read. */

import t from 'tap';
import { WebSocket } from 'ws';
import { FrameScanner } from '../../src/tunnel/frame-scanner.js';
import { rawClient, sleep, startBackend, startRelay } from './relay.js';
import { waitFor } from '../helpers/wait.js';

const KiB = 1024;
const MAX_BUFFERED = 256 * KiB;
const CHUNK = Buffer.alloc(64 * KiB, 0x5a);

/**
 * Sends 64 KiB messages while the sender's own queue is small, until that queue has stayed
 * full for 300 ms and 60 checks (everything downstream is stuck) or 64 MiB went out (backpressure
 * broken). The count of checks matters on a loaded machine: after a stall the 300 ms have passed
 * at the first check, before the relay had an event-loop turn to move the bytes queued meanwhile.
 * Samples `watch()` every 5 ms; returns messages sent and the largest sample.
 */
async function flood(send: () => void, queued: () => number, watch: () => number): Promise<{ sent: number; max: number }> {
  let sent = 0;
  let max = 0;
  let fullSince = 0;
  let fullChecks = 0;
  const deadline = Date.now() + 20_000;
  while (sent < 1024 && Date.now() < deadline) {
    max = Math.max(max, watch());
    if (queued() < 1024 * KiB) {
      send();
      sent++;
      fullSince = 0;
      fullChecks = 0;
      if (sent % 8 === 0) await sleep(0);
      continue;
    }
    if (fullSince === 0) fullSince = Date.now();
    else if (++fullChecks >= 60 && Date.now() - fullSince > 300) break;
    await sleep(5);
  }
  return { sent, max: Math.max(max, watch()) };
}

t.test('client that never reads while the server floods', async (t) => {
  const backend = await startBackend();
  const relay = await startRelay({ backendPort: backend.port, maxBufferedBytes: MAX_BUFFERED });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const { sock, rest } = await rawClient(relay.port);   // paused after the 101: never reads
  const hop = await relay.hop(0);
  await waitFor(t, () => backend.conns.length === 1, { what: 'the server holds the connection' });
  const srv = backend.conns[0];
  const { sent, max } = await flood(() => srv.send(CHUNK), () => srv.bufferedAmount, () => hop.client.writableLength);
  t.ok(sent < 1024, `backpressure reached the server (${sent} messages sent)`);
  t.ok(hop.upstream.isPaused(), 'reading from the server paused');
  t.ok(hop.client.writableLength >= MAX_BUFFERED, `client buffer filled to the bound (${hop.client.writableLength})`);
  t.ok(max < MAX_BUFFERED + 64 * KiB, `client writableLength stayed < maxBufferedBytes + 64 KiB (max ${max})`);

  // Now read: every message arrives, so pausing lost nothing and 'drain' resumed the server.
  const count = new FrameScanner(Infinity);
  count.scan(rest);
  sock.on('data', (d: Buffer) => count.scan(d));
  sock.resume();
  await waitFor(t, () => count.messages === sent, { ms: 10_000, what: 'all messages delivered after the reader resumed' });
  t.equal(relay.server.messagesOut, sent);
  sock.destroy();
  await relay.idle();
  t.equal(relay.server.active, 0);
});

t.test('server that never reads while the client floods', async (t) => {
  const backend = await startBackend();
  const relay = await startRelay({ backendPort: backend.port, maxBufferedBytes: MAX_BUFFERED });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const ws = new WebSocket(relay.url, { perMessageDeflate: false });
  await new Promise((r) => ws.once('open', r));
  let echoed = 0;
  ws.on('message', () => { echoed++; });
  const hop = await relay.hop(0);
  await waitFor(t, () => backend.sockets.length === 1, { what: 'the server holds the connection' });
  backend.sockets[0].pause();                             // the server stops reading
  const { sent, max } = await flood(() => ws.send(CHUNK), () => ws.bufferedAmount, () => hop.upstream.writableLength);
  t.ok(sent < 1024, `backpressure reached the client (${sent} messages sent)`);
  t.ok(hop.client.isPaused(), 'reading from the client paused');
  t.ok(hop.upstream.writableLength >= MAX_BUFFERED, `server buffer filled to the bound (${hop.upstream.writableLength})`);
  t.ok(max < MAX_BUFFERED + 64 * KiB, `upstream writableLength stayed < maxBufferedBytes + 64 KiB (max ${max})`);

  backend.sockets[0].resume();
  await waitFor(t, () => echoed === sent, { ms: 10_000, what: 'every message reached the server and came back' });
  t.equal(relay.server.messagesIn, sent);
  ws.close();
  await relay.idle();
  t.equal(relay.server.active, 0);
});
