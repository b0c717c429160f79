/** Header hygiene between client and server: hop-by-hop removal, X-Forwarded-*, and the 101 relayed to the client. */

import type { RequestHead } from '../edge/request-head.js';
import crypto from 'node:crypto';
import type { ResponseHead } from './response-head.js';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings',
]);

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

// One-shot hashing (Node 20.12+) skips the Hash object a createHash chain costs per handshake.
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'base64') => string }).hash;

export function acceptFor(key: string): string {
  return oneShot ? oneShot('sha1', key + WS_GUID, 'base64') : crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
}

const NONE_LISTED: ReadonlySet<string> = new Set();
const HOP_BY_HOP_NAMES: readonly string[] = [...HOP_BY_HOP];

/**
 * Names listed in Connection are hop-by-hop too (RFC 9110 7.6.1); the usual "Upgrade" alone adds
 * none (no Set then). Read as `value.split(',')` with each element trimmed and lowercased, but
 * scanned in place: only a listed name that is not already hop-by-hop becomes a string.
 */
function connectionListed(raw: readonly string[]): ReadonlySet<string> {
  let out: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 10 || !lowerIs(name, 0, 10, 'connection')) continue;
    const value = raw[i + 1]!;
    const n = value.length;
    let start = 0;
    while (start <= n) {
      let end = value.indexOf(',', start);
      if (end === -1) end = n;
      if (!hopByHopElement(value, start, end)) (out ??= new Set()).add(value.slice(start, end).trim().toLowerCase());
      start = end + 1;
    }
  }
  return out ?? NONE_LISTED;
}

/** `value[from, to)` trimmed and lowercased is a hop-by-hop name; ASCII by hand, anything else as trim() and toLowerCase() read it. */
function hopByHopElement(value: string, from: number, to: number): boolean {
  if (!isAscii(value, from, to)) return HOP_BY_HOP.has(value.slice(from, to).trim().toLowerCase());
  while (from < to && isSpace(value.charCodeAt(from))) from++;
  while (to > from && isSpace(value.charCodeAt(to - 1))) to--;
  const length = to - from;
  for (let k = 0; k < HOP_BY_HOP_NAMES.length; k++) {
    const name = HOP_BY_HOP_NAMES[k]!;
    if (name.length === length && asciiLowerIs(value, from, name)) return true;
  }
  return false;
}

/** `value[from, to)` lowercased is `lower` (lowercase ASCII); ASCII by hand, anything else as toLowerCase() reads it. */
function lowerIs(value: string, from: number, to: number, lower: string): boolean {
  if (!isAscii(value, from, to)) return value.slice(from, to).toLowerCase() === lower;
  return to - from === lower.length && asciiLowerIs(value, from, lower);
}

function isAscii(value: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (value.charCodeAt(i) > 127) return false;
  return true;
}

/** The ASCII `value[from, from + lower.length)`, A-Z read as a-z, is `lower`. */
function asciiLowerIs(value: string, from: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = value.charCodeAt(from + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

export interface ForwardInfo {
  readonly clientAddress: string;
  readonly proto: 'http' | 'https' | 'ws' | 'wss';
}

/** The request head sent to the server, as [name, value] pairs in the client's order and spelling. */
export function upstreamRequestHeaders(req: Pick<RequestHead, 'rawHeaders'>, info: ForwardInfo): [string, string][] {
  return forwardedRequestHeaders(req, info, [['Connection', 'Upgrade'], ['Upgrade', 'websocket']]);
}

/** End-to-end request headers in the client's order, then `own` (hop-by-hop ones the proxy sets), then X-Forwarded-*. */
export function forwardedRequestHeaders(req: Pick<RequestHead, 'rawHeaders'>, info: ForwardInfo, own: readonly [string, string][] = []): [string, string][] {
  const raw = req.rawHeaders;
  const listed = connectionListed(raw);
  const out: [string, string][] = [];
  let xff: string | undefined;
  let host = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower)) continue;
    if (lower === 'x-forwarded-for') { xff = xff === undefined ? raw[i + 1]! : `${xff}, ${raw[i + 1]!}`; continue; }
    if (lower === 'x-forwarded-proto' || lower === 'x-forwarded-host') continue;
    if (lower === 'host') host = raw[i + 1]!;
    out.push([name, raw[i + 1]!]);
  }
  out.push(...own);
  out.push(['X-Forwarded-For', xff === undefined ? info.clientAddress : `${xff}, ${info.clientAddress}`]);
  out.push(['X-Forwarded-Proto', info.proto]);
  if (host) out.push(['X-Forwarded-Host', host]);
  return out;
}

/** Why a server's 101 must not become a tunnel, or null when it is a valid answer to this client's offer. */
export function checkUpgradeResponse(req: Pick<RequestHead, 'headers'>, res: ResponseHead): string | null {
  if (res.statusCode !== 101) return `status ${res.statusCode}`;
  if ((res.headers.upgrade ?? '').trim().toLowerCase() !== 'websocket') return `Upgrade: ${res.headers.upgrade ?? '(none)'}`;
  if (!tokenIn(res.headers.connection, 'upgrade')) return 'Connection without upgrade';
  const key = String(req.headers['sec-websocket-key']).trim();
  if (res.headers['sec-websocket-accept'] !== acceptFor(key)) return 'wrong Sec-WebSocket-Accept';
  const proto = res.headers['sec-websocket-protocol'];
  if (proto !== undefined) {
    const offered = splitList(req.headers['sec-websocket-protocol']);
    if (proto.includes(',') || !offered.includes(proto.trim())) return `subprotocol "${proto}" not offered`;
  }
  const ext = res.headers['sec-websocket-extensions'];
  if (ext !== undefined) {
    const offered = new Set(splitList(req.headers['sec-websocket-extensions']).map(extName));
    for (const e of splitList(ext)) if (!offered.has(extName(e))) return `extension "${extName(e)}" not offered`;
  }
  return null;
}

/** The 101 written to the client: the server's end-to-end headers, our Connection/Upgrade. */
export function switchingProtocolsHead(res: ResponseHead): string {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${endToEndLines(res)}\r\n`;
}

/** A response's end-to-end headers as [name, value] pairs (plain-HTTP proxying writes them with writeHead). */
export function endToEndHeaders(raw: readonly string[]): [string, string][] {
  const listed = connectionListed(raw);
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (!HOP_BY_HOP.has(lower) && !listed.has(lower)) out.push([raw[i]!, raw[i + 1]!]);
  }
  return out;
}

/** A non-101 server answer relayed to the client: status and end-to-end headers, then Connection: close. */
export function relayedResponseHead(res: ResponseHead): string {
  // Content-Length passes through; without it the body is delimited by our close.
  return `HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ''}\r\n${endToEndLines(res)}Connection: close\r\n\r\n`;
}

/** The response's headers minus hop-by-hop ones, as CRLF-terminated lines in the server's spelling. */
function endToEndLines(res: ResponseHead): string {
  let out = '';
  const raw = res.rawHeaders;
  const listed = connectionListed(raw);
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower)) continue;
    out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  return out;
}

/**
 * Whether the comma-separated `value` lists `token` (lowercase ASCII), read as
 * `value.split(',').map(trim).filter(Boolean).some(lowercase === token)` reads it, without the
 * arrays and strings that costs on every 101.
 */
export function tokenIn(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  const n = value.length;
  let start = 0;
  while (start <= n) {
    let end = value.indexOf(',', start);
    if (end === -1) end = n;
    if (elementIs(value, start, end, token)) return true;
    start = end + 1;
  }
  return false;
}

/** `value[from, to)` trimmed and lowercased is `token`; ASCII by hand, anything else as trim() and toLowerCase() read it. */
function elementIs(value: string, from: number, to: number, token: string): boolean {
  for (let i = from; i < to; i++) if (value.charCodeAt(i) > 127) return value.slice(from, to).trim().toLowerCase() === token;
  while (from < to && isSpace(value.charCodeAt(from))) from++;
  while (to > from && isSpace(value.charCodeAt(to - 1))) to--;
  if (to - from !== token.length) return false;
  for (let i = 0; i < token.length; i++) {
    let c = value.charCodeAt(from + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== token.charCodeAt(i)) return false;
  }
  return true;
}

/** The ASCII characters String.prototype.trim removes: tab, LF, VT, FF, CR, space. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function splitList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const text = Array.isArray(value) ? value.join(',') : value;
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

function extName(e: string): string {
  return e.split(';')[0]!.trim().toLowerCase();
}
