/** Test helper: a plain-HTTP backend on 127.0.0.1 port 0 that says who it is: echo, held polls, uploads and SSE streams. */

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';

export interface SseStream {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly lastEventId: string | undefined;
  closedAt: number | null;
}

export interface HttpBackend {
  readonly name: string;
  readonly port: number;
  readonly url: string;   // ws://127.0.0.1:PORT (the pool's server URL)
  readonly requests: { method: string; url: string; headers: IncomingMessage['headers']; rawHeaders: string[] }[];
  readonly streams: SseStream[];
  /** Held requests (`/hold`) whose client went away, with the time it did. */
  readonly abandoned: number[];
  /** Body bytes received so far by `/upload` requests, finished or not. */
  readonly uploaded: number;
  /** Writes one SSE event `{ t: Date.now(), data }` to every open stream. */
  emit(data: string): void;
  close(): Promise<void>;
}

/**
 * Paths: `/sse` (event stream, `retry: 100` then events on `emit`), `/hold?ms=N` (answers
 * after N ms), `/upload` (POST: answers `{ bytes, firstChunkAt }` at the end of the body),
 * anything else: `{ server, url, headers }` as JSON with Connection/Keep-Alive extras.
 */
export async function startHttpBackend(name: string): Promise<HttpBackend> {
  const requests: HttpBackend['requests'] = [];
  const streams: SseStream[] = [];
  const abandoned: number[] = [];
  let uploaded = 0;
  let seq = 0;
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders });
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.endsWith('/sse')) {
      const last = req.headers['last-event-id'];
      const s: SseStream = { req, res, lastEventId: typeof last === 'string' ? last : undefined, closedAt: null };
      streams.push(s);
      res.on('close', () => { s.closedAt = Date.now(); });
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Server': name });
      res.write(`retry: 100\n: ${name}\n\n`);
      return;
    }
    if (url.pathname.endsWith('/hold')) {
      const timer = setTimeout(() => {
        const body = JSON.stringify({ server: name, held: Number(url.searchParams.get('ms')) });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      }, Number(url.searchParams.get('ms') ?? 0));
      res.on('close', () => { if (!res.writableFinished) { clearTimeout(timer); abandoned.push(Date.now()); } });
      return;
    }
    if (url.pathname.endsWith('/upload')) {
      let bytes = 0;
      let firstChunkAt = 0;
      req.on('data', (c: Buffer) => { if (!bytes) firstChunkAt = Date.now(); bytes += c.length; uploaded += c.length; });
      req.on('end', () => {
        const body = JSON.stringify({ server: name, bytes, firstChunkAt });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }
    req.resume();
    const body = JSON.stringify({ server: name, url: req.url, headers: req.headers });
    res.writeHead(200, {
      'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body),
      'X-Server': name, 'Connection': 'keep-alive, X-Private', 'X-Private': 'hop', 'Keep-Alive': 'timeout=7, max=99',
    });
    res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    name, port, url: `ws://127.0.0.1:${port}`, requests, streams, abandoned,
    get uploaded() { return uploaded; },
    emit(data: string): void {
      const id = ++seq;
      for (const s of streams) if (s.closedAt === null) s.res.write(`id: ${id}\ndata: ${JSON.stringify({ t: Date.now(), data })}\n\n`);
    },
    close(): Promise<void> {
      for (const s of streams) s.res.destroy();
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
