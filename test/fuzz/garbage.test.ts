/** Garbage and grammar violations on a plaintext listener: each answered 400 (or closed) with Connection: close, no server contacted, the balancer still serving. */

import t from 'tap';
import crypto from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { startBackend } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { echo, openWs } from '../helpers/hardening.js';
import { rawRequest, wsKey } from '../helpers/raw-client.js';

/** The first flight of a real TLS client (its ClientHello), captured from a local listener. */
async function clientHello(): Promise<Buffer> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const got = new Promise<Buffer>((resolve) => server.once('connection', (s) => s.once('data', (d: Buffer) => { resolve(d); s.destroy(); })));
  const c = tls.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername: 'example.com' });
  c.on('error', () => {});
  const hello = await got;
  c.destroy();
  server.close();
  return hello;
}

const key = wsKey();
const lines = (...l: string[]): string => `${l.join('\r\n')}\r\n\r\n`;
const upgrade = ['Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13'];

t.test('garbage and malformed requests', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'b1', url: backend.url }] });
  const port = b.proxyPort();
  const hello = await clientHello();
  t.equal(hello[0], 0x16, 'a TLS handshake record');

  const cases: [string, string | Buffer, number, string | null][] = [
    ['TLS ClientHello on a plaintext port', hello, 400, 'WSLB_ERR_MALFORMED'],
    ['10 KiB of random bytes', Buffer.concat([Buffer.from([0x01]), crypto.randomBytes(10 * 1024)]), 400, 'WSLB_ERR_MALFORMED'],
    ['HTTP/1.0 upgrade', lines('GET / HTTP/1.0', 'Host: 127.0.0.1', ...upgrade), 400, 'WSLB_ERR_BAD_VERSION_HTTP'],
    ['POST upgrade', lines('POST / HTTP/1.1', 'Host: 127.0.0.1', ...upgrade, 'Content-Length: 0'), 400, 'WSLB_ERR_BAD_METHOD'],
    ['POST upgrade with a body', `${lines('POST / HTTP/1.1', 'Host: 127.0.0.1', ...upgrade, 'Content-Length: 4')}abcd`, 400, 'WSLB_ERR_BAD_METHOD'],
    ['two Upgrade headers', lines('GET / HTTP/1.1', 'Host: 127.0.0.1', 'Upgrade: websocket', ...upgrade), 400, 'WSLB_ERR_BAD_UPGRADE'],
    ['bare LF line ends', ['GET / HTTP/1.1', 'Host: 127.0.0.1', ...upgrade, '', ''].join('\n'), 400, 'WSLB_ERR_MALFORMED'],
    ['one bare LF among CRLFs', lines('GET / HTTP/1.1', `Host: 127.0.0.1\nX-A: b`, ...upgrade), 400, 'WSLB_ERR_MALFORMED'],
    ['obs-fold', lines('GET / HTTP/1.1', 'Host: 127.0.0.1', 'X-Long: a', ' folded', ...upgrade), 400, 'WSLB_ERR_MALFORMED'],
    ['missing Host (upgrade)', lines('GET / HTTP/1.1', ...upgrade), 400, 'WSLB_ERR_BAD_HOST'],
    ['empty Host (upgrade)', lines('GET / HTTP/1.1', 'Host: ', ...upgrade), 400, 'WSLB_ERR_BAD_HOST'],
    ['two Host headers (upgrade)', lines('GET / HTTP/1.1', 'Host: 127.0.0.1', 'Host: evil.example', ...upgrade), 400, 'WSLB_ERR_BAD_HOST'],
    ['missing Host (plain)', lines('GET / HTTP/1.1', 'Accept: */*'), 400, null],
    ['Content-Length with Transfer-Encoding', `${lines('GET / HTTP/1.1', 'Host: 127.0.0.1', ...upgrade, 'Content-Length: 5', 'Transfer-Encoding: chunked')}0\r\n\r\n`, 400, 'WSLB_ERR_MALFORMED'],
    ['Content-Length with Transfer-Encoding (plain)', `${lines('POST / HTTP/1.1', 'Host: 127.0.0.1', 'Content-Length: 5', 'Transfer-Encoding: chunked')}0\r\n\r\n`, 400, 'WSLB_ERR_MALFORMED'],
    ['NUL in a header value', lines('GET / HTTP/1.1', 'Host: 127.0.0.1', 'X-A: a\0b', ...upgrade), 400, 'WSLB_ERR_MALFORMED'],
    ['space before the colon', lines('GET / HTTP/1.1', 'Host : 127.0.0.1', ...upgrade), 400, 'WSLB_ERR_MALFORMED'],
    ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400, 'WSLB_ERR_MALFORMED'],
  ];
  for (const [name, bytes, status, code] of cases) {
    const res = await rawRequest(port, bytes, { timeoutMs: 3000 });
    t.equal(res.status, status, `${name}: ${status}`);
    if (code) t.equal(res.headers['x-wslb-error'], code, `${name}: ${code}`);
    t.match(res.headers.connection ?? '', /close/i, `${name}: Connection: close`);
    t.notOk(res.timedOut, `${name}: closed by the balancer`);
  }
  t.equal(backend.accepted, 0, 'no server was contacted');
  const ws = await openWs(`ws://127.0.0.1:${port}/`);
  t.equal(await echo(ws, 'alive'), 'alive', 'the balancer still serves');
  ws.close();
});
