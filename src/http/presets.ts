/** Where Engine.IO and SockJS carry their session ids: read from request URLs and from the Engine.IO handshake body. */

/** Longest session id accepted (both libraries use ~20 characters); longer ones are not pinned. */
const MAX_ID = 128;

/** How much of an Engine.IO handshake response body is searched for the sid. */
export const HANDSHAKE_SNIFF_BYTES = 1024;

function queryOf(url: string): URLSearchParams | null {
  const q = url.indexOf('?');
  return q === -1 ? null : new URLSearchParams(url.slice(q + 1));
}

function usable(id: string | null | undefined): string | undefined {
  return id && id.length <= MAX_ID ? id : undefined;
}

/** Engine.IO: the `sid` query parameter of a request that belongs to an open session. */
export function engineIoSid(url: string): string | undefined {
  const q = queryOf(url);
  return q?.has('EIO') ? usable(q.get('sid')) : undefined;
}

/** Engine.IO: a polling handshake (`EIO` and `transport=polling`, no `sid`): its answer names the new session. */
export function isEngineIoHandshake(method: string | undefined, url: string): boolean {
  if (method !== 'GET') return false;
  const q = queryOf(url);
  return q !== null && q.has('EIO') && !q.has('sid') && q.get('transport') === 'polling';
}

const SID_RE = /"sid":"([^"\\]{1,128})"/;

/**
 * The sid in the handshake's open packet: `0{"sid":"...",...}` (EIO 4), `96:0{"sid":...}` (EIO 3
 * text) or the same behind EIO 3's binary length prefix. A compressed body yields nothing: the
 * session then falls back to the route's algorithm (and the client re-handshakes if it misses).
 */
export function sidFromHandshake(body: string): string | undefined {
  return SID_RE.exec(body)?.[1];
}

const SOCKJS_TRANSPORTS = new Set([
  'websocket', 'xhr', 'xhr_send', 'xhr_streaming', 'eventsource', 'htmlfile', 'jsonp', 'jsonp_send',
]);

/**
 * SockJS: `<prefix>/<server>/<session>/<transport>` (server and session ids contain no dot).
 * Returns `<server>/<session>`, the pair the client keeps for the session's lifetime.
 */
export function sockJsSession(url: string): string | undefined {
  const q = url.indexOf('?');
  const parts = (q === -1 ? url : url.slice(0, q)).split('/');
  const n = parts.length;
  if (n < 4 || !SOCKJS_TRANSPORTS.has(parts[n - 1]!)) return undefined;
  const server = parts[n - 3]!;
  const session = parts[n - 2]!;
  if (!server || !session || server.includes('.') || session.includes('.')) return undefined;
  return usable(`${server}/${session}`);
}
