/** The active health probes (`tcp`, `http`, `websocket`): one attempt each, bounded by the timeout, never rejecting. */

import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import WebSocket from 'ws';
import type { HealthConfig } from '../config/types.js';
import type { Server } from './server.js';
import { proxyHeader } from '../tunnel/send-proxy.js';

export type ProbeResult =
  | { readonly ok: true; readonly rttMs?: number }   // rttMs: websocket ping -> pong
  | { readonly ok: false; readonly reason: string };

/** TLS settings for wss:// servers (from the pool's `tls`), and the pool's `send_proxy`. */
export interface ProbeTls {
  readonly rejectUnauthorized?: boolean;
  readonly servername?: string;
  readonly ca?: Buffer;
  /** The pool's tunnels start with a PROXY header: so do its probes (a server that requires one refuses a connection without it). */
  readonly sendProxy?: 'v1' | 'v2';
}

export type Probe = (server: Server, cfg: HealthConfig, signal: AbortSignal, tlsOpts?: ProbeTls) => Promise<ProbeResult>;

/** No client behind a probe: v1 UNKNOWN / v2 LOCAL, so the server takes the connection's own addresses (HAProxy's check-send-proxy). */
const NO_CLIENT = { source: { address: '', port: 0 }, destination: { address: '', port: 0 } };

/** A probe's connection: the PROXY header first when the pool sends one, then TLS for wss:// servers. */
function probeSocket(server: Server, opts?: ProbeTls): net.Socket {
  const raw = net.connect({ host: server.host, port: server.port });
  if (opts?.sendProxy) raw.write(proxyHeader(opts.sendProxy, NO_CLIENT));
  if (!server.tls) return raw;
  raw.on('error', () => {});   // surfaces on the TLS socket
  return tls.connect({ ...tlsSettings(server, opts), socket: raw });
}

const USER_AGENT = 'wslb-health-check';

/** Runs the probe `cfg.check` names (`none` always passes). */
export const runProbe: Probe = (server, cfg, signal, tlsOpts) => {
  switch (cfg.check) {
    case 'tcp': return tcpProbe(server, cfg.timeout, signal, tlsOpts);
    case 'http': return httpProbe(server, cfg, signal, tlsOpts);
    case 'websocket': return websocketProbe(server, cfg, signal, tlsOpts);
    default: return Promise.resolve({ ok: true });
  }
};

/**
 * Shared scaffolding: settle once, on the first of result / timeout / abort, then run the
 * probe's cleanup. `start` receives `done` and returns the cleanup.
 */
function attempt(timeoutMs: number, signal: AbortSignal, start: (done: (r: ProbeResult) => void) => () => void): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    let cleanup: () => void = () => {};
    const done = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      cleanup();
      resolve(r);
    };
    const onAbort = (): void => done({ ok: false, reason: 'aborted' });
    const timer = setTimeout(() => done({ ok: false, reason: `timeout after ${timeoutMs} ms` }), timeoutMs);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort);
    cleanup = start(done);
    if (settled) cleanup();
  });
}

function errReason(err: Error): string {
  return err.message || (err as NodeJS.ErrnoException).code || 'error';
}

/** Connects (TLS for wss:// servers) and hangs up. */
export function tcpProbe(server: Server, timeoutMs: number, signal: AbortSignal, tlsOpts?: ProbeTls): Promise<ProbeResult> {
  return attempt(timeoutMs, signal, (done) => {
    const socket = probeSocket(server, tlsOpts);
    socket.on('error', (err) => done({ ok: false, reason: errReason(err) }));
    socket.once(server.tls ? 'secureConnect' : 'connect', () => done({ ok: true }));
    return () => socket.destroy();
  });
}

/** GET `cfg.path` on a fresh connection; any 2xx passes. */
export function httpProbe(server: Server, cfg: HealthConfig, signal: AbortSignal, tlsOpts?: ProbeTls): Promise<ProbeResult> {
  return attempt(cfg.timeout, signal, (done) => {
    const options = {
      host: server.host, port: server.port, path: cfg.path, method: 'GET',
      headers: { 'user-agent': USER_AGENT, connection: 'close' },
      createConnection: () => probeSocket(server, tlsOpts),
    };
    const req = (server.tls ? https : http).request(options, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      done(status >= 200 && status < 300 ? { ok: true } : { ok: false, reason: `HTTP ${status}` });
    });
    req.on('error', (err) => done({ ok: false, reason: errReason(err) }));
    req.end();
    return () => req.destroy();
  });
}

/**
 * A real upgrade to `cfg.path` (permessage-deflate off), then a ping: passes when the pong
 * arrives within the timeout. The ping -> pong time is the server's round trip.
 */
export function websocketProbe(server: Server, cfg: HealthConfig, signal: AbortSignal, tlsOpts?: ProbeTls): Promise<ProbeResult> {
  return attempt(cfg.timeout, signal, (done) => {
    const url = new URL(cfg.path, server.url).toString();
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      handshakeTimeout: cfg.timeout,
      headers: { 'user-agent': USER_AGENT },
      createConnection: () => probeSocket(server, tlsOpts),
    });
    let pingAt = 0;
    ws.on('error', (err) => done({ ok: false, reason: errReason(err) }));
    ws.on('unexpected-response', (req, res) => {
      done({ ok: false, reason: `upgrade answered HTTP ${res.statusCode ?? 0}` });
      req.destroy();
    });
    ws.on('open', () => {
      pingAt = performance.now();
      ws.ping();
    });
    ws.on('pong', () => done({ ok: true, rttMs: performance.now() - pingAt }));
    ws.on('close', (code) => done({ ok: false, reason: `closed (${code}) before the pong` }));
    return () => {
      ws.removeAllListeners('close');
      ws.on('error', () => {});
      // A polite close when the connection is up; cut it if the server does not answer in time.
      if (ws.readyState === WebSocket.OPEN) {
        ws.close(1000);
        setTimeout(() => ws.terminate(), cfg.timeout).unref();
      } else {
        ws.terminate();
      }
    };
  });
}

function tlsSettings(server: Server, t?: ProbeTls): tls.ConnectionOptions {
  return {
    rejectUnauthorized: t?.rejectUnauthorized ?? true,
    servername: t?.servername ?? (net.isIP(server.host) ? undefined : server.host),
    ...(t?.ca ? { ca: t.ca } : {}),
  };
}
