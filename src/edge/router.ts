/** Route matching: host (exact or *.suffix), path prefix and transport (upgrade or plain HTTP), first match wins. */

import type { RouteConfig } from '../config/types.js';

/** What a request is: a WebSocket handshake (an HTTP/1.1 upgrade or an HTTP/2 extended CONNECT), or plain HTTP. */
export type Transport = 'websocket' | 'http';

export function routeMatches(route: RouteConfig, host: string, path: string, transport: Transport): boolean {
  const m = route.match;
  if (m.path !== undefined && !path.startsWith(m.path)) return false;
  if (m.host !== undefined) {
    if (m.host.startsWith('*.')) {
      if (!host.endsWith(m.host.slice(1)) || host.length <= m.host.length - 1) return false;
    } else if (host !== m.host) return false;
  }
  // `transport` absent or `any`: both kinds.
  return m.transport === undefined || m.transport === 'any' || m.transport === transport;
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

/**
 * The first route that takes this host, path and transport. A route whose `match.transport`
 * refuses the request's kind is passed over as if its host or path differed, so a request no
 * route accepts for its transport is a 404 like one no route matches at all.
 */
export function findRoute<R extends { config: RouteConfig }>(routes: readonly R[], hostHeader: string | undefined, url: string | undefined, transport: Transport): R | undefined {
  const host = hostOf(hostHeader);
  const u = url ?? '/';
  const q = u.indexOf('?');
  const path = q === -1 ? u : u.slice(0, q);
  for (const r of routes) if (routeMatches(r.config, host, path, transport)) return r;
  return undefined;
}
