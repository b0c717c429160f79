/** Who a client really is: the peer address (or the one a trusted PROXY header gave), trusted_proxies CIDRs, and believed X-Forwarded-For. */

import type { RequestHead } from './request-head.js';
import net from 'node:net';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** The two ends of a client connection as the client saw them (its address, the address it connected to). */
export interface ConnectionEnds {
  readonly source: Endpoint;
  readonly destination: Endpoint;
}

/** A set of CIDR blocks (`trusted_proxies`); IPv4-mapped IPv6 addresses match their IPv4 blocks. */
export class CidrSet {
  readonly size: number;
  readonly #list = new net.BlockList();

  constructor(cidrs: readonly string[]) {
    for (const c of cidrs) {
      const [addr = '', bits] = c.split('/');
      const family = net.isIP(addr) === 6 ? 'ipv6' : 'ipv4';
      const prefix = bits === undefined ? (family === 'ipv6' ? 128 : 32) : Number(bits);
      this.#list.addSubnet(normalizeAddress(addr), prefix, family);
    }
    this.size = cidrs.length;
  }

  has(address: string): boolean {
    if (this.size === 0) return false;
    const a = normalizeAddress(address);
    const family = net.isIP(a);
    return family !== 0 && this.#list.check(a, family === 6 ? 'ipv6' : 'ipv4');
  }
}

const MAPPED_RE = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** `::ffff:1.2.3.4` -> `1.2.3.4` (a dual-stack listener reports IPv4 peers that way); other addresses unchanged. */
export function normalizeAddress(address: string): string {
  if (address.charCodeAt(0) !== 58) return address;   // not ":...": cannot be a mapped address
  const m = MAPPED_RE.exec(address);
  return m ? m[1]! : address;
}

/** What a listener knows about a connection beyond the socket: its trust set, and the PROXY header's ends. */
interface ConnectionContext {
  readonly trusted: CidrSet;
  readonly proxied?: ConnectionEnds;
}

// Keyed by the accepted socket; a TLS listener's sockets are looked up through the raw socket
// they wrap (`_parent`, set by Node's TLSSocket), since the PROXY header precedes the TLS bytes.
const contexts = new WeakMap<object, ConnectionContext>();

/** Records, for one accepted socket, whose X-Forwarded-For is believed and what its PROXY header said. */
export function registerConnection(socket: net.Socket, trusted: CidrSet, proxied?: ConnectionEnds): void {
  contexts.set(socket, proxied ? { trusted, proxied } : { trusted });
}

function contextOf(socket: net.Socket): ConnectionContext | undefined {
  return contexts.get(socket) ?? contexts.get((socket as { _parent?: object })._parent ?? contexts);
}

/** The connection's ends: the PROXY header's when it carried addresses, else the socket's own. */
export function connectionEnds(socket: net.Socket): ConnectionEnds {
  const p = contextOf(socket)?.proxied;
  if (p) return p;
  return {
    source: { address: normalizeAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 },
    destination: { address: normalizeAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 },
  };
}

/** The immediate peer: the address the balancer appends to X-Forwarded-For. */
export function peerAddress(socket: net.Socket): string {
  return peerOf(socket, contextOf(socket));
}

/** The peer without the local end: no getsockname and no ends object per connection. */
function peerOf(socket: net.Socket, ctx: ConnectionContext | undefined): string {
  return ctx?.proxied ? ctx.proxied.source.address : normalizeAddress(socket.remoteAddress ?? '');
}

/**
 * The client address per-IP limits, `ip` hashing and algorithms see. X-Forwarded-For is
 * believed only when the peer is in the listener's `trusted_proxies`: the chain is read right
 * to left, skipping trusted hops, and the first untrusted address is the client (a hop that is
 * not an IP address ends the walk at the last good one). Otherwise the peer itself.
 */
export function clientAddress(req: Pick<RequestHead, 'socket' | 'rawHeaders'>): string {
  const socket = req.socket;
  const ctx = contextOf(socket);
  const peer = peerOf(socket, ctx);
  if (!ctx || ctx.trusted.size === 0 || !ctx.trusted.has(peer)) return peer;
  const raw = req.rawHeaders;
  let chain = '';
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'x-forwarded-for') chain = chain ? `${chain},${raw[i + 1]!}` : raw[i + 1]!;
  }
  if (!chain) return peer;
  const hops = chain.split(',');
  let last = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeAddress(hops[i]!.trim());
    if (net.isIP(hop) === 0) break;
    last = hop;
    if (!ctx.trusted.has(hop)) return hop;
  }
  return last;
}

/** The key per-IP limits count under: an IPv4 address, or an IPv6 address's /64 (one subscriber's usual allocation). */
export function limitKey(raw: string): string {
  const address = normalizeAddress(raw);
  if (!address.includes(':') || net.isIP(address) !== 6) return address;
  // Expand "::" so the first four groups can be taken as the /64 prefix (a dotted IPv4 tail is two groups).
  const [head = '', tail] = address.split('::');
  const groupsOf = (part: string | undefined): string[] =>
    (part ? part.split(':') : []).flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const h = groupsOf(head);
  const t = groupsOf(tail);
  const groups = [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '').toLowerCase()).join(':')}::/64`;
}
