/** Tunnel.start with the client's 101 handed to it: the 101 and the server's bytes that came with its own 101 reach the client in order, in one write, with or without such bytes. */

import t from 'tap';
import { FrameScanner } from '../../src/tunnel/frame-scanner.js';
import { frame, rawClient, startRawBackend, startRelay } from './relay.js';
import { waitFor } from '../helpers/wait.js';

const GREETING = frame(1, Buffer.from('{"type":"hello"}'));

for (const greeting of [GREETING, Buffer.alloc(0)]) {
  t.test(`the 101 through start(), ${greeting.length ? 'with' : 'without'} server bytes after the server's 101`, async (t) => {
    const backend = await startRawBackend((s) => { s.on('data', (d: Buffer) => s.write(d)); }, greeting);
    const relay = await startRelay({ backendPort: backend.port, headInStart: true, finTimeout: 200 });
    t.teardown(async () => { await relay.stop(); await backend.stop(); });
    const { sock, rest } = await rawClient(relay.port);
    t.ok(rest.equals(greeting.subarray(0, rest.length)), 'what follows the 101 is the greeting, from its first byte');
    const got: Buffer[] = [rest];
    sock.on('data', (d: Buffer) => got.push(d));
    sock.resume();
    await waitFor(t, () => Buffer.concat(got).length >= greeting.length, { what: 'the whole greeting' });
    t.ok(Buffer.concat(got).equals(greeting), 'exactly the greeting');
    const hop = relay.hops[0]!;
    t.equal(hop.client.writableLength, 0, 'nothing left corked');
    // The tunnel still scanned the greeting: a message counted, and the pipe works both ways after it.
    t.equal(relay.server.messagesOut, greeting.length ? 1 : 0);
    const echo = new FrameScanner(Infinity);
    sock.removeAllListeners('data');
    sock.on('data', (d: Buffer) => echo.scan(d));
    sock.write(frame(1, Buffer.from('ping'), { mask: true }));
    await waitFor(t, () => echo.messages === 1, { what: 'the echo through the tunnel' });
    sock.destroy();
    await relay.idle();
  });
}
