/**
 * HTTP/2 request and response headers as the HTTP/1.1 side of the balancer reads and writes them:
 * pseudo-headers checked and turned into a target and a Host, cookies joined, h2-only fields never
 * passed on; and a server's HTTP/1.1 header lines turned into an HTTP/2 header block.
 */

import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { ErrorCode } from '../errors.js';
import { endToEndHeaders } from '../tunnel/headers.js';
import { validHost } from './handshake.js';

/** An HTTP/2 request seen as HTTP/1.1: what the upgrade path and the plain-HTTP proxy read. */
export interface H1View {
  readonly method: string;
  /** `:path`: origin-form, starting with "/". */
  readonly url: string;
  /** Name/value pairs in the client's order, Host first (from `:authority`), no pseudo-header. */
  readonly rawHeaders: string[];
  /** The same, joined as node:http joins an IncomingMessage's (", ", cookies "; ", set-cookie an array). */
  readonly headers: IncomingHttpHeaders;
}

/** RFC 9113 8.3.1: origin-form for every method we proxy; "*" (OPTIONS) and absolute-form are refused. */
const PATH_RE = /^\/[\x21-\x7e]*$/;

/**
 * Checks the pseudo-headers of `raw` (the stream's header list, in order) and builds its
 * HTTP/1.1 view, or says why it is malformed. `:authority` becomes Host; a Host field beside it
 * must name the same authority (RFC 9113 8.3.1). Cookie fields, which HTTP/2 may split, are joined
 * with "; " into one (RFC 9113 8.2.3) so an HTTP/1.1 server sees one Cookie header.
 */
export function h1View(raw: readonly string[]): H1View | ErrorCode {
  let method = '';
  let path = '';
  let scheme = '';
  let authority: string | undefined;
  let host: string | undefined;
  let cookie: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 58) {   // ':'
      if (name === ':method') method = value;
      else if (name === ':path') path = value;
      else if (name === ':scheme') scheme = value;
      else if (name === ':authority') authority = value;
      continue;   // :protocol is the caller's
    }
    if (name === 'host') {
      if (host !== undefined) return 'WSLB_ERR_BAD_HOST';
      host = value;
    } else if (name === 'cookie') {
      cookie = cookie === undefined ? value : `${cookie}; ${value}`;
    } else {
      rest.push(name, value);
    }
  }
  if (!PATH_RE.test(path) || (scheme !== 'https' && scheme !== 'http')) return 'WSLB_ERR_MALFORMED';
  if (authority !== undefined && host !== undefined && authority.toLowerCase() !== host.toLowerCase()) return 'WSLB_ERR_BAD_HOST';
  const hostValue = authority ?? host;
  if (hostValue === undefined || !validHost(hostValue)) return 'WSLB_ERR_BAD_HOST';
  const rawHeaders = ['host', hostValue, ...rest];
  if (cookie !== undefined) rawHeaders.push('cookie', cookie);
  return { method, url: path, rawHeaders, headers: joinHeaders(rawHeaders) };
}

/** Joins repeated fields as node:http does for an IncomingMessage (names are lower case in HTTP/2). */
export function joinHeaders(raw: readonly string[]): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    const value = raw[i + 1]!;
    const prev = out[key];
    if (key === 'set-cookie') (out['set-cookie'] ??= []).push(value);
    else if (prev === undefined) out[key] = value;
    else out[key] = `${prev as string}, ${value}`;
  }
  return out;
}

/** Fields an HTTP/2 response must not carry, or that mean nothing in it (a 2xx to CONNECT has no body framing; no Accept in RFC 8441). */
const NOT_IN_CONNECT_ANSWER = new Set(['content-length', 'sec-websocket-accept']);

/**
 * A server's answer headers (HTTP/1.1 raw name/value pairs) as an HTTP/2 header block with
 * `status`: hop-by-hop fields (connection-specific ones, which HTTP/2 forbids) removed, names in
 * lower case, Set-Cookie fields kept apart and other repeats joined with ", " (node:http2 refuses
 * a list for a single-value field). `connect`: the answer opens an extended CONNECT
 * tunnel, so body framing and the HTTP/1.1 handshake's Accept go too.
 */
export function h2ResponseHeaders(status: number, raw: readonly string[], connect: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':status': status };
  for (const [name, value] of endToEndHeaders(raw)) {
    const key = name.toLowerCase();
    if (connect && NOT_IN_CONNECT_ANSWER.has(key)) continue;
    const prev = out[key];
    if (prev === undefined) out[key] = key === 'set-cookie' ? [value] : value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[key] = `${String(prev)}, ${value}`;
  }
  return out;
}
