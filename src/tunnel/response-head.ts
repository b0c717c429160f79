/**
 * A strict reader for the one answer the handshake's fast path expects: `HTTP/1.1 101` with
 * well-formed header lines. Anything else (another status, 1xx interim answers, a malformed or
 * lenient-but-legal line, obs-fold) is not judged here: the caller hands the bytes to Node's own
 * HTTP parser, so every odd answer keeps exactly Node's semantics. Why by hand at all: Node's
 * `http.request` costs a ClientRequest, an OutgoingMessage with per-header validation, a parser
 * and an IncomingMessage per upgrade, a large share of the CPU per handshake (BENCHMARKS.md).
 */

import type { IncomingHttpHeaders } from 'node:http';

/** The parts of a response head the upgrade path reads (IncomingMessage has them all). */
export interface ResponseHead {
  readonly statusCode?: number | undefined;
  readonly statusMessage?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
}

/** Node's default --max-http-header-size: a larger head goes to Node's parser, which refuses it the same way. */
export const MAX_HEAD_BYTES = 16 * 1024;

const STATUS_101 = /^HTTP\/1\.1 101(?: ([\t\x20-\x7e\x80-\xff]*))?$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[\t ]*([\t\x20-\x7e\x80-\xff]*?)[\t ]*$/;
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
  const lines = head.split('\r\n');
  const status = STATUS_101.exec(lines[0]!);
  if (!status) return null;
  const headers: IncomingHttpHeaders = {};
  const rawHeaders: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;   // the trailing blank line(s)
    const m = HEADER_LINE.exec(line);
    if (!m) return null;
    const name = m[1]!;
    const value = m[2]!;
    rawHeaders.push(name, value);
    const key = name.toLowerCase();
    const prev = headers[key];
    if (key === 'set-cookie') (headers['set-cookie'] ??= []).push(value);
    else if (prev === undefined) headers[key] = value;
    else if (!FIRST_ONLY.has(key)) headers[key] = `${prev as string}, ${value}`;
  }
  return { statusCode: 101, statusMessage: status[1] ?? '', headers, rawHeaders };
}

/** The request head written to the server: the client's target and the prepared header pairs. */
export function requestHead(path: string, headers: readonly (readonly [string, string])[]): string {
  let out = `GET ${path} HTTP/1.1\r\n`;
  for (const [k, v] of headers) out += `${k}: ${v}\r\n`;
  return `${out}\r\n`;
}
