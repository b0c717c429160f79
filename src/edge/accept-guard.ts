/** Keeps a listener alive through file-descriptor exhaustion (EMFILE/ENFILE): it stops listening briefly, logs once, and listens again. */

import net from 'node:net';
import type { Logger } from '../log.js';

/** First pause; doubled while listening again keeps failing, up to MAX_PAUSE_MS. */
export const PAUSE_MS = 250;
const MAX_PAUSE_MS = 5000;
/** Pauses within this long of the last warning are counted, not logged: an exhaustion episode logs once. */
const LOG_EVERY_MS = 10_000;

export interface AcceptGuard {
  /** Times accepting was paused (for tests and /status). */
  readonly pauses: number;
  readonly paused: boolean;
  /** Someone (an accept, an upstream connect) failed for want of a descriptor: pause accepting. */
  exhausted(code: string): void;
}

export function isExhaustion(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/**
 * Where exhaustion shows: libuv sheds connections it cannot accept by itself (its reserved
 * descriptor trick) and reports EMFILE/ENFILE to Node only when that fails, as an 'error' on
 * the server, which, unhandled, kills the process; and an upstream connect for an accepted
 * client fails with EMFILE (the upgrade reports it here). Either way the guard closes the
 * listening socket, so the kernel stops handing over connections that cannot be served, and
 * re-listens on the same address after a pause that grows while listening again fails.
 * Established connections are untouched. The first pause of an episode logs a warning and the
 * recovery logs once more; closing the server for good (server.close) cancels a re-listen.
 */
export function guardAccept(server: net.Server, log: Logger, kind = 'proxy'): AcceptGuard {
  let paused = false;
  let pauses = 0;
  let stopped = false;
  let delay = PAUSE_MS;
  let suppressed = 0;
  let loggedAt = -Infinity;
  let timer: NodeJS.Timeout | null = null;
  let address: net.AddressInfo | null = null;

  const relisten = (): void => {
    timer = null;
    if (stopped || address === null) return;
    server.listen(address.port, address.address);
  };

  const schedule = (): void => {
    if (stopped || timer !== null) return;
    timer = setTimeout(relisten, delay);
    timer.unref();
  };

  const exhausted = (code: string): void => {
    if (stopped) return;
    if (paused) return;   // already paused: the re-listen is scheduled
    const a = server.address();
    if (a === null || typeof a === 'string') return;
    paused = true;
    pauses++;
    address = a;
    const now = performance.now();
    if (now - loggedAt >= LOG_EVERY_MS) {
      loggedAt = now;
      log.warn({ kind, code, address: a.address, port: a.port, pause_ms: delay, ...(suppressed ? { pauses_since_last_warning: suppressed } : {}) }, 'out of file descriptors: accepting paused');
      suppressed = 0;
    } else {
      suppressed++;
    }
    // net's close, not http's: that one would also close idle keep-alive sockets and stop the request-timeout checks.
    net.Server.prototype.close.call(server);
    schedule();
  };

  server.on('error', (err: NodeJS.ErrnoException) => {
    if (paused && timer === null && !stopped) {
      // Listening again failed (still out of descriptors, or the port was taken meanwhile): wait longer.
      delay = Math.min(MAX_PAUSE_MS, delay * 2);
      schedule();
      return;
    }
    if (isExhaustion(err)) return exhausted(err.code!);
    // Not ours: a bind error at start reaches listen()'s own once('error'); log the rest.
    if (server.listening) log.error({ err, kind }, 'listener error');
  });

  server.on('listening', () => {
    if (!paused) return;
    paused = false;
    delay = PAUSE_MS;
    if (suppressed === 0) log.info({ kind, address: address?.address, port: address?.port }, 'accepting again');
  });

  // Whoever closes the server for good (Listener.close, Balancer.destroy) stops the guard first.
  const close = server.close.bind(server);
  server.close = (cb?: (err?: Error) => void) => {
    stopped = true;
    if (timer !== null) { clearTimeout(timer); timer = null; }
    return close(cb);
  };

  return {
    get pauses() { return pauses; },
    get paused() { return paused; },
    exhausted,
  };
}
