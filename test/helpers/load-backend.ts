/** Test helper: a `ws` echo backend on a loopback address, port 0, with a scriptable `/load` endpoint and an adjustable upgrade delay. */

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export type LoadAnswer =
  | { kind: 'json'; body: unknown }        // 200 with JSON.stringify(body)
  | { kind: 'status'; status: number }     // that status, empty body
  | { kind: 'text'; body: string }         // 200 with this raw body
  | { kind: 'hang' };                      // never answers

export interface LoadBackend {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** Upgrades received, in order (one entry per handshake). */
  readonly handshakes: number;
  readonly loadPolls: number;
  /** What GET /load answers from now on. */
  load: LoadAnswer;
  /** Delay before the 101, ms. */
  upgradeDelayMs: number;
  close(): Promise<void>;
}

export async function startLoadBackend(name: string, opts: { host?: string; load?: LoadAnswer; upgradeDelayMs?: number } = {}): Promise<LoadBackend> {
  const host = opts.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let handshakes = 0;
  let loadPolls = 0;
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const server = http.createServer((req, res) => {
    if (req.url !== '/load') { res.writeHead(404).end(); return; }
    loadPolls++;
    const a = backend.load;
    if (a.kind === 'hang') return;
    if (a.kind === 'status') { res.writeHead(a.status).end(); return; }
    res.writeHead(200, { 'content-type': a.kind === 'json' ? 'application/json' : 'text/plain' });
    res.end(a.kind === 'json' ? JSON.stringify(a.body) : a.body);
  });
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('upgrade', (req, socket: Socket, head) => {
    socket.on('error', () => socket.destroy());
    handshakes++;
    const go = () => wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      ws.on('error', () => ws.terminate());
      ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    });
    if (backend.upgradeDelayMs > 0) {
      const t = setTimeout(() => { timers.delete(t); go(); }, backend.upgradeDelayMs);
      timers.add(t);
    } else go();
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, host, resolve); });
  const port = (server.address() as AddressInfo).port;
  const backend: LoadBackend = {
    name, host, port, url: `ws://${host}:${port}`,
    get handshakes() { return handshakes; },
    get loadPolls() { return loadPolls; },
    load: opts.load ?? { kind: 'json', body: 0 },
    upgradeDelayMs: opts.upgradeDelayMs ?? 0,
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return backend;
}
