/** The PROXY protocol header (v1 text or v2 binary) the balancer sends a server first when its pool has `send_proxy`, carrying the real client's ends. */

import net from 'node:net';
import type { ConnectionEnds, Endpoint } from '../edge/client-address.js';
import { V2_SIGNATURE } from '../edge/proxy-protocol.js';

/**
 * `ends`: the client's address and port, and the address and port it connected to (the
 * balancer's, or those of the PROXY header the balancer itself received). When the two
 * families differ, IPv4 is written as IPv4-mapped IPv6; when an address is not an IP at all,
 * v1 says UNKNOWN and v2 says LOCAL, so the server uses the connection's own addresses.
 */
export function proxyHeader(version: 'v1' | 'v2', ends: ConnectionEnds): Buffer {
  let src = ends.source;
  let dst = ends.destination;
  const fs = net.isIP(src.address);
  const fd = net.isIP(dst.address);
  const known = fs !== 0 && fd !== 0;
  if (known && fs !== fd) {
    src = mapped(src);
    dst = mapped(dst);
  }
  const six = known && (fs === 6 || fd === 6);
  return version === 'v1' ? v1(known, six, src, dst) : v2(known, six, src, dst);
}

function mapped(e: Endpoint): Endpoint {
  return net.isIP(e.address) === 4 ? { address: `::ffff:${e.address}`, port: e.port } : e;
}

function v1(known: boolean, six: boolean, src: Endpoint, dst: Endpoint): Buffer {
  if (!known) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  return Buffer.from(`PROXY ${six ? 'TCP6' : 'TCP4'} ${src.address} ${dst.address} ${src.port} ${dst.port}\r\n`, 'latin1');
}

function v2(known: boolean, six: boolean, src: Endpoint, dst: Endpoint): Buffer {
  const addrLen = !known ? 0 : six ? 36 : 12;
  const out = Buffer.alloc(16 + addrLen);
  V2_SIGNATURE.copy(out, 0);
  out[12] = known ? 0x21 : 0x20;              // version 2, PROXY (or LOCAL)
  out[13] = !known ? 0x00 : six ? 0x21 : 0x11; // TCP over IPv6 / IPv4 (or UNSPEC)
  out.writeUInt16BE(addrLen, 14);
  if (!known) return out;
  const width = six ? 16 : 4;
  writeIp(out, 16, src.address, six);
  writeIp(out, 16 + width, dst.address, six);
  out.writeUInt16BE(src.port, 16 + 2 * width);
  out.writeUInt16BE(dst.port, 18 + 2 * width);
  return out;
}

function writeIp(out: Buffer, o: number, address: string, six: boolean): void {
  if (!six) {
    address.split('.').forEach((p, i) => { out[o + i] = Number(p); });
    return;
  }
  ipv6Bytes(address).copy(out, o);
}

/** 16 bytes of an IPv6 address in text form ("::" runs, a dotted IPv4 tail and a %zone are handled). */
export function ipv6Bytes(address: string): Buffer {
  const text = address.split('%')[0]!;
  const [head = '', tail] = text.split('::');
  const words = (part: string | undefined): number[] => {
    if (!part) return [];
    return part.split(':').flatMap((g) => {
      if (!g.includes('.')) return [parseInt(g, 16)];
      const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
      return [(a << 8) | b, (c << 8) | d];
    });
  };
  const h = words(head);
  const t = tail === undefined ? [] : words(tail);
  const all = [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, 2 * i));
  return out;
}
