/** Edits a request's headers in place before it is forwarded (both `rawHeaders`, which the forwarders copy, and `headers`, which the checks read): headers dropped, added, and the Sec-WebSocket-Protocol list rewritten. */

import type { IncomingHttpHeaders } from 'node:http';

/** The parts of a request (IncomingMessage, or the fast path's RequestHead) the edits touch. */
export interface EditableRequest {
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
}

/** Removes every header whose lower-case name is in `names`. */
export function dropHeaders(req: EditableRequest, names: ReadonlySet<string>): void {
  if (names.size === 0) return;
  const raw = req.rawHeaders;
  let w = 0;
  for (let r = 0; r < raw.length; r += 2) {
    if (names.has(raw[r]!.toLowerCase())) continue;
    raw[w++] = raw[r]!;
    raw[w++] = raw[r + 1]!;
  }
  raw.length = w;
  for (const n of names) delete req.headers[n];
}

/** Appends a header the client did not send (its name was dropped first). */
export function addHeader(req: EditableRequest, name: string, value: string): void {
  req.rawHeaders.push(name, value);
  const lower = name.toLowerCase();
  const had = req.headers[lower];
  req.headers[lower] = had === undefined ? value : `${String(had)}, ${value}`;
}

/** The entries of the Sec-WebSocket-Protocol header(s), in order. */
export function protocolEntries(req: EditableRequest): string[] {
  const v = req.headers['sec-websocket-protocol'];
  if (v === undefined) return [];
  const out: string[] = [];
  for (const part of (Array.isArray(v) ? v.join(',') : v).split(',')) {
    const e = part.trim();
    if (e) out.push(e);
  }
  return out;
}

/** Replaces the Sec-WebSocket-Protocol header(s) with one holding `entries`; none left: no header at all. */
export function setProtocolEntries(req: EditableRequest, entries: readonly string[]): void {
  dropHeaders(req, PROTOCOL);
  if (entries.length) addHeader(req, 'Sec-WebSocket-Protocol', entries.join(', '));
}

const PROTOCOL: ReadonlySet<string> = new Set(['sec-websocket-protocol']);

/**
 * A value that may go in a header line as it is: printable ASCII, space and tab. Anything else
 * (CR, LF, other controls, non-ASCII) would either break the request or reach the server
 * re-encoded, so it is not sent.
 */
export function headerSafe(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c > 0x7e) return false;
  }
  return true;
}
