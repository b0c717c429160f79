/** Test helper: a raw-bytes HTTP client over `net` (for malformed or pipelined requests) and WebSocket key helpers. */

import net from 'node:net';
import crypto from 'node:crypto';

export interface RawResponse {
  status: number;                       // 0 when nothing parseable arrived
  headers: Record<string, string>;      // lower-case names; repeated headers joined with ", "
  body: string;                         // everything after the first blank line (latin1)
  raw: string;                          // every byte received (latin1)
  timedOut: boolean;                    // true when the server had not closed within timeoutMs
}

export interface RawRequestOptions {
  host?: string;
  timeoutMs?: number;                   // default 2000
  endAfterWrite?: boolean;              // half-close after writing (default false)
  /** Resolve as soon as a whole response head has arrived (for a 101, whose connection stays open),
   *  rather than waiting for the server to close; `timeoutMs` is then only the bound on a missing answer. */
  untilHead?: boolean;
}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A fresh Sec-WebSocket-Key: base64 of 16 random bytes. */
export function wsKey(): string {
  return crypto.randomBytes(16).toString('base64');
}

/** The Sec-WebSocket-Accept a correct server answers to `key` (RFC 6455 section 4.2.2). */
export function wsAccept(key: string): string {
  return crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
}

/** A complete upgrade request head for `path`, with optional extra header lines (each without CRLF). */
export function upgradeRequest(path = '/', extra: string[] = [], key = wsKey()): string {
  return [
    `GET ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    ...extra,
    '', '',
  ].join('\r\n');
}

/** Splits a raw HTTP response into status, headers and body; tolerant of partial input. */
export function parseResponse(raw: string, timedOut = false): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  const head = end === -1 ? raw : raw.slice(0, end);
  const body = end === -1 ? '' : raw.slice(end + 4);
  const lines = head.split('\r\n');
  const match = /^HTTP\/\d\.\d (\d{3})/.exec(lines[0] ?? '');
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { status: match ? Number(match[1]) : 0, headers, body, raw, timedOut };
}

/** Writes `text` as-is to 127.0.0.1:port and collects the answer until the server closes or the timeout passes. */
export function rawRequest(port: number, text: string | Buffer, opts: RawRequestOptions = {}): Promise<RawResponse> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const socket = net.connect({ host: opts.host ?? '127.0.0.1', port });
    const finish = (timedOut: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parseResponse(Buffer.concat(chunks).toString('latin1'), timedOut));
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A reset after some bytes arrived is an answer; a refused connect is not.
      if (chunks.length > 0) return finish(false);
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (opts.untilHead && Buffer.concat(chunks).includes('\r\n\r\n')) finish(false);
    });
    socket.on('close', () => finish(false));
    socket.on('connect', () => {
      if (opts.endAfterWrite) socket.end(text);
      else socket.write(text);
    });
  });
}
