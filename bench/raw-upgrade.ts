/** One raw-TCP WebSocket cycle for `handshake --raw`: write a fixed upgrade request, read the 101 head, send a masked close, read the server's close, FIN. */

import net from 'node:net';

// A cheap client: no HTTP parser, no accept-key check, no frame objects. What is measured is the
// target's cost per full connection lifetime (upgrade + close handshake + FIN), the generator's
// own cost kept as low as a Node client can make it.

export interface RawTarget {
  host: string;
  port: number;
  request: Buffer;
}

/** The fixed request for a ws:// URL (wss:// is refused: this client speaks plain TCP only). */
export function rawTarget(url: string): RawTarget {
  const u = new URL(url);
  if (u.protocol !== 'ws:') throw new Error(`--raw: only ws:// URLs, got "${url}"`);
  const port = Number(u.port || 80);
  const request = Buffer.from(
    `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n', 'latin1');
  return { host: u.hostname, port, request };
}

/** Close frame, code 1000, masked with a fixed key (clients must mask; the key's value does not matter). */
export const CLOSE_FRAME = ((): Buffer => {
  const key = [0x37, 0xfa, 0x21, 0x3d];
  const payload = [0x03, 0xe8];
  return Buffer.from([0x88, 0x82, ...key, payload[0]! ^ key[0]!, payload[1]! ^ key[1]!]);
})();

const HEAD_END = Buffer.from('\r\n\r\n');
const MAX_HEAD = 16 * 1024;

export interface RawCycle {
  /** ms from connect() to the end of the 101 head; undefined when no 101 came. */
  upgradeMs?: number;
  /** ms from connect() to the socket's close. */
  cycleMs: number;
  /** Set when the cycle failed: `http 503`, `ECONNREFUSED`, `timeout`, `no close frame`, ... */
  error?: string;
}

/**
 * Offset just past the first close frame (opcode 8) in unmasked server frames at buf[from..],
 * -1 when none is complete yet. Other frames (a greeting, a tick) are skipped.
 */
export function findClose(buf: Buffer, from: number): number {
  let at = from;
  while (at + 2 <= buf.length) {
    const op = buf[at]! & 0x0f;
    let len = buf[at + 1]! & 0x7f;
    let hdr = 2;
    if (len === 126) {
      if (at + 4 > buf.length) return -1;
      len = buf.readUInt16BE(at + 2);
      hdr = 4;
    } else if (len === 127) {
      if (at + 10 > buf.length) return -1;
      len = Number(buf.readBigUInt64BE(at + 2));
      hdr = 10;
    }
    if (at + hdr + len > buf.length) return -1;
    at += hdr + len;
    if (op === 8) return at;
  }
  return -1;
}

/** Runs one cycle; never rejects. `localAddress`: bind the source address first. */
export function rawCycle(t: RawTarget, timeoutMs: number, localAddress?: string): Promise<RawCycle> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const out: RawCycle = { cycleMs: 0 };
    let buf: Buffer = Buffer.alloc(0);
    let bodyAt = -1;      // where frames start, once the 101 head is read
    let closed = false;   // the server's close frame arrived
    const s = net.connect({ host: t.host, port: t.port, ...(localAddress ? { localAddress } : {}) });
    const fail = (kind: string): void => {
      out.error ??= kind;
      s.destroy();
    };
    const timer = setTimeout(() => fail('timeout'), timeoutMs);
    s.setNoDelay(true);
    s.on('connect', () => s.write(t.request));
    s.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'error'));
    s.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      if (bodyAt < 0) {
        const end = buf.indexOf(HEAD_END);
        if (end < 0) {
          if (buf.length > MAX_HEAD) fail('head too large');
          return;
        }
        const status = /^HTTP\/1\.[01] (\d{3})/.exec(buf.toString('latin1', 0, Math.min(end, 64)))?.[1] ?? '?';
        if (status !== '101') return fail(`http ${status}`);
        out.upgradeMs = performance.now() - t0;
        bodyAt = end + HEAD_END.length;
        s.write(CLOSE_FRAME);
      }
      if (!closed && findClose(buf, bodyAt) >= 0) {
        closed = true;
        s.end();   // FIN after the server's close frame
      }
    });
    // The server ends its side after the close handshake; a Node socket closes once both sides have.
    s.on('end', () => { if (!closed) fail(bodyAt < 0 ? 'closed before 101' : 'no close frame'); });
    s.on('close', () => {
      clearTimeout(timer);
      if (!closed && !out.error) out.error = bodyAt < 0 ? 'closed before 101' : 'no close frame';
      out.cycleMs = performance.now() - t0;
      resolve(out);
    });
  });
}
