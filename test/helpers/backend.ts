/** Test helper entry: `startBackend(opts)` starts a real backend on 127.0.0.1 port 0, a `ws` echo server or a misbehaving raw-TCP one. */

import { startEchoBackend, type EchoBackend, type EchoBackendOptions } from './backend-ws.js';
import { startRawBackend, type RawBackend, type RawMode } from './backend-raw.js';

export type { EchoBackend, EchoBackendOptions } from './backend-ws.js';
export { RAW_MODES, SECRET_BODY, type RawBackend, type RawMode, type RawRequestLog } from './backend-raw.js';

export type BackendMode = 'echo' | RawMode;

export interface BackendOptions extends EchoBackendOptions {
  mode?: BackendMode;    // default 'echo'
}

export type Backend = EchoBackend | RawBackend;

/**
 * Modes: 'echo' (default) is a `ws` server that echoes and never speaks first.
 * Raw modes: 'refuse' (a port nobody listens on), 'silent' (accepts, never answers),
 * 'status-426-keepalive' (426 kept alive, then 200 SECRET-INTERNAL to any further request on
 * the socket), 'bad-accept', 'h2c', 'unoffered-protocol' (Sec-WebSocket-Protocol: nope),
 * 'bare-101' (101 without upgrade headers), 'status-500' (body "boom"), 'hello-with-101'
 * (a correct 101 and a text frame "hi" in the same write).
 */
export function startBackend(opts: BackendOptions & { mode?: 'echo' }): Promise<EchoBackend>;
export function startBackend(opts: BackendOptions & { mode: RawMode }): Promise<RawBackend>;
export function startBackend(opts?: BackendOptions): Promise<Backend>;
export function startBackend(opts: BackendOptions = {}): Promise<Backend> {
  const mode = opts.mode ?? 'echo';
  if (mode === 'echo') return startEchoBackend(opts);
  return startRawBackend(mode, opts.name ?? mode);
}

/** Starts several echo backends named `${prefix}-1..n`. */
export async function startEchoBackends(n: number, prefix = 'b', opts: EchoBackendOptions = {}): Promise<EchoBackend[]> {
  const out: EchoBackend[] = [];
  for (let i = 1; i <= n; i++) out.push(await startEchoBackend({ ...opts, name: `${prefix}-${i}` }));
  return out;
}
