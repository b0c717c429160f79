/** What one plain-HTTP exchange tells the access log at its end (src/metrics/access-log.ts writes the line). */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { grantOf } from '../auth/grant.js';
import type { Server } from '../pool/server.js';

/** Who ended an exchange: the client leaving early, the server (its response's end, or a cut), the balancer (drain, timeout). */
export type EndedBy = 'client' | 'server' | 'balancer';

export interface ExchangeAccess {
  readonly client: string;
  readonly route: string;
  readonly pool: string;
  readonly server: string;
  /** The status the client got; null when it left before any response head. */
  readonly status: number | null;
  readonly httpVersion: '1.1' | '2';
  readonly durationMs: number;
  /** Request body bytes sent to the server, response body bytes sent to the client (heads not counted). */
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly closeBy: EndedBy;
  /** The verified token's `sub` claim, when the route's auth verified one. */
  readonly user: string | null;
}

/** Counts one exchange keeps for its access line: started with the exchange, read once at its end. */
export class ExchangeTally {
  readonly startedAt = performance.now();
  bytesIn = 0;
  bytesOut = 0;
  /** The first end seen; 'server' when nothing else ended it first. */
  endedBy: EndedBy | null = null;
  /** The server the request reached (connected): only such exchanges get a line. */
  reached: Server | null = null;

  /** The line's facts, or null when the request never reached a server (a refusal: counted and logged as one). */
  facts(req: IncomingMessage, res: ServerResponse, route: string, client: string): ExchangeAccess | null {
    const server = this.reached;
    if (server === null) return null;
    return {
      client,
      route,
      pool: server.pool,
      server: server.name,
      status: res.headersSent ? res.statusCode : null,
      httpVersion: req.httpVersionMajor === 2 ? '2' : '1.1',
      durationMs: performance.now() - this.startedAt,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      closeBy: this.endedBy ?? 'server',
      user: userOf(req),
    };
  }
}

/** `sub` of the token verified for `req` (a string, or a number as text), or null. */
export function userOf(req: object): string | null {
  const sub = grantOf(req)?.claims['sub'];
  return typeof sub === 'string' ? sub : typeof sub === 'number' ? String(sub) : null;
}
