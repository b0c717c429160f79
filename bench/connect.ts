/** Opening WebSocket connections for the generator: per-connection URL and source address, arrival ramp, bounded concurrency, errors by kind. */

import type { ClientRequest, IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import type { BenchOptions } from './options.js';
import type { Stats } from './stats.js';
import type { WorkerJob } from './protocol.js';
import { openH2Ws } from './h2-client.js';

export interface Opened {
  ws: WebSocket;
  /** Handshake time: socket creation to 'open', ms. */
  ms: number;
}

/** The URL and source address of connection `i` of the run (round robin over both lists). */
export function endpointFor(opts: Pick<BenchOptions, 'urls' | 'localAddresses'>, i: number): { url: string; localAddress: string | undefined } {
  const url = opts.urls[i % opts.urls.length]!;
  const localAddress = opts.localAddresses.length ? opts.localAddresses[i % opts.localAddresses.length] : undefined;
  return { url, localAddress };
}

/** One connection attempt; resolves with the socket or an error kind (`http 503`, `ECONNREFUSED`, `timeout`), never rejects. */
export function openWs(opts: BenchOptions, i: number): Promise<Opened | { error: string }> {
  const { url, localAddress } = endpointFor(opts, i);
  if (opts.http2) return openH2Ws(opts, url, i);
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const settle = (v: Opened | { error: string }): void => {
      if (settled) return;
      settled = true;
      resolve(v);
    };
    const ws = new WebSocket(url, {
      perMessageDeflate: opts.perMessageDeflate,
      handshakeTimeout: opts.handshakeTimeoutMs,
      ...(localAddress ? { localAddress } : {}),
      ...(opts.insecure ? { rejectUnauthorized: false } : {}),
    });
    ws.on('unexpected-response', (req: ClientRequest, res: IncomingMessage) => {
      settle({ error: `http ${res.statusCode ?? '?'}` });
      req.destroy();
      ws.terminate();
    });
    ws.once('error', (err: NodeJS.ErrnoException) => {
      settle({ error: err.code ?? (/timed out/.test(err.message) ? 'timeout' : 'error') });
      ws.terminate();
    });
    ws.once('open', () => settle({ ws, ms: performance.now() - t0 }));
  });
}

export interface OpenManyOptions {
  /** Connections of the run this process opens: indices first .. first + n - 1. */
  first: number;
  n: number;
  /** Arrivals per second (0: as fast as `concurrency` allows). */
  ramp: number;
  concurrency: number;
  /** Stop opening when this returns true (run stopped). */
  stopped: () => boolean;
  onOpen: (o: Opened, i: number) => void;
}

/** Opens n connections at the ramp rate with at most `concurrency` handshakes in flight; failures counted in stats. */
export async function openMany(opts: BenchOptions, stats: Stats, m: OpenManyOptions): Promise<void> {
  const start = performance.now();
  let inFlight = 0;
  let wake: (() => void) | null = null;
  const all: Promise<void>[] = [];
  for (let k = 0; k < m.n && !m.stopped(); k++) {
    if (m.ramp > 0) {
      const wait = start + (k * 1000) / m.ramp - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    while (inFlight >= m.concurrency) await new Promise<void>((r) => { wake = r; });
    inFlight++;
    const i = m.first + k;
    all.push(openWs(opts, i).then((o) => {
      inFlight--;
      const w = wake;
      wake = null;
      w?.();
      if ('error' in o) {
        stats.error(o.error);
        stats.count('failed');
      } else {
        stats.count('opened');
        m.onOpen(o, i);
      }
    }));
  }
  await Promise.all(all);
}

/** openMany over this worker process's share of the run (its job): the opening every scenario does. */
export function openJob(opts: BenchOptions, stats: Stats, job: Pick<WorkerJob, 'firstConnection' | 'connections' | 'ramp'>,
  stopped: () => boolean, onOpen: (o: Opened, i: number) => void): Promise<void> {
  return openMany(opts, stats, { first: job.firstConnection, n: job.connections, ramp: job.ramp, concurrency: opts.concurrency, stopped, onOpen });
}

/** A payload of `size` bytes starting with a marker, so echoes are told apart from server pushes (a greeting, a tick). */
export const MARK = Buffer.from('WSB|');

export function makePayload(size: number, binary: boolean): Buffer {
  const b = Buffer.alloc(size, binary ? 0xab : 0x61);
  MARK.copy(b, 0, 0, Math.min(MARK.length, size));
  return b;
}

export function isOurs(data: Buffer, size: number): boolean {
  if (data.length !== size) return false;
  const n = Math.min(MARK.length, size);
  for (let k = 0; k < n; k++) if (data[k] !== MARK[k]) return false;
  return true;
}

/** The connections a scenario holds; counts unexpected closes (the target dropped them) while the run is on. */
export class Connections {
  readonly list: WebSocket[] = [];
  #closing = false;

  constructor(readonly stats: Stats) {}

  add(ws: WebSocket): void {
    this.list.push(ws);
    ws.on('error', () => undefined);
    ws.once('close', () => {
      if (!this.#closing) this.stats.count('dropped_connections');
    });
  }

  get open(): number {
    let n = 0;
    for (const ws of this.list) if (ws.readyState === WebSocket.OPEN) n++;
    return n;
  }

  closeAll(): void {
    this.#closing = true;
    for (const ws of this.list) ws.terminate();
  }
}
