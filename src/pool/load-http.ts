/** `source: http` for custom-load: GET http(s)://<server host>:<port><path> and parse the body as JSON (a bare number or an object). */

import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { PoolConfig } from '../config/types.js';
import type { Server } from './server.js';

const MAX_BODY = 64 * 1024;

export interface HttpLoadOptions {
  readonly path: string;
  /** Overrides the server's own port. */
  readonly port?: number;
  readonly timeoutMs: number;
}

/** One keep-alive agent per pool and scheme, so a poll every second reuses its connection. */
export class HttpLoadSource {
  readonly #opts: HttpLoadOptions;
  readonly #http = new http.Agent({ keepAlive: true, maxSockets: 1 });
  readonly #https: https.Agent;

  constructor(opts: HttpLoadOptions, tls: PoolConfig['tls']) {
    this.#opts = opts;
    // wss:// servers are polled over https with the pool's upstream TLS settings.
    this.#https = new https.Agent({
      keepAlive: true, maxSockets: 1,
      ...(tls?.ca ? { ca: readFileSync(tls.ca) } : {}),
      ...(tls?.servername ? { servername: tls.servername } : {}),
      rejectUnauthorized: tls?.reject_unauthorized ?? true,
    });
  }

  fetch(server: Server): Promise<unknown> {
    const { path, port, timeoutMs } = this.#opts;
    const mod = server.tls ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.get({
        host: server.host, port: port ?? server.port, path,
        agent: server.tls ? this.#https : this.#http,
        headers: { accept: 'application/json' },
        timeout: timeoutMs,
      }, (res) => {
        if (!res.statusCode || res.statusCode < 200 || res.statusCode > 299) {
          res.resume();
          return reject(new Error(`load endpoint answered ${res.statusCode}`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) { req.destroy(new Error(`load report larger than ${MAX_BODY} bytes`)); return; }
          chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch {
            reject(new Error('load report is not JSON'));
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`load endpoint silent for ${timeoutMs} ms`)));
      req.on('error', reject);
    });
  }

  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}
