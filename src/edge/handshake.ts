/** Client handshake validation, in the fixed order the contract gives, before any server is contacted. */

import type { IncomingMessage } from 'node:http';
import type { RequestHead } from './request-head.js';
import { isIPv6 } from 'node:net';
import type { ErrorCode } from '../errors.js';

const KEY_RE = /^[A-Za-z0-9+/]{21}[AQgw]==$/;   // base64 of exactly 16 bytes (canonical last char)

/** Returns the first rule the request breaks, or null when it is a valid RFC 6455 opening handshake. */
export function validateHandshake(req: RequestHead): ErrorCode | null {
  if (req.method !== 'GET') return 'WSLB_ERR_BAD_METHOD';
  // Exactly 1.1: an "HTTP/2.0" request line is not HTTP/2 (which has no Upgrade), and Node's parser lets it through.
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor !== 1) return 'WSLB_ERR_BAD_VERSION_HTTP';

  // Node joins repeated headers; rawHeaders shows them all. Exactly one Upgrade, exactly "websocket":
  // any other token (h2c included) must never reach a server.
  const raw = req.rawHeaders;
  let upgrades = 0;
  let keys = 0;
  let upgradeValue = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'upgrade') { upgrades++; upgradeValue = raw[i + 1]!; }
    else if (name === 'sec-websocket-key') keys++;
  }
  // Node's own missing-Host 400 does not apply to upgrades.
  if (!hostHeaderValid(raw)) return 'WSLB_ERR_BAD_HOST';
  if (upgrades !== 1 || upgradeValue.trim().toLowerCase() !== 'websocket') return 'WSLB_ERR_BAD_UPGRADE';
  if (!hasToken(req.headers.connection, 'upgrade')) return 'WSLB_ERR_BAD_CONNECTION';
  const key = req.headers['sec-websocket-key'];
  if (keys !== 1 || typeof key !== 'string' || !KEY_RE.test(key.trim())) return 'WSLB_ERR_BAD_KEY';
  if (req.headers['sec-websocket-version'] !== '13') return 'WSLB_ERR_BAD_WS_VERSION';
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')) return 'WSLB_ERR_BODY';
  return null;
}

// RFC 3986 3.2.2 host (IP-literal / IPv4address / reg-name; IPv4 syntax is a subset of reg-name), then an optional ":port".
// The bracketed part is checked further with isIPv6 unless it is an IPvFuture ("v" HEXDIG "." ...).
const HOST_RE = /^(?:\[([0-9A-Fa-f:.]+|[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+)\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+)(?::([0-9]{1,5}))?$/;

/**
 * Exactly one Host header, and its value a valid `host[:port]` with a port of 1-65535: a
 * balancer that routes by host must not route on a value it cannot parse, and two Hosts would
 * let routing and the server disagree (RFC 9112 3.2). One precompiled regex per request.
 */
export function hostHeaderValid(raw: readonly string[]): boolean {
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 4 || raw[i]!.toLowerCase() !== 'host') continue;
    if (value !== undefined) return false;
    value = raw[i + 1]!;
  }
  return value !== undefined && validHost(value.trim());
}

/** Whether `value` is `host[:port]` as RFC 3986 writes a host, port 1-65535 when present. */
export function validHost(value: string): boolean {
  const m = HOST_RE.exec(value);
  if (m === null) return false;
  const literal = m[1];
  if (literal !== undefined && literal[0] !== 'v' && literal[0] !== 'V' && !isIPv6(literal)) return false;
  const port = m[2];
  if (port === undefined) return true;
  const n = Number(port);
  return n >= 1 && n <= 65535;
}

/** True when a comma-separated header value holds `token` (case-insensitive). */
export function hasToken(value: string | string[] | undefined, token: string): boolean {
  if (value === undefined) return false;
  const text = Array.isArray(value) ? value.join(',') : value;
  for (const part of text.split(',')) if (part.trim().toLowerCase() === token) return true;
  return false;
}

/** A request that is trying to be a WebSocket upgrade (and so must pass validateHandshake, not be proxied as HTTP). */
export function looksLikeUpgrade(req: IncomingMessage): boolean {
  return req.headers.upgrade !== undefined;
}
