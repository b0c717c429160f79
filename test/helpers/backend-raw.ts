/** Test helper: misbehaving backends on raw TCP that write their HTTP answers byte by byte, to test the balancer's upstream checks. */

import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { wsAccept } from './raw-client.js';

export type RawMode =
  | 'refuse' | 'silent' | 'status-426-keepalive' | 'bad-accept' | 'h2c'
  | 'unoffered-protocol' | 'bare-101' | 'status-500' | 'hello-with-101';

export const RAW_MODES: readonly RawMode[] = [
  'refuse', 'silent', 'status-426-keepalive', 'bad-accept', 'h2c',
  'unoffered-protocol', 'bare-101', 'status-500', 'hello-with-101',
];

/** One request head as the raw backend parsed it. */
export interface RawRequestLog {
  method: string;
  url: string;
  headers: Record<string, string>;      // lower-case names
}

export interface RawBackend {
  readonly name: string;
  readonly mode: RawMode;
  readonly port: number;
  readonly url: string;
  readonly handshakes: Record<string, string>[];   // headers of every request head received
  readonly requests: RawRequestLog[];
  readonly received: Buffer[];                     // every chunk received, in order, all sockets
  readonly accepted: number;                       // TCP accepts
  close(): Promise<void>;
}

export const SECRET_BODY = 'SECRET-INTERNAL';

function parseHead(head: string): RawRequestLog {
  const lines = head.split('\r\n');
  const [method = '', url = ''] = (lines[0] ?? '').split(' ');
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { method, url, headers };
}

function switching(lines: string[]): string {
  return ['HTTP/1.1 101 Switching Protocols', ...lines, '', ''].join('\r\n');
}

/** What the backend writes for the n-th request head (0-based) on one socket; `end` closes after it. */
function answer(mode: RawMode, name: string, req: RawRequestLog, n: number): { bytes: Buffer; end: boolean } | null {
  const accept = wsAccept(req.headers['sec-websocket-key'] ?? '');
  const text = (s: string, end = false) => ({ bytes: Buffer.from(s, 'latin1'), end });
  switch (mode) {
    case 'status-426-keepalive': {
      if (n > 0) {
        return text(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${SECRET_BODY.length}\r\n` +
          `Connection: keep-alive\r\nX-Server: ${name}\r\n\r\n${SECRET_BODY}`);
      }
      const body = 'upgrade required';
      return text(`HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n` +
        `Content-Type: text/plain\r\nContent-Length: ${body.length}\r\nX-Server: ${name}\r\n\r\n${body}`);
    }
    case 'bad-accept':
      return text(switching(['Upgrade: websocket', 'Connection: Upgrade',
        `Sec-WebSocket-Accept: ${wsAccept('not-the-key')}`]));
    case 'h2c':
      return text(switching(['Upgrade: h2c', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`]));
    case 'unoffered-protocol':
      return text(switching(['Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`,
        'Sec-WebSocket-Protocol: nope']));
    case 'bare-101':
      return text(switching([]));
    case 'status-500':
      return text(`HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n` +
        `Connection: close\r\nX-Server: ${name}\r\n\r\nboom`, true);
    case 'hello-with-101': {
      if (n > 0) return null;
      const head = Buffer.from(switching(['Upgrade: websocket', 'Connection: Upgrade',
        `Sec-WebSocket-Accept: ${accept}`]), 'latin1');
      // Unmasked text frame "hi" in the same write as the 101: it must reach the client intact.
      return { bytes: Buffer.concat([head, Buffer.from([0x81, 0x02, 0x68, 0x69])]), end: false };
    }
    default:
      return null;   // 'silent' (and 'refuse', which never accepts) answer nothing
  }
}

const UPGRADED: ReadonlySet<RawMode> = new Set(['bad-accept', 'h2c', 'unoffered-protocol', 'hello-with-101']);

/** Starts a raw backend in `mode` on 127.0.0.1 port 0 ('refuse': a port that was bound, then closed). */
export async function startRawBackend(mode: RawMode, name: string = mode): Promise<RawBackend> {
  const handshakes: Record<string, string>[] = [];
  const requests: RawRequestLog[] = [];
  const received: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  let accepted = 0;

  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
    let pending = Buffer.alloc(0);
    let heads = 0;
    let upgraded = false;
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      if (upgraded) {
        // After our 101 only a client close frame (opcode 8) gets an answer: an empty close, then FIN.
        if ((chunk[0]! & 0x0f) === 0x08) socket.end(Buffer.from([0x88, 0x00]));
        return;
      }
      pending = Buffer.concat([pending, chunk]);
      let end: number;
      while (!upgraded && (end = pending.indexOf('\r\n\r\n')) !== -1) {
        const req = parseHead(pending.subarray(0, end).toString('latin1'));
        pending = pending.subarray(end + 4);
        requests.push(req);
        handshakes.push(req.headers);
        const out = answer(mode, name, req, heads++);
        if (out === null) continue;
        if (out.end) socket.end(out.bytes);
        else socket.write(out.bytes);
        if (UPGRADED.has(mode)) upgraded = true;
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  if (mode === 'refuse') await close();

  return {
    name, mode, port, url: `ws://127.0.0.1:${port}`, handshakes, requests, received,
    get accepted() { return accepted; },
    close,
  };
}
