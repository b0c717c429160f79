/** The hash key of an upgrade request: `ip`, `path`, `header:NAME`, `cookie:NAME`, `query:NAME` or `claim:NAME`, parsed once at start and read per handshake. */

import type { IncomingMessage } from 'node:http';
import { claimKey } from '../auth/grant.js';

export type KeySpec =
  | { readonly kind: 'ip' }
  | { readonly kind: 'path' }
  | { readonly kind: 'header' | 'cookie' | 'query' | 'claim'; readonly name: string };

/** Same grammar as the config check (src/config/algorithm-options.ts); undefined when `spec` is not one. */
export function parseKeySpec(spec: string): KeySpec | undefined {
  if (spec === 'ip' || spec === 'path') return { kind: spec };
  const m = /^(header|cookie|query|claim):([^\s:]+)$/.exec(spec);
  if (!m) return undefined;
  const kind = m[1] as 'header' | 'cookie' | 'query' | 'claim';
  return { kind, name: kind === 'header' ? m[2]!.toLowerCase() : m[2]! };
}

/**
 * The key, or undefined when the request does not carry it (the algorithm then uses its
 * fallback). An empty value counts as missing: `?room=` must not send every such client to
 * one server. A repeated header is joined with ", " as HTTP allows; a repeated cookie or
 * query parameter uses the first occurrence.
 */
export function extractKey(spec: KeySpec, req: Pick<IncomingMessage, 'url' | 'headers'>, clientAddress: string): string | undefined {
  let v: string | undefined;
  switch (spec.kind) {
    case 'ip': v = clientAddress; break;
    case 'path': v = pathOf(req.url ?? ''); break;
    case 'header': {
      const h = req.headers[spec.name];
      v = Array.isArray(h) ? h.join(', ') : h;
      break;
    }
    case 'cookie': v = cookie(req.headers.cookie, spec.name); break;
    case 'query': v = query(req.url ?? '', spec.name); break;
    // A claim of the token the route's auth verified (src/auth/grant.ts): one user's connections meet on one server.
    case 'claim': v = claimKey(req, spec.name); break;
  }
  return v ? v : undefined;
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function cookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    const v = part.slice(eq + 1).trim();
    return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
  }
  return undefined;
}

function query(url: string, name: string): string | undefined {
  const q = url.indexOf('?');
  if (q === -1) return undefined;
  // URLSearchParams never throws: a bad %-escape is kept as written.
  return new URLSearchParams(url.slice(q + 1)).get(name) ?? undefined;
}
