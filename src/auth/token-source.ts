/** Where a request carries its token (`auth.jwt.from`): the Authorization header, a `bearer.<token>` subprotocol entry, a query parameter or a cookie, looked up in the configured order. */

import { extractKey } from '../balancing/hash-key.js';
import { protocolEntries, setProtocolEntries, type EditableRequest } from './request-edit.js';

export type TokenSource =
  | { readonly kind: 'header' }
  | { readonly kind: 'protocol' }
  | { readonly kind: 'query' | 'cookie'; readonly name: string };

/** Parses validated `from` entries. */
export function parseSources(from: readonly string[]): TokenSource[] {
  return from.map((s) => {
    if (s === 'header' || s === 'protocol') return { kind: s };
    const colon = s.indexOf(':');
    return { kind: s.slice(0, colon) as 'query' | 'cookie', name: s.slice(colon + 1) };
  });
}

/** The subprotocol entry prefix a browser puts its token behind: `new WebSocket(url, ['chat', 'bearer.' + token])`. */
export const PROTOCOL_PREFIX = 'bearer.';

const BEARER_RE = /^bearer(?:[ \t]+(.*))?$/i;

/**
 * The token of the first source that carries one (an empty value carries none), with the name of
 * that source for logs; null when none does. `upgrade` says whether the protocol source applies
 * (a plain HTTP request has no subprotocols).
 */
export function findToken(sources: readonly TokenSource[], req: EditableRequest, upgrade: boolean): { token: string; source: string } | null {
  for (const s of sources) {
    let token: string | undefined;
    switch (s.kind) {
      case 'header': {
        const m = BEARER_RE.exec(req.headers.authorization ?? '');
        token = m?.[1]?.trim();
        break;
      }
      case 'protocol':
        if (upgrade) token = protocolEntries(req).find((e) => e.startsWith(PROTOCOL_PREFIX))?.slice(PROTOCOL_PREFIX.length);
        break;
      default:
        token = extractKey(s, req, '');
    }
    if (token) return { token, source: s.kind === 'header' || s.kind === 'protocol' ? s.kind : `${s.kind}:${s.name}` };
  }
  return null;
}

/**
 * Takes every `bearer.*` entry out of the request's Sec-WebSocket-Protocol list, whichever source
 * decided: the token never reaches the server. When no entry is left the header goes.
 */
export function stripProtocolTokens(req: EditableRequest): void {
  const entries = protocolEntries(req);
  if (!entries.some((e) => e.startsWith(PROTOCOL_PREFIX))) return;
  setProtocolEntries(req, entries.filter((e) => !e.startsWith(PROTOCOL_PREFIX)));
}
