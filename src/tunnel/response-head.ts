/**
 * A strict reader for the one answer the handshake's fast path expects: `HTTP/1.1 101` with
 * well-formed header lines. Anything else (another status, 1xx interim answers, a malformed or
 * lenient-but-legal line, obs-fold) is not judged here: the caller hands the bytes to Node's own
 * HTTP parser, so every odd answer keeps exactly Node's semantics. Why by hand at all: Node's
 * `http.request` costs a ClientRequest, an OutgoingMessage with per-header validation, a parser
 * and an IncomingMessage per upgrade, a large share of the CPU per handshake (BENCHMARKS.md).
 */

import type { IncomingHttpHeaders } from 'node:http';
import { tokenEnd } from './head-grammar.js';

/** The parts of a response head the upgrade path reads (IncomingMessage has them all). */
export interface ResponseHead {
  readonly statusCode?: number | undefined;
  readonly statusMessage?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
}

/** Node's default --max-http-header-size: a larger head goes to Node's parser, which refuses it the same way. */
export const MAX_HEAD_BYTES = 16 * 1024;

const STATUS_101 = 'HTTP/1.1 101';

/** Whether head[from, to) is all tab, visible ASCII, space or obs-text (0x80-0xff). */
function fieldText(head: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = head.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127 || c > 255) return false;
  }
  return true;
}

/** Repeated headers Node keeps as the first only (lib/_http_incoming.js matchKnownFields). */
const FIRST_ONLY = new Set([
  'content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization',
  'proxy-authorization', 'if-modified-since', 'if-unmodified-since', 'from', 'location',
  'max-forwards', 'retry-after', 'etag', 'last-modified', 'server', 'age', 'expires',
]);

/** Offset just past the blank line ending the head in `buf`, or -1 while incomplete. */
export function headEnd(buf: Buffer): number {
  const i = buf.indexOf('\r\n\r\n', 0, 'latin1');
  return i === -1 ? -1 : i + 4;
}

/**
 * Parses `head` (status line + header lines, CRLF-separated, the final blank line included or
 * not) when it is a strictly well-formed 101; null otherwise. Headers are joined like Node's
 * IncomingMessage: ', ' for repeats, set-cookie as an array, some first-only.
 */
export function parse101(head: string): ResponseHead | null {
  let eol = head.indexOf('\r\n');
  const statusEnd = eol === -1 ? head.length : eol;
  // "HTTP/1.1 101", then nothing or " " and a reason phrase.
  if (!head.startsWith(STATUS_101)) return null;
  let statusMessage = '';
  if (statusEnd !== STATUS_101.length) {
    if (head.charCodeAt(STATUS_101.length) !== 32 || !fieldText(head, STATUS_101.length + 1, statusEnd)) return null;
    statusMessage = head.slice(STATUS_101.length + 1, statusEnd);
  }
  const headers: IncomingHttpHeaders = {};
  const rawHeaders: string[] = [];
  while (eol !== -1) {
    const start = eol + 2;
    eol = head.indexOf('\r\n', start);
    const end = eol === -1 ? head.length : eol;
    if (start === end) continue;   // the trailing blank line(s)
    // token ":" OWS value OWS
    const i = tokenEnd(head, start, end);   // the lines are scanned by hand: no regex, no line array
    if (i === start || i === end || head.charCodeAt(i) !== 58) return null;   // ':'
    if (!fieldText(head, i + 1, end)) return null;
    const name = head.slice(start, i);
    let from = i + 1;
    while (from < end && (head.charCodeAt(from) === 32 || head.charCodeAt(from) === 9)) from++;
    let to = end;
    while (to > from && (head.charCodeAt(to - 1) === 32 || head.charCodeAt(to - 1) === 9)) to--;
    const value = head.slice(from, to);
    rawHeaders.push(name, value);
    const key = name.toLowerCase();
    const prev = headers[key];
    if (key === 'set-cookie') (headers['set-cookie'] ??= []).push(value);
    else if (prev === undefined) headers[key] = value;
    else if (!FIRST_ONLY.has(key)) headers[key] = `${prev as string}, ${value}`;
  }
  return { statusCode: 101, statusMessage, headers, rawHeaders };
}

/** The request head written to the server: the client's target and the prepared header pairs. */
export function requestHead(path: string, headers: readonly (readonly [string, string])[]): string {
  let out = `GET ${path} HTTP/1.1\r\n`;
  for (const [k, v] of headers) out += `${k}: ${v}\r\n`;
  return `${out}\r\n`;
}
