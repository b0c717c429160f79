/** The balancer's own answer to a plain-HTTP request: the error table's status and code, Connection: close. */

import type { ServerResponse } from 'node:http';
import { ERRORS, type ErrorCode } from '../errors.js';

/** Answers `code` (same headers as the edge's raw-socket rejections); a response already under way is cut instead. */
export function respondError(res: ServerResponse, code: ErrorCode, extra: readonly [string, string][] = []): void {
  if (res.headersSent) { res.destroy(); return; }
  if (res.writableEnded || res.destroyed) return;
  const spec = ERRORS[code];
  const body = `${spec.message}\n`;
  const headers: [string, string][] = [
    ['Connection', 'close'], ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Length', String(Buffer.byteLength(body))], ['X-Wslb-Error', code], ...extra,
  ];
  res.shouldKeepAlive = false;
  res.writeHead(spec.status, headers.flat());
  res.end(body);
}
