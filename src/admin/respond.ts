/** Admin answers: text, JSON, and the one error shape `{ "error": { "code", "message" } }` with its stable codes. */

import type { ServerResponse } from 'node:http';

export const ADMIN_ERRORS = {
  WSLB_ERR_ADMIN_NOT_FOUND:      404,   // no such endpoint
  WSLB_ERR_ADMIN_UNKNOWN_POOL:   404,
  WSLB_ERR_ADMIN_UNKNOWN_SERVER: 404,
  WSLB_ERR_ADMIN_METHOD:         405,
  WSLB_ERR_ADMIN_UNAUTHORIZED:   401,   // admin.token set, bearer token missing or wrong
  WSLB_ERR_ADMIN_ORIGIN:         403,   // a browser POST from another origin (CSRF)
  WSLB_ERR_ADMIN_BAD_PATH:       400,
  WSLB_ERR_ADMIN_RELOAD:         400,   // the new config is invalid; the old one stays
  WSLB_ERR_ADMIN_NO_RELOAD:      501,
  WSLB_ERR_ADMIN_RESTARTING:     409,   // POST /workers/restart while a rolling restart runs
  WSLB_ERR_ADMIN_BUSY:           503,   // too many dashboard event streams
  WSLB_ERR_ADMIN_OVERLOADED:     503,   // too many /metrics and /status requests at once
  WSLB_ERR_ADMIN_INTERNAL:       500,
} as const;

export type AdminErrorCode = keyof typeof ADMIN_ERRORS;

/** Whether a code that crossed a process boundary (a worker's reply) is one of ours. */
export function isAdminErrorCode(code: unknown): code is AdminErrorCode {
  return typeof code === 'string' && Object.hasOwn(ADMIN_ERRORS, code);
}

export function text(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...extra });
  res.end(body);
}

export function json(res: ServerResponse, status: number, doc: unknown): void {
  text(res, status, `${JSON.stringify(doc)}\n`, 'application/json');
}

export function fail(res: ServerResponse, code: AdminErrorCode, message: string, headers: Record<string, string> = {}, more: Record<string, unknown> = {}): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  json(res, ADMIN_ERRORS[code], { error: { code, message, ...more } });
}

export function noContent(res: ServerResponse): void {
  res.writeHead(204, { 'Cache-Control': 'no-store' });
  res.end();
}
