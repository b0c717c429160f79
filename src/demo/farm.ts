/** The bundled demo farm: small real WebSocket servers (demo-1..N) that greet, echo, broadcast and report their load. */

import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket, type RawData } from 'ws';

// Protocol of each demo server (what `wslb demo` users see):
// - on connect: {"type":"hello","server":"demo-1","clients":N}   (N counts this client)
// - every message is echoed back unchanged (text stays text, binary stays binary),
//   except a text message starting with "broadcast:", which is sent unchanged to every
//   client of that server instead (the sender included, so it still sees it once);
//   a text message "flood:<bytes>" (1..1048576) makes the server push binary messages of that
//   size to that client as fast as the connection takes them (4 in flight, one more per loop turn), until it closes
//   (a load generator's heavy downloader; wslb-bench flood);
// - the room is chosen by path: a client that connects to /room (or /room/..., any query)
//   receives {"type":"tick","server":"demo-1","clients":N,"ts":<ms>} every second;
// - plain HTTP: GET / -> a text page naming the server; GET /load -> JSON
//   {"cpu":<0-100>,"memory":<0-100>,"connections":N} for the custom-load algorithm.
//   cpu and memory are those of the whole farm process (all demo servers share it);
//   connections is per server.

export interface FarmOptions {
  host?: string;
  ports?: number[];        // one server per port; 0 = ephemeral
  tickMs?: number;         // room tick period (tests shorten it)
}

export interface FarmServerInfo {
  name: string;
  port: number;
}

export interface Farm {
  servers: FarmServerInfo[];
  close(): Promise<void>;
}

const ROOM_PATH = '/room';
const BROADCAST_PREFIX = Buffer.from('broadcast:');
const FLOOD_RE = /^flood:(\d{1,7})$/;

/**
 * Pushes `size`-byte binary messages to ws as fast as its socket takes them: at most 4 not yet
 * written, so the server's memory stays bounded, and at most one new message per connection per
 * event-loop turn. Why the turn: a write the kernel takes at once completes in a nextTick, and a
 * pump refilled from that callback would keep the loop in nextTicks until every flooding socket's
 * kernel buffer is full (several MiB each on loopback), so this one process would answer nothing
 * else for ~0.1 s, and a client of the same farm would measure the farm, not the proxy in front.
 */
function flood(ws: WebSocket, size: number): void {
  const msg = Buffer.alloc(size, 0x78);
  let inFlight = 0;
  let queued = false;
  const pump = (): number => {
    queued = false;
    if (ws.readyState !== WebSocket.OPEN || inFlight >= 4) return 0;
    inFlight++;
    ws.send(msg, { binary: true }, written);
    if (inFlight < 4) schedule();
    return size;
  };
  const schedule = (): void => {
    if (queued) return;
    queued = true;
    floodTurns.push(pump);
  };
  const written = (): void => {
    inFlight--;
    schedule();
  };
  schedule();
}

/**
 * The flooding connections of this process take turns: each loop turn sends at most
 * FLOOD_TURN_BYTES over all of them, oldest waiting first, and the rest wait for the next turn.
 * Why: with one message per connection per turn, 100 connections pushing 64 KiB each made every
 * turn write 6.4 MiB whenever a proxy in front read them flat out; the farm's turns then lasted
 * 10-20 ms for the whole fill (measured with a loop-gap probe in the farm, while the proxy's own
 * turns stayed under 9 ms), and a latency probe served by this process measured those. The
 * budget only splits the work into shorter turns: the next one starts at once, so the flood's
 * rate is what the process can write.
 */
export const FLOOD_TURN_BYTES = 1024 * 1024;

/** Counters for tests: flood turns run, and the most bytes one of them sent. */
export const floodStats = { turns: 0, maxTurnBytes: 0 };

const floodTurns = {
  queue: [] as (() => number)[],
  scheduled: false,
  push(pump: () => number): void {
    this.queue.push(pump);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(runFloodTurn);
    }
  },
};

function runFloodTurn(): void {
  floodTurns.scheduled = false;
  // Pumps queued during this turn (a pump requeues itself) wait for the next one.
  const due = floodTurns.queue;
  floodTurns.queue = [];
  let spent = 0;
  let i = 0;
  while (i < due.length && spent < FLOOD_TURN_BYTES) spent += due[i++]!();
  floodStats.turns++;
  if (spent > floodStats.maxTurnBytes) floodStats.maxTurnBytes = spent;
  if (i < due.length) floodTurns.queue = due.slice(i).concat(floodTurns.queue);
  if (floodTurns.queue.length > 0 && !floodTurns.scheduled) {
    floodTurns.scheduled = true;
    setImmediate(runFloodTurn);
  }
}

/** The farm process's CPU use (percent of one core) since the previous call, and its memory share. */
class ProcessLoad {
  #lastCpu = process.cpuUsage();
  #lastAt = process.hrtime.bigint();
  #cpu = 0;

  sample(): { cpu: number; memory: number } {
    const now = process.hrtime.bigint();
    const elapsedUs = Number(now - this.#lastAt) / 1000;
    // Re-sample only when enough time passed for the ratio to mean something.
    if (elapsedUs >= 100_000) {
      const used = process.cpuUsage(this.#lastCpu);
      this.#cpu = Math.min(100, ((used.user + used.system) / elapsedUs) * 100);
      this.#lastCpu = process.cpuUsage();
      this.#lastAt = now;
    }
    const memory = (process.memoryUsage.rss() / os.totalmem()) * 100;
    return { cpu: round2(this.#cpu), memory: round2(memory) };
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function isRoomPath(url: string | undefined): boolean {
  const path = (url ?? '/').split('?', 1)[0]!;
  return path === ROOM_PATH || path.startsWith(ROOM_PATH + '/');
}

class DemoServer {
  readonly name: string;
  readonly http: http.Server;
  readonly wss: WebSocketServer;
  readonly room = new Set<WebSocket>();
  #tick: NodeJS.Timeout;
  #load: ProcessLoad;

  constructor(name: string, load: ProcessLoad, tickMs: number) {
    this.name = name;
    this.#load = load;
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    this.http = http.createServer((req, res) => this.httpOnRequest(req, res));
    this.http.on('upgrade', (req, socket, head) => {
      socket.on('error', () => socket.destroy());
      this.wss.handleUpgrade(req, socket, head, (ws) => this.wssOnConnection(ws, req));
    });
    this.#tick = setInterval(() => this.roomOnTick(), tickMs);
  }

  get clients(): number {
    return this.wss.clients.size;
  }

  httpOnRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method === 'GET' && path === '/load') {
      const body = JSON.stringify({ ...this.#load.sample(), connections: this.clients });
      res.writeHead(200, { 'content-type': 'application/json', 'x-server': this.name });
      res.end(body);
    } else if (req.method === 'GET' && path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-server': this.name });
      res.end(`${this.name}: wslb demo WebSocket server, ${this.clients} client(s) connected.\n` +
        `Connect with WebSocket to / (echo) or ${ROOM_PATH} (echo + a tick every second).\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'x-server': this.name });
      res.end(`${this.name}: not found\n`);
    }
  }

  wssOnConnection(ws: WebSocket, req: http.IncomingMessage): void {
    ws.on('error', () => ws.terminate());
    if (isRoomPath(req.url)) this.room.add(ws);
    ws.on('close', () => this.room.delete(ws));
    ws.on('message', (data: RawData, isBinary: boolean) => this.clientOnMessage(ws, data, isBinary));
    ws.send(JSON.stringify({ type: 'hello', server: this.name, clients: this.clients }));
  }

  clientOnMessage(ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (!isBinary && Buffer.isBuffer(data) && data.length >= BROADCAST_PREFIX.length &&
        data.subarray(0, BROADCAST_PREFIX.length).equals(BROADCAST_PREFIX)) {
      for (const client of this.wss.clients) {
        if (client.readyState === WebSocket.OPEN) client.send(data, { binary: false });
      }
      return;
    }
    const m = !isBinary && Buffer.isBuffer(data) && data.length <= 13 ? FLOOD_RE.exec(data.toString('latin1')) : null;
    if (m && Number(m[1]) >= 1 && Number(m[1]) <= 1048576) return flood(ws, Number(m[1]));
    ws.send(data, { binary: isBinary });
  }

  roomOnTick(): void {
    if (this.room.size === 0) return;
    const msg = JSON.stringify({ type: 'tick', server: this.name, clients: this.clients, ts: Date.now() });
    for (const ws of this.room) {
      if (ws.readyState === WebSocket.OPEN) ws.send(msg);
    }
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve((this.http.address() as AddressInfo).port);
      });
    });
  }

  async close(): Promise<void> {
    clearInterval(this.#tick);
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}

/** Starts one demo server per port (named demo-1..N); on any listen failure, closes those already started. */
export async function startFarm(opts: FarmOptions = {}): Promise<Farm> {
  const host = opts.host ?? '127.0.0.1';
  const ports = opts.ports ?? [9001, 9002, 9003];
  const tickMs = opts.tickMs ?? 1000;
  const load = new ProcessLoad();
  const started: DemoServer[] = [];
  const servers: FarmServerInfo[] = [];
  try {
    for (let i = 0; i < ports.length; i++) {
      const server = new DemoServer(`demo-${i + 1}`, load, tickMs);
      started.push(server);
      servers.push({ name: server.name, port: await server.listen(ports[i]!, host) });
    }
  } catch (err) {
    await Promise.all(started.map((s) => s.close()));
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    servers,
    close: () => (closing ??= Promise.all(started.map((s) => s.close())).then(() => undefined)),
  };
}
