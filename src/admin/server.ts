/** The admin listener: /healthz and /status (metrics, control endpoints and the dashboard land with the observability issue). */

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { Runtime } from '../runtime.js';
import { statusDocument, type ListenerAddress } from './status.js';

export class AdminServer {
  readonly #rt: Runtime;
  readonly #listeners: () => readonly ListenerAddress[];
  readonly server: http.Server;

  constructor(rt: Runtime, listeners: () => readonly ListenerAddress[]) {
    this.#rt = rt;
    this.#listeners = listeners;
    this.server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, this.onRequest);
  }

  onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      if (!this.#allow(req, res, 'GET')) return;
      return text(res, this.#rt.draining ? 503 : 200, this.#rt.draining ? 'draining\n' : 'ok\n');
    }
    if (path === '/status') {
      if (!this.#allow(req, res, 'GET')) return;
      return json(res, 200, statusDocument(this.#rt, this.#listeners()));
    }
    json(res, 404, { error: { code: 'WSLB_ERR_ADMIN_NOT_FOUND', message: `no admin endpoint ${path}` } });
  };

  #allow(req: IncomingMessage, res: ServerResponse, method: string): boolean {
    if (req.method === method || (method === 'GET' && req.method === 'HEAD')) return true;
    res.setHeader('Allow', method);
    json(res, 405, { error: { code: 'WSLB_ERR_ADMIN_METHOD', message: `${req.method} not allowed; use ${method}` } });
    return false;
  }

  async listen(port: number, host: string): Promise<{ address: string; port: number }> {
    this.server.listen(port, host);
    await once(this.server, 'listening');
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('admin listener has no TCP address');
    return { address: a.address, port: a.port };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function json(res: ServerResponse, status: number, doc: unknown): void {
  const body = `${JSON.stringify(doc)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
