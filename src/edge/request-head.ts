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
import { charTable, tokenEnd } from '../tunnel/head-grammar.js';

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

// Character classes for the hand scan below (a table lookup per character, no regex, no line array).
// Origin-form (RFC 9112 3.2.1): "/" then pchar, "/" and "?" (RFC 3986), a subset of what llhttp takes.
const TARGET = charTable("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?%");
const REQUEST_PREFIX = 'GET /';
const REQUEST_SUFFIX = ' HTTP/1.1';
// A Connection value the fast path reads the same way llhttp does: plain comma-separated tokens.
const CONNECTION_LIST = /^[A-Za-z0-9-]+(?:[\t ]*,[\t ]*[A-Za-z0-9-]+)*$/;

/** The request target when `line` is `GET <origin-form> HTTP/1.1`, else null. */
function requestTarget(line: string): string | null {
  const end = line.length - REQUEST_SUFFIX.length;
  if (end <= REQUEST_PREFIX.length - 1 || !line.startsWith(REQUEST_PREFIX) || !line.endsWith(REQUEST_SUFFIX)) return null;
  for (let i = 4; i < end; i++) {
    const c = line.charCodeAt(i);
    if (c > 255 || TARGET[c] === 0) return null;
  }
  return line.slice(4, end);
}

/** Repeated headers Node keeps as the first only (lib/_http_incoming.js matchKnownFields). */
const FIRST_ONLY = new Set([
  'content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization',
  'proxy-authorization', 'if-modified-since', 'if-unmodified-since', 'from', 'location',
  'max-forwards', 'retry-after', 'etag', 'last-modified', 'server', 'age', 'expires',
]);

/** A GET HTTP/1.1 upgrade head: read by hand here, or translated from an HTTP/2 extended CONNECT (h2-connect.ts). */
export class ParsedHead implements RequestHead {
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
  let eol = head.indexOf('\r\n');
  const url = requestTarget(eol === -1 ? head : head.slice(0, eol));
  if (url === null) return null;
  const headers: IncomingHttpHeaders = {};
  const rawHeaders: string[] = [];
  let upgrade = false;
  let connection = false;
  let count = 0;
  while (eol !== -1) {
    if (++count > MAX_FAST_HEADERS) return null;
    const start = eol + 2;
    eol = head.indexOf('\r\n', start);
    const end = eol === -1 ? head.length : eol;
    // token ":" OWS value: the value visible ASCII with inner spaces/tabs, and no whitespace ending the line.
    let i = tokenEnd(head, start, end);
    if (i === start || i === end || head.charCodeAt(i) !== 58) return null;   // ':'
    const name = head.slice(start, i);
    i++;
    while (i < end && (head.charCodeAt(i) === 32 || head.charCodeAt(i) === 9)) i++;
    const last = head.charCodeAt(end - 1);
    if (last === 32 || last === 9) return null;
    for (let j = i; j < end; j++) {
      const c = head.charCodeAt(j);
      if ((c < 32 && c !== 9) || c > 126) return null;
    }
    const value = head.slice(i, end);
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
  return new ParsedHead(url, headers, rawHeaders, socket);
}
