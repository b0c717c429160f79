/** PROXY protocol v1 (text) and v2 (binary) header parser, per haproxy's proxy-protocol.txt: strict, incremental, bounded. */

import net from 'node:net';
import { normalizeAddress, type ConnectionEnds } from './client-address.js';

/** The v2 signature: \r\n\r\n\0\r\nQUIT\n. */
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** A v1 line is at most 107 bytes, CRLF included (spec section 2.1). */
export const V1_MAX = 107;
/** A v2 header is 16 bytes plus at most 65535 of addresses and TLVs. */
export const V2_MAX = 16 + 65535;

export type ProxyParse =
  | { readonly state: 'incomplete' }
  | { readonly state: 'invalid'; readonly reason: string }
  /** `ends` is absent for v1 UNKNOWN, v2 LOCAL and v2 UNSPEC/UNIX: the connection's own addresses apply. */
  | { readonly state: 'ok'; readonly version: 1 | 2; readonly length: number; readonly ends?: ConnectionEnds };

const INCOMPLETE: ProxyParse = { state: 'incomplete' };
const invalid = (reason: string): ProxyParse => ({ state: 'invalid', reason });

/** Parses the header at the start of `buf` (the bytes received so far); never reads past it. */
export function parseProxyHeader(buf: Buffer): ProxyParse {
  if (buf.length === 0) return INCOMPLETE;
  if (buf[0] === 0x50) return parseV1(buf);   // "P"
  if (buf[0] === 0x0d) return parseV2(buf);
  return invalid('no PROXY header');
}

const V1_PREFIX = 'PROXY ';
const PORT_RE = /^(0|[1-9]\d{0,4})$/;

function parseV1(buf: Buffer): ProxyParse {
  const prefixLen = Math.min(buf.length, V1_PREFIX.length);
  if (buf.toString('latin1', 0, prefixLen) !== V1_PREFIX.slice(0, prefixLen)) return invalid('no PROXY header');
  const end = buf.indexOf('\r\n', 0, 'latin1');
  if (end === -1 || end + 2 > V1_MAX) return buf.length >= V1_MAX ? invalid('v1 line longer than 107 bytes') : INCOMPLETE;
  const line = buf.toString('latin1', V1_PREFIX.length, end);
  const parts = line.split(' ');
  if (parts[0] === 'UNKNOWN') return { state: 'ok', version: 1, length: end + 2 };
  if (parts.length !== 5) return invalid('v1 needs protocol, two addresses and two ports');
  const [proto, src, dst, sport, dport] = parts as [string, string, string, string, string];
  const family = proto === 'TCP4' ? 4 : proto === 'TCP6' ? 6 : 0;
  if (family === 0) return invalid(`v1 protocol "${proto}"`);
  if (net.isIP(src) !== family || net.isIP(dst) !== family) return invalid(`v1 address not ${proto}`);
  if (!PORT_RE.test(sport) || !PORT_RE.test(dport) || Number(sport) > 65535 || Number(dport) > 65535) return invalid('v1 bad port');
  return {
    state: 'ok', version: 1, length: end + 2,
    ends: { source: { address: normalizeAddress(src), port: Number(sport) }, destination: { address: normalizeAddress(dst), port: Number(dport) } },
  };
}

function parseV2(buf: Buffer): ProxyParse {
  const n = Math.min(buf.length, V2_SIGNATURE.length);
  if (buf.compare(V2_SIGNATURE, 0, n, 0, n) !== 0) return invalid('no PROXY header');
  if (buf.length < 16) return INCOMPLETE;
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return invalid(`v2 version ${verCmd >> 4}`);
  const command = verCmd & 0x0f;
  if (command > 1) return invalid(`v2 command ${command}`);
  const famProto = buf[13]!;
  const len = buf.readUInt16BE(14);
  const length = 16 + len;
  if (buf.length < length) return INCOMPLETE;
  const family = famProto >> 4;
  const proto = famProto & 0x0f;
  if (family > 3 || proto > 2) return invalid(`v2 family/protocol 0x${famProto.toString(16)}`);
  // LOCAL: the proxy's own connection (its health checks); the real ends apply. Same for UNSPEC and UNIX.
  if (command === 0 || family === 0 || family === 3) return { state: 'ok', version: 2, length };
  if (proto !== 1) return invalid('v2 PROXY over a protocol other than TCP');
  const body = buf.subarray(16, length);
  if (family === 1) {
    if (len < 12) return invalid('v2 IPv4 address block too short');
    return {
      state: 'ok', version: 2, length,
      ends: {
        source: { address: ipv4(body, 0), port: body.readUInt16BE(8) },
        destination: { address: ipv4(body, 4), port: body.readUInt16BE(10) },
      },
    };
  }
  if (len < 36) return invalid('v2 IPv6 address block too short');
  return {
    state: 'ok', version: 2, length,
    ends: {
      source: { address: ipv6(body, 0), port: body.readUInt16BE(32) },
      destination: { address: ipv6(body, 16), port: body.readUInt16BE(34) },
    },
  };
}

function ipv4(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** An IPv6 address in its canonical text form (RFC 5952), IPv4-mapped ones as plain IPv4. */
function ipv6(b: Buffer, o: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(o + 2 * i));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return ipv4(b, o + 12);
  // Longest run of zero groups (length >= 2) becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best === -1) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
