/** Client handshake validation, in the fixed order the contract gives, before any server is contacted. */

import type { IncomingMessage } from 'node:http';
import type { ErrorCode } from '../errors.js';

const KEY_RE = /^[A-Za-z0-9+/]{21}[AQgw]==$/;   // base64 of exactly 16 bytes (canonical last char)

/** Returns the first rule the request breaks, or null when it is a valid RFC 6455 opening handshake. */
export function validateHandshake(req: IncomingMessage): ErrorCode | null {
  if (req.method !== 'GET') return 'WSLB_ERR_BAD_METHOD';
  // Exactly 1.1: an "HTTP/2.0" request line is not HTTP/2 (which has no Upgrade), and Node's parser lets it through.
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor !== 1) return 'WSLB_ERR_BAD_VERSION_HTTP';

  // Node joins repeated headers; rawHeaders shows them all. Exactly one Upgrade, exactly "websocket":
  // any other token (h2c included) must never reach a server.
  const raw = req.rawHeaders;
  let upgrades = 0;
  let keys = 0;
  let hosts = 0;
  let upgradeValue = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'upgrade') { upgrades++; upgradeValue = raw[i + 1]!; }
    else if (name === 'sec-websocket-key') keys++;
    else if (name === 'host') hosts += raw[i + 1]!.trim() ? 1 : 2;
  }
  // Node's own missing-Host 400 does not apply to upgrades; two Hosts would let routing and the server disagree (RFC 9112 3.2).
  if (hosts !== 1) return 'WSLB_ERR_BAD_HOST';
  if (upgrades !== 1 || upgradeValue.trim().toLowerCase() !== 'websocket') return 'WSLB_ERR_BAD_UPGRADE';
  if (!hasToken(req.headers.connection, 'upgrade')) return 'WSLB_ERR_BAD_CONNECTION';
  const key = req.headers['sec-websocket-key'];
  if (keys !== 1 || typeof key !== 'string' || !KEY_RE.test(key.trim())) return 'WSLB_ERR_BAD_KEY';
  if (req.headers['sec-websocket-version'] !== '13') return 'WSLB_ERR_BAD_WS_VERSION';
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')) return 'WSLB_ERR_BODY';
  return null;
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
