/** The server handshake: the strict 101 reader (fast path) and the hand-over to Node's parser for every other answer, against raw TCP servers. */

import t, { type Test } from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { headEnd, parse101, requestHead } from '../../src/tunnel/response-head.js';
import { serverHandshake, type HandshakeOutcome } from '../../src/tunnel/upstream.js';

t.test('parse101: strict 101 heads only, headers joined like Node', async (t) => {
  const res = parse101('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-A: 1\r\nx-a: 2\r\nServer: one\r\nServer: two\r\nX-Empty:\r\n\r\n');
  t.ok(res);
  t.equal(res!.statusCode, 101);
  t.equal(res!.statusMessage, 'Switching Protocols');
  t.same(res!.headers['set-cookie'], ['a=1', 'b=2']);
  t.equal(res!.headers['x-a'], '1, 2');
  t.equal(res!.headers['server'], 'one', 'first-only headers keep the first, like Node');
  t.equal(res!.headers['x-empty'], '');
  t.same(res!.rawHeaders.slice(0, 4), ['Upgrade', 'websocket', 'Connection', 'Upgrade']);
  t.equal(parse101('HTTP/1.1 101\r\nUpgrade: websocket\r\n\r\n')!.statusMessage, '', 'no reason phrase');
  for (const bad of [
    'HTTP/1.1 200 OK\r\n\r\n', 'HTTP/1.0 101 x\r\n\r\n', 'HTTP/1.1 1010 x\r\n\r\n', 'http/1.1 101 x\r\n\r\n',
    'HTTP/1.1 101 x\r\nBad Name: v\r\n\r\n', 'HTTP/1.1 101 x\r\n folded\r\n\r\n', 'HTTP/1.1 101 x\r\nNoColon\r\n\r\n',
    'HTTP/1.1 101 x\r\nX: a\x00b\r\n\r\n', 'HTTP/1.1 101 x\x01\r\n\r\n',
  ]) t.equal(parse101(bad), null, JSON.stringify(bad));
  t.equal(headEnd(Buffer.from('HTTP/1.1 101\r\n\r\nrest')), 16);
  t.equal(headEnd(Buffer.from('HTTP/1.1 101\r\n\r')), -1);
  t.equal(requestHead('/p?q', [['Host', 'h'], ['X', 'y']]), 'GET /p?q HTTP/1.1\r\nHost: h\r\nX: y\r\n\r\n');
});

/** A raw server that reads one request head then writes `answer` (chunks written `gap` ms apart, or the
 *  chunks after the first once `release` resolves); returns what it read. */
async function rawServer(t: Test, answer: (string | Buffer)[], opts: { gap?: number; end?: boolean; release?: Promise<unknown> } = {}): Promise<{ port: number; heads: string[] }> {
  const heads: string[] = [];
  const server = net.createServer((s) => {
    let got = '';
    s.on('error', () => {});
    s.on('data', async (d: Buffer) => {
      got += d.toString('latin1');
      if (!got.includes('\r\n\r\n') || heads.length > 0 && got === heads.at(-1)) return;
      heads.push(got);
      for (const c of answer) {
        if (s.destroyed) return;
        s.write(c);
        if (opts.gap) await new Promise((r) => setTimeout(r, opts.gap));
        if (opts.release) await opts.release;
      }
      if (opts.end) s.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((r) => { server.close(() => r()); }));
  return { port: (server.address() as AddressInfo).port, heads };
}

async function handshake(port: number, timeoutMs = 2000): Promise<{ outcome: HandshakeOutcome; socket: net.Socket }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const outcome = await serverHandshake(socket, { path: '/chat?x=1', headers: [['Host', 'h'], ['Upgrade', 'websocket'], ['Connection', 'Upgrade']], timeoutMs });
  return { outcome, socket };
}

/** Bytes arriving on an upgraded (paused) socket after the head. */
async function nextBytes(s: net.Socket): Promise<string> {
  s.resume();
  const [d] = (await once(s, 'data')) as [Buffer];
  return d.toString('latin1');
}

const HEAD_101 = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: abc\r\n\r\n';

t.test('fast path: the request head goes out as given; a 101 in one packet with a frame after it', async (t) => {
  // FRAME2 is written once the handshake is over: 50 ms apart, a stalled process could read both packets at once.
  let handshakeDone!: () => void;
  const srv = await rawServer(t, [HEAD_101 + 'FRAME1', 'FRAME2'], { release: new Promise<void>((r) => { handshakeDone = r; }) });
  const { outcome, socket } = await handshake(srv.port);
  handshakeDone();
  t.teardown(() => socket.destroy());
  t.equal(srv.heads[0], 'GET /chat?x=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  t.equal(outcome.kind, 'upgraded');
  if (outcome.kind !== 'upgraded') return;
  t.equal(outcome.head.toString(), 'FRAME1');
  t.equal(outcome.res.headers['sec-websocket-accept'], 'abc');
  t.equal(outcome.socket, socket);
  t.equal(socket.listenerCount('data'), 0, 'no handshake listener left on the socket');
  t.equal(socket.isPaused(), true, 'paused until the tunnel takes it');
  t.equal(await nextBytes(socket), 'FRAME2');
});

t.test('fast path: a 101 written byte by byte', async (t) => {
  const srv = await rawServer(t, [...HEAD_101.split(''), 'X'], { gap: 1 });
  const { outcome, socket } = await handshake(srv.port, 5000);
  t.teardown(() => socket.destroy());
  t.equal(outcome.kind, 'upgraded');
  if (outcome.kind !== 'upgraded') return;
  const rest = outcome.head.length ? outcome.head.toString() : await nextBytes(socket);
  t.equal(rest, 'X');
});

t.test('hand-over: 100 Continue then a 101 is an upgrade, as with Node\'s client', async (t) => {
  const srv = await rawServer(t, ['HTTP/1.1 100 Continue\r\n\r\n' + HEAD_101 + 'F']);
  const { outcome, socket } = await handshake(srv.port);
  t.teardown(() => socket.destroy());
  t.equal(outcome.kind, 'upgraded');
  if (outcome.kind !== 'upgraded') return;
  t.equal(outcome.socket, socket, 'the real socket, not the replay stream');
  t.equal(outcome.head.toString(), 'F');
});

t.test('hand-over: a 101 with an obs-folded header goes to Node\'s parser, which refuses it', async (t) => {
  const srv = await rawServer(t, ['HTTP/1.1 101 Switching\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Fold: a\r\n  b\r\n\r\nF']);
  const { outcome, socket } = await handshake(srv.port);
  t.same({ kind: outcome.kind, code: outcome.kind === 'failed' ? outcome.code : null }, { kind: 'failed', code: 'WSLB_ERR_UPSTREAM_CLOSED' });
  t.equal(socket.destroyed, true);
});

t.test('hand-over: a 404 with a body is a response to relay', async (t) => {
  const srv = await rawServer(t, ['HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\nX-Why: nope\r\n\r\n', 'gone!'], { gap: 5 });
  const { outcome, socket } = await handshake(srv.port);
  t.teardown(() => socket.destroy());
  t.equal(outcome.kind, 'response');
  if (outcome.kind !== 'response') return;
  t.equal(outcome.res.statusCode, 404);
  t.equal(outcome.res.headers['x-why'], 'nope');
  let body = '';
  for await (const c of outcome.res) body += (c as Buffer).toString();
  t.equal(body, 'gone!');
  outcome.res.socket?.destroy();
  await new Promise((r) => setImmediate(r));
  t.equal(socket.destroyed, true, 'destroying the response destroys the server socket');
});

t.test('a bare 101 is read as one; the caller\'s 101 check refuses it (WSLB_ERR_BAD_101 in the e2e tests)', async (t) => {
  const srv = await rawServer(t, ['HTTP/1.1 101 Switching Protocols\r\n\r\n']);
  const { outcome, socket } = await handshake(srv.port);
  t.teardown(() => socket.destroy());
  t.equal(outcome.kind, 'upgraded');
  if (outcome.kind === 'upgraded') t.equal(outcome.res.headers['upgrade'], undefined);
});

t.test('failures: garbage, an oversized head, a close mid-head, silence', async (t) => {
  const cases: [string, (string | Buffer)[], { end?: boolean }, string][] = [
    ['garbage', ['NOT HTTP AT ALL\r\n\r\n'], {}, 'WSLB_ERR_UPSTREAM_CLOSED'],
    ['oversized head', ['HTTP/1.1 101 x\r\n', `X-Big: ${'a'.repeat(20_000)}\r\n`], {}, 'WSLB_ERR_UPSTREAM_CLOSED'],
    ['close mid-head', ['HTTP/1.1 101 Switching'], { end: true }, 'WSLB_ERR_UPSTREAM_CLOSED'],
    ['silence', [], {}, 'WSLB_ERR_UPSTREAM_TIMEOUT'],
  ];
  for (const [name, answer, opts, code] of cases) {
    const srv = await rawServer(t, answer, opts);
    // A short timeout only where it is the point: elsewhere a stall could let it beat the server's answer.
    const { outcome, socket } = await handshake(srv.port, code === 'WSLB_ERR_UPSTREAM_TIMEOUT' ? 500 : 10_000);
    t.equal(outcome.kind, 'failed', name);
    if (outcome.kind === 'failed') t.equal(outcome.code, code, name);
    t.equal(socket.destroyed, true, `${name}: socket destroyed`);
  }
});
