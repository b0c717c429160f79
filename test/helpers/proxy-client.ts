/** Test helper: a raw client that sends a PROXY header (optionally dripped, optionally then TLS) and a request head, and reads the answer's status line. */

import net from 'node:net';
import tls from 'node:tls';
import { upgradeRequest } from './raw-client.js';

export interface ProxiedAnswer {
  status: number;        // 0: closed (or timed out) without an HTTP answer
  head: string;
  closed: boolean;       // the balancer closed the connection
  socket: net.Socket;    // still open after a 101 (the caller destroys it)
}

export interface ProxiedOptions {
  localAddress?: string;
  /** Write the PROXY header one byte at a time, then the request separately. */
  drip?: boolean;
  /** After the PROXY header, speak TLS (trusting `ca`). */
  tlsCa?: Buffer;
  request?: string;
  timeoutMs?: number;
}

/** Sends `header` then an upgrade request (or `request`) to 127.0.0.1:port and waits for a response head or the close. */
export async function proxied(port: number, header: Buffer | string, opts: ProxiedOptions = {}): Promise<ProxiedAnswer> {
  const raw = net.connect({ host: '127.0.0.1', port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
  raw.on('error', () => {});
  await new Promise<void>((resolve, reject) => { raw.once('connect', resolve); raw.once('error', reject); });
  const bytes = Buffer.isBuffer(header) ? header : Buffer.from(header, 'latin1');
  const request = opts.request ?? upgradeRequest('/');
  if (opts.drip) {
    for (const b of bytes) { raw.write(Buffer.from([b])); await new Promise((r) => setTimeout(r, 2)); }
  } else if (!opts.tlsCa) {
    raw.write(Buffer.concat([bytes, Buffer.from(request, 'latin1')]));   // one segment: header and head together
  } else {
    raw.write(bytes);
  }
  let socket: net.Socket = raw;
  if (opts.tlsCa) {
    const t = tls.connect({ socket: raw, ca: opts.tlsCa, servername: 'localhost' });
    t.on('error', () => {});
    socket = t;
    await new Promise<void>((resolve) => { t.once('secureConnect', resolve); t.once('close', resolve); });
  }
  if (opts.drip || opts.tlsCa) socket.write(request);
  return new Promise((resolve) => {
    let got = '';
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      resolve({ status: m ? Number(m[1]) : 0, head: got.split('\r\n\r\n')[0] ?? '', closed, socket });
    };
    const timer = setTimeout(() => done(false), opts.timeoutMs ?? 3000);
    socket.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      if (got.includes('\r\n\r\n') && got.startsWith('HTTP/1.1 101')) done(false);
    });
    socket.once('close', () => done(true));
  });
}

/** A PROXY v2 header for TCP over IPv4 or IPv6 (built by hand here, independently of src/). */
export function v2Header(src: string, dst: string, sport: number, dport: number, command = 1): Buffer {
  const sig = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
  const six = net.isIPv6(src);
  const addr = six ? Buffer.concat([ip6(src), ip6(dst)]) : Buffer.from([...src.split('.'), ...dst.split('.')].map(Number));
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(sport, 0);
  ports.writeUInt16BE(dport, 2);
  const body = Buffer.concat([addr, ports]);
  const head = Buffer.from([0x20 | command, six ? 0x21 : 0x11, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([sig, head, body]);
}

function ip6(a: string): Buffer {
  const [h = '', t = ''] = a.split('::');
  const hs = h ? h.split(':') : [];
  const ts = t ? t.split(':') : [];
  const all = [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
