/** Route matching: host (exact or *.suffix) and path prefix, first match wins. */

import type { RouteConfig } from '../config/types.js';

export function routeMatches(route: RouteConfig, host: string, path: string): boolean {
  const m = route.match;
  if (m.path !== undefined && !path.startsWith(m.path)) return false;
  if (m.host !== undefined) {
    if (m.host.startsWith('*.')) {
      if (!host.endsWith(m.host.slice(1)) || host.length <= m.host.length - 1) return false;
    } else if (host !== m.host) return false;
  }
  return true;
}

/** The Host header without port, lower-cased ("[::1]:80" -> "[::1]"). */
export function hostOf(header: string | undefined): string {
  if (!header) return '';
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end === -1 ? h : h.slice(0, end + 1);
  }
  const colon = h.indexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

export function findRoute<R extends { config: RouteConfig }>(routes: readonly R[], hostHeader: string | undefined, url: string | undefined): R | undefined {
  const host = hostOf(hostHeader);
  const u = url ?? '/';
  const q = u.indexOf('?');
  const path = q === -1 ? u : u.slice(0, q);
  for (const r of routes) if (routeMatches(r.config, host, path)) return r;
  return undefined;
}
