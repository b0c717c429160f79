/** The per-route Origin allowlist (cross-site WebSocket hijacking): exact scheme://host[:port] entries and `scheme://*.suffix[:port]` wildcards after normalisation, decided before any server is contacted. */

import type { RequestHead } from './request-head.js';
import type { RouteConfig } from '../config/types.js';

/**
 * Whether the route lets this request through. No `origins`: every request. With `origins`:
 * a request without an Origin header passes only with `allow_missing_origin` (machine clients
 * send none; browsers always do); two Origin headers, `null`, and anything that does not
 * normalise to an allowed origin are refused. Host names compare case-insensitively and default
 * ports (80 for http/ws, 443 for https/wss) are dropped on both sides. An exact entry matches
 * only itself: `https://app.example.com.evil.net` and `https://evilapp.example.com` never match
 * `https://app.example.com`. A wildcard entry `https://*.example.com` matches any host one or
 * more labels below example.com with that scheme and port, never the apex `https://example.com`
 * nor `https://evil-example.com` (the suffix compared starts with the dot).
 */
export function originAllowed(route: Pick<RouteConfig, 'origins' | 'allow_missing_origin'>, req: Pick<RequestHead, 'rawHeaders'>): boolean {
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
  return origin !== null && matcherOf(allow).allows(origin);
}

/** A wildcard entry split once: scheme, ".suffix" the host must end with, and the port part (":8443" or ""). */
interface Wildcard {
  readonly scheme: string;
  readonly suffix: string;
  readonly port: string;
}

class OriginMatcher {
  readonly #exact: Set<string>;
  readonly #wild: Wildcard[] = [];

  constructor(entries: readonly string[]) {
    this.#exact = new Set(entries.filter((e) => !e.includes('*')));
    for (const e of entries) {
      if (!e.includes('*')) continue;
      const sep = e.indexOf('://*');
      const rest = e.slice(sep + 4);   // ".example.com[:port]"
      const colon = rest.indexOf(':');
      this.#wild.push({ scheme: e.slice(0, sep), suffix: colon === -1 ? rest : rest.slice(0, colon), port: colon === -1 ? '' : rest.slice(colon) });
    }
  }

  /** `origin` is normalised (normalizeOrigin): lower-case scheme and host, default port dropped. */
  allows(origin: string): boolean {
    if (this.#exact.has(origin)) return true;
    if (this.#wild.length === 0) return false;
    const sep = origin.indexOf('://');
    const scheme = origin.slice(0, sep);
    const authority = origin.slice(sep + 3);
    if (authority.startsWith('[')) return false;   // an IPv6 literal is below no domain
    const colon = authority.lastIndexOf(':');
    const host = colon === -1 ? authority : authority.slice(0, colon);
    const port = colon === -1 ? '' : authority.slice(colon);
    for (const w of this.#wild) {
      // At least one label before the suffix: the apex itself never matches.
      if (w.scheme === scheme && w.port === port && host.length > w.suffix.length && host.endsWith(w.suffix)) return true;
    }
    return false;
  }
}

// One matcher per (frozen) config list: a reload brings new arrays, the old matchers go with them.
const matchers = new WeakMap<readonly string[], OriginMatcher>();

function matcherOf(allow: readonly string[]): OriginMatcher {
  let m = matchers.get(allow);
  if (!m) matchers.set(allow, (m = new OriginMatcher(allow)));
  return m;
}

/**
 * One `routes[].origins` entry at config load: the normalised form (what Origin headers are
 * compared to), or an error message. Exact: scheme://host[:port]. Wildcard: scheme://*.suffix[:port],
 * the `*` standing for the whole first label(s) only, the suffix at least two labels (a
 * wildcard over a top-level domain would trust every site under it) and not an IP address.
 */
export function parseOriginEntry(entry: string): { value: string } | { error: string } {
  const expected = 'expected scheme://host[:port] or scheme://*.domain[:port], e.g. https://app.example.com or https://*.example.com';
  let u: URL | undefined;
  try { u = new URL(entry); } catch { /* reported below */ }
  if (!u || !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(entry) || u.origin === 'null' || (u.pathname !== '/' && u.pathname !== '')
    || u.search || u.hash || u.username || u.password || entry.includes('?') || entry.includes('#')) {
    return { error: `invalid origin "${entry}": ${expected}` };
  }
  const host = u.hostname;
  if (!host.includes('*')) return { value: u.origin };
  const suffix = host.slice(1);
  if (!host.startsWith('*.') || suffix.includes('*')) {
    return { error: `invalid origin "${entry}": "*" may only stand for the first label(s), as in https://*.example.com` };
  }
  const labels = suffix.slice(1).split('.');
  if (labels.some((l) => l === '') || labels.length < 2) {
    return { error: `invalid origin "${entry}": a wildcard needs a domain of at least two labels after "*." (https://*.com would trust every site under .com)` };
  }
  return { value: u.origin };
}

// scheme "://" authority, and nothing after it: no path, query, fragment, credentials, percent-escape, backslash, space or control
// character, and no "*" (no browser sends one; it would otherwise look like a wildcard entry).
const ORIGIN_SHAPE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@%*\\\s\x00-\x1f\x7f]+$/;

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
