/** The access log (`log.access: true`): one JSON line, `"msg":"access"` at info level, per finished tunnel or plain-HTTP exchange, built once at its end from counts the tunnel or exchange keeps anyway. */

import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../log.js';
import { userOf, type ExchangeAccess } from '../http/access.js';
import type { Tunnel } from '../tunnel/tunnel.js';

// Nothing here runs per chunk or per message: a tunnel counts its bytes and messages in fields it
// has for its own work (src/tunnel/tunnel.ts `traffic`), an exchange in two numbers, and the line
// is assembled and handed to pino once, at the close. pino's stdout destination is asynchronous
// (sonic-boom): lines written while a write is in flight are joined into the next one.
//
// Which ends get a line: every tunnel (whatever closed it), and every plain-HTTP exchange whose
// request reached a server (whatever status the client then got). Refusals answered by the
// balancer before any server (401, 403, 404, 429, 503, a handshake no server completed) get none:
// they are counted in wslb_handshake_failures_total and logged, rate-limited, as rejections, and
// a flood of them must not turn into as many log lines.

/** What the upgrade knew at the 101 and the tunnel does not: kept until the tunnel closes. */
export interface TunnelAccess {
  /** The client address as the per-IP limits see it (PROXY header, trusted X-Forwarded-For). */
  readonly client: string;
  /** The verified token's `sub` claim, when the route's auth verified one. */
  readonly user: string | null;
  /** `2` for an extended CONNECT stream on an h2 connection (answered `:status 200`), else `1.1` (101). */
  readonly httpVersion: '1.1' | '2';
}

/** HTTP/2 when the client's connection chose h2 by ALPN (every request on it is an h2 stream). */
export function httpVersionOf(socket: Socket): '1.1' | '2' {
  return (socket as Partial<TLSSocket>).alpnProtocol === 'h2' ? '2' : '1.1';
}

/** The access record of a tunnel about to open: taken at the 101, only while the access log is on. */
export function tunnelAccess(req: { readonly socket: Socket }, client: string): TunnelAccess {
  return { client, user: userOf(req), httpVersion: httpVersionOf(req.socket) };
}

const NO_CLOSE_FRAME = 1006;

export class AccessLog {
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** A tunnel's both sockets closed. `close_code`/`close_by`: the first close frame and who sent it; 1006 and whoever ended first when none was read. */
  tunnel(route: string, t: Tunnel, a: TunnelAccess): void {
    const close = t.lastClose;
    const traffic = t.traffic;
    this.#log.info({
      kind: 'websocket',
      client: a.client,
      route,
      pool: t.server.pool,
      server: t.server.name,
      status: a.httpVersion === '2' ? 200 : 101,
      http_version: a.httpVersion,
      duration_ms: Math.round(performance.now() - t.openedAt),
      bytes_in: traffic.bytesIn,
      bytes_out: traffic.bytesOut,
      messages_in: traffic.messagesIn,
      messages_out: traffic.messagesOut,
      close_code: close?.code ?? NO_CLOSE_FRAME,
      close_by: close?.by ?? t.endedBy,
      user: a.user,
    }, 'access');
  }

  /** A plain-HTTP exchange that reached a server ended. */
  exchange(x: ExchangeAccess): void {
    this.#log.info({
      kind: 'http',
      client: x.client,
      route: x.route,
      pool: x.pool,
      server: x.server,
      status: x.status,
      http_version: x.httpVersion,
      duration_ms: Math.round(x.durationMs),
      bytes_in: x.bytesIn,
      bytes_out: x.bytesOut,
      messages_in: null,
      messages_out: null,
      close_code: null,
      close_by: x.closeBy,
      user: x.user,
    }, 'access');
  }
}
