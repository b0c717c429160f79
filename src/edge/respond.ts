/** Answers on a raw socket before (or instead of) an upgrade: a full HTTP response with Connection: close, then a clean close. */

import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ERRORS, type ErrorCode } from '../errors.js';

/** How long a rejected client may take to read our answer and close before we destroy the socket. */
const LINGER_MS = 2000;

export function rejectSocket(socket: Socket, code: ErrorCode, extraHeaders: readonly [string, string][] = []): void {
  const spec = ERRORS[code];
  const body = `${spec.message}\n`;
  let head = `HTTP/1.1 ${spec.status} ${STATUS_CODES[spec.status] ?? 'Error'}\r\n` +
    'Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\nX-Wslb-Error: ${code}\r\n`;
  for (const [k, v] of extraHeaders) head += `${k}: ${v}\r\n`;
  writeAndClose(socket, `${head}\r\n${body}`);
}

/**
 * Writes then half-closes, and keeps reading (discarding) until the peer closes: destroying with
 * unread input would send a RST that can make the client drop our answer before reading it.
 */
export function writeAndClose(socket: Socket, data: string | Buffer): void {
  if (socket.destroyed) return;
  if (!socket.listenerCount('error')) socket.on('error', noop);
  socket.removeAllListeners('data');
  socket.on('data', noop);
  socket.resume();
  if (data.length) socket.write(data);
  socket.end();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', () => socket.destroy());
}

function noop(): void {}
