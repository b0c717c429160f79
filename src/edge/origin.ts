/** The per-route Origin allowlist (cross-site WebSocket hijacking): exact scheme://host[:port] after normalisation, decided before any server is contacted. */

import type { IncomingMessage } from 'node:http';
import type { RouteConfig } from '../config/types.js';

/**
 * Whether the route lets this request through. No `origins`: every request. With `origins`:
 * a request without an Origin header passes only with `allow_missing_origin` (machine clients
 * send none; browsers always do); two Origin headers, `null`, and anything that does not
 * normalise to exactly one allowlist entry are refused. Host names compare case-insensitively
 * and default ports (80 for http/ws, 443 for https/wss) are dropped on both sides; there is no
 * suffix or prefix matching, so `https://app.example.com.evil.net` and
 * `https://evilapp.example.com` never match `https://app.example.com`.
 */
export function originAllowed(route: Pick<RouteConfig, 'origins' | 'allow_missing_origin'>, req: IncomingMessage): boolean {
  const allow = route.origins;
  if (allow === undefined) return true;
  const raw = req.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'origin') continue;
    if (value !== undefined) return false;
    value = raw[i + 1]!;
  }
  if (value === undefined) return route.allow_missing_origin;
  const origin = normalizeOrigin(value);
  return origin !== null && allow.includes(origin);
}

// scheme "://" authority, and nothing after it: no path, query, fragment, credentials, percent-escape, backslash, space or control character.
const ORIGIN_SHAPE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@%\\\s\x00-\x1f\x7f]+$/;

/**
 * The serialised origin of an Origin header value, or null when it is not one: it must be
 * scheme://host[:port] and nothing else (no path, query, fragment, credentials, escapes,
 * spaces or control characters), as a browser sends it. Same normalisation as the config's `origins`.
 */
export function normalizeOrigin(value: string): string | null {
  if (value.length > 2048 || !ORIGIN_SHAPE.test(value)) return null;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return null;
  }
  return u.origin === 'null' ? null : u.origin;
}
