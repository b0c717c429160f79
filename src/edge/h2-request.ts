/**
 * A plain HTTP/2 request (long-poll, SSE, any request on an `http: true` route): seen as HTTP/1.1
 * (src/edge/h2-headers.ts) and proxied to the HTTP/1.1 servers by the plain-HTTP fallback
 * (src/http/) through node:http2's compatibility objects; without such a route it is answered as
 * its HTTP/1.1 twin would be (404, or 426 on a WebSocket-only route).
 */

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import http2, { type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Runtime } from '../runtime.js';
import { clientAddress } from './client-address.js';
import { h1View } from './h2-headers.js';
import { answerStream, CONNECTION_SPECIFIC } from './h2-respond.js';
import { findRoute } from './router.js';

/** Methods whose request carries no body unless it says so with Content-Length. */
const BODILESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

/**
 * The compatibility response, less two HTTP/1.1 habits the proxy keeps (its answers are written
 * for HTTP/1.1 clients too): HTTP/2 has no reason phrase, and no connection-specific field such
 * as `Connection: close`. Both are dropped here without node:http2's process warning.
 */
class H2Response extends http2.Http2ServerResponse {
  override writeHead(statusCode: number, ...rest: unknown[]): this {
    // (status, headers) or (status, reason | undefined, headers): the reason phrase goes.
    const headers = rest.length >= 2 ? rest[1] : typeof rest[0] === 'string' ? undefined : rest[0];
    if (Array.isArray(headers)) {
      const kept: string[] = [];
      for (let i = 0; i < headers.length; i += 2) {
        if (!CONNECTION_SPECIFIC.has(String(headers[i]).toLowerCase())) kept.push(headers[i] as string, headers[i + 1] as string);
      }
      return super.writeHead(statusCode, kept as unknown as OutgoingHttpHeaders);
    }
    if (headers !== undefined && headers !== null) {
      const kept: OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(headers as OutgoingHttpHeaders)) if (!CONNECTION_SPECIFIC.has(k.toLowerCase())) kept[k] = v;
      return super.writeHead(statusCode, kept);
    }
    return super.writeHead(statusCode);
  }
}

/**
 * Routes one plain request. The request the proxy reads has no pseudo-header (Host comes from
 * `:authority`, cookies are joined), so none reaches a server; a body without Content-Length
 * (HTTP/2 frames delimit it) is sent on chunked.
 */
export function serveRequest(rt: Runtime, stream: ServerHttp2Stream, raw: readonly string[], endStream: boolean): void {
  const socket = stream.session!.socket as Socket;
  const view = h1View(raw);
  if (typeof view === 'string') {
    rt.onRejected('', view, clientAddress({ socket, rawHeaders: [] }));
    answerStream(stream, view);
    return;
  }
  const { method, url } = view;
  const route = findRoute(rt.routes, view.headers.host, url, 'http');
  if (!route?.config.http) {
    const code = route ? 'WSLB_ERR_NOT_WEBSOCKET' : 'WSLB_ERR_NO_ROUTE';
    rt.onRejected(route?.config.name ?? '', code, clientAddress({ socket, rawHeaders: view.rawHeaders }));
    answerStream(stream, code, route ? [['Sec-WebSocket-Version', '13']] : []);
    return;
  }
  let { rawHeaders, headers } = view;
  if (!endStream && headers['content-length'] === undefined && !BODILESS.has(method)) {
    rawHeaders = [...rawHeaders, 'transfer-encoding', 'chunked'];
    headers = { ...headers, 'transfer-encoding': 'chunked' };
  }
  // The compatibility request reads its method and target from these two pseudo-headers.
  const req = new http2.Http2ServerRequest(stream, { ...headers, ':method': method, ':path': url }, {}, rawHeaders);
  const res = new H2Response(stream);
  const counts = rt.http2;
  counts.exchanges++;
  counts.exchangesTotal++;
  stream.once('close', () => { counts.exchanges--; });
  rt.http.handle(route, req as unknown as IncomingMessage, res as unknown as ServerResponse);
}
