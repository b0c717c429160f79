/** Test helper: a real `ws` echo backend on 127.0.0.1 port 0 that says who it is and logs what it received. */

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, WebSocket, type RawData, type PerMessageDeflateOptions } from 'ws';

export interface EchoBackendOptions {
  name?: string;
  /** Passed to ws: picks the subprotocol from those the client offered, or false for none. */
  handleProtocols?: (protocols: Set<string>, req: http.IncomingMessage) => string | false;
  /** Off unless set (ws default for servers). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
}

export interface EchoBackend {
  readonly name: string;
  readonly mode: 'echo';
  readonly port: number;
  readonly url: string;
  readonly handshakes: http.IncomingHttpHeaders[];   // request headers of every upgrade received
  readonly requests: { method: string; url: string; headers: http.IncomingHttpHeaders }[];  // plain HTTP
  readonly received: Buffer[];                       // every message received, all clients
  readonly accepted: number;                         // TCP accepts
  readonly connections: number;                      // WebSocket connections opened (total)
  readonly active: number;                           // WebSocket connections open now
  readonly wss: WebSocketServer;                     // for tests that close from the server side
  close(): Promise<void>;
}

/** Starts an echo backend: echoes every message unchanged, sends nothing unsolicited, answers any HTTP GET with its name. */
export async function startEchoBackend(opts: EchoBackendOptions = {}): Promise<EchoBackend> {
  const name = opts.name ?? 'echo';
  const handshakes: http.IncomingHttpHeaders[] = [];
  const requests: { method: string; url: string; headers: http.IncomingHttpHeaders }[] = [];
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  let accepted = 0;
  let connections = 0;

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: opts.perMessageDeflate ?? false,
    ...(opts.handleProtocols ? { handleProtocols: opts.handleProtocols } : {}),
  });
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    // /whoami and every other path answer the name, so http health checks pass too.
    res.writeHead(200, { 'content-type': 'text/plain', 'x-server': name });
    res.end(name);
  });
  server.on('connection', (socket: Socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    handshakes.push(req.headers);
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      connections++;
      ws.on('error', () => ws.terminate());
      ws.on('message', (data: RawData, isBinary: boolean) => {
        const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
        received.push(buf);
        ws.send(buf, { binary: isBinary });
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    name, mode: 'echo', port, url: `ws://127.0.0.1:${port}`, handshakes, requests, received, wss,
    get accepted() { return accepted; },
    get connections() { return connections; },
    get active() { return wss.clients.size; },
    async close() {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
