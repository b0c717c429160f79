/** The balancer's own answers on an HTTP/2 stream: the error table's status and code as HEADERS and a short body, then the stream ends. */

import http2, { type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { ERRORS, type ErrorCode } from '../errors.js';

/** Connection-specific fields: HTTP/2 forbids them (RFC 9113 8.2.2), node:http2 throws on them. */
export const CONNECTION_SPECIFIC = new Set(['connection', 'upgrade', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'http2-settings']);

/**
 * Answers `code` on `stream` (`extra` headers added, connection-specific ones dropped); a stream
 * whose answer already started is reset instead, one already gone is left alone.
 */
export function answerStream(stream: ServerHttp2Stream, code: ErrorCode, extra: readonly [string, string][] = []): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) { stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR); return; }
  const spec = ERRORS[code];
  const body = `${spec.message}\n`;
  const headers: OutgoingHttpHeaders = {
    ':status': spec.status, 'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body), 'x-wslb-error': code,
  };
  for (const [name, value] of extra) {
    const key = name.toLowerCase();
    if (!CONNECTION_SPECIFIC.has(key)) headers[key] = value;
  }
  stream.respond(headers);
  stream.end(body);
  endExchange(stream);
}

/**
 * Once our complete answer is written, a client still sending on the stream is told to stop with
 * RST_STREAM NO_ERROR (RFC 9113 8.1), so a refused stream never stays half-open (the CONNECT
 * client of a refused tunnel may never end its side). The answer itself is not lost: it went first.
 */
export function endExchange(stream: ServerHttp2Stream): void {
  if (stream.writableFinished) { closeStream.call(stream); return; }
  stream.once('finish', closeStream);
}

function closeStream(this: ServerHttp2Stream): void {
  if (!this.closed && !this.destroyed) this.close(http2.constants.NGHTTP2_NO_ERROR);
}
