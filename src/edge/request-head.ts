/**
 * A strict reader for the one request head the listener's fast path takes: a clean WebSocket
 * upgrade (`GET /origin-form HTTP/1.1`, token header names, visible-ASCII values, Connection
 * listing `upgrade`, an Upgrade header, no body headers). It never judges a request: anything it
 * does not accept (another method or version, a lenient-but-legal or malformed line, obs-fold,
 * bare CR or LF, NUL, obs-text, body headers, very many headers, a head near the size limit) goes
 * to node:http with the bytes already read, so every odd request keeps exactly Node's semantics
 * and the edge's own rules (src/edge/handshake.ts) still decide every upgrade, on either path.
 * Why by hand: http.Server costs a parser, an IncomingMessage, a ServerResponse and the 'upgrade'
 * dispatch per connection, a large share of the CPU of a short-lived upgrade.
 */

import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';

/** What the upgrade path reads of a request: IncomingMessage has it all, and so does a head read here. */
export interface RequestHead {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly socket: Socket;
}

/**
 * More headers than this and the head goes to Node (whose maxHeadersCount drops extras silently:
 * the fast path must never see a different set of headers than Node would).
 */
export const MAX_FAST_HEADERS = 256;

// Origin-form only (RFC 9112 3.2.1): "/" then pchar, "/" and "?" (RFC 3986), a subset of what llhttp takes.
const REQUEST_LINE = /^GET (\/[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*) HTTP\/1\.1$/;
// token ":" OWS value, the value visible ASCII with inner spaces/tabs and no trailing whitespace.
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[\t ]*((?:[\x21-\x7e][\t\x20-\x7e]*)?)$/;
const TRAILING_WS = /[\t ]$/;
// A Connection value the fast path reads the same way llhttp does: plain comma-separated tokens.
const CONNECTION_LIST = /^[A-Za-z0-9-]+(?:[\t ]*,[\t ]*[A-Za-z0-9-]+)*$/;

/** Repeated headers Node keeps as the first only (lib/_http_incoming.js matchKnownFields). */
const FIRST_ONLY = new Set([
  'content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization',
  'proxy-authorization', 'if-modified-since', 'if-unmodified-since', 'from', 'location',
  'max-forwards', 'retry-after', 'etag', 'last-modified', 'server', 'age', 'expires',
]);

class ParsedHead implements RequestHead {
  readonly method = 'GET';
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor = 1;
  constructor(
    readonly url: string,
    readonly headers: IncomingHttpHeaders,
    readonly rawHeaders: string[],
    readonly socket: Socket,
  ) {}
}

/**
 * Reads `head` (the request line and header lines, CRLF-separated, the final blank line
 * excluded): the request when it is a clean upgrade the fast path may take, null when it must go
 * to node:http. Headers are joined like IncomingMessage's: ', ' for repeats, '; ' for cookie,
 * set-cookie as an array, some first-only.
 */
export function parseUpgradeHead(head: string, socket: Socket): RequestHead | null {
  const lines = head.split('\r\n');
  if (lines.length - 1 > MAX_FAST_HEADERS) return null;
  const request = REQUEST_LINE.exec(lines[0]!);
  if (request === null) return null;
  const headers: IncomingHttpHeaders = {};
  const rawHeaders: string[] = [];
  let upgrade = false;
  let connection = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const m = HEADER_LINE.exec(line);
    if (m === null || TRAILING_WS.test(line)) return null;
    const name = m[1]!;
    const value = m[2]!;
    const key = name.toLowerCase();
    if (key === 'content-length' || key === 'transfer-encoding') return null;
    if (key === 'upgrade') {
      if (value === '') return null;   // llhttp then sees no upgrade: Node's 'request' path answers it
      upgrade = true;
    }
    else if (key === 'connection') {
      if (!CONNECTION_LIST.test(value)) return null;
      if (/(?:^|,)[\t ]*upgrade[\t ]*(?:,|$)/i.test(value)) connection = true;
    }
    rawHeaders.push(name, value);
    const prev = headers[key];
    if (key === 'set-cookie') (headers['set-cookie'] ??= []).push(value);
    else if (prev === undefined) headers[key] = value;
    else if (key === 'cookie') headers[key] = `${prev as string}; ${value}`;
    else if (!FIRST_ONLY.has(key)) headers[key] = `${prev as string}, ${value}`;
  }
  if (!upgrade || !connection) return null;
  return new ParsedHead(request[1]!, headers, rawHeaders, socket);
}
