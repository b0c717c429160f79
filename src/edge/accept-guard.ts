/** Keeps a listener alive through file-descriptor exhaustion: on EMFILE/ENFILE from accept it stops listening briefly, logs once, and listens again. */

import net from 'node:net';
import type { Logger } from '../log.js';

/** First pause; doubled while listening again keeps failing, up to MAX_PAUSE_MS. */
export const PAUSE_MS = 250;
const MAX_PAUSE_MS = 5000;

export interface AcceptGuard {
  /** Times accepting was paused (for tests and /status). */
  readonly pauses: number;
  readonly paused: boolean;
}

/**
 * Node reports a failed accept as an 'error' on the server, which, unhandled, kills the
 * process. libuv already sheds the pending connection (its reserved-descriptor trick); on top
 * of that the guard closes the listening socket so the kernel stops handing us connections we
 * cannot take, and re-listens on the same address after a pause (growing while it keeps failing).
 * Established connections are untouched. The first pause of an episode logs a warning and the
 * recovery logs once more; errors in between are counted, not logged. Closing the server for
 * good (server.close) cancels a pending re-listen.
 */
export function guardAccept(server: net.Server, log: Logger, kind = 'proxy'): AcceptGuard {
  let paused = false;
  let pauses = 0;
  let stopped = false;
  let delay = PAUSE_MS;
  let errors = 0;
  let timer: NodeJS.Timeout | null = null;
  let address: net.AddressInfo | null = null;

  const relisten = (): void => {
    timer = null;
    if (stopped || address === null) return;
    server.listen(address.port, address.address);
  };

  server.on('error', (err: NodeJS.ErrnoException) => {
    const exhausted = err.code === 'EMFILE' || err.code === 'ENFILE';
    if (!paused && !(exhausted && err.syscall === 'accept')) {
      // Not ours: a bind error at start is reported by listen()'s own once('error'); log the rest.
      if (server.listening) log.error({ err, kind }, 'listener error');
      return;
    }
    errors++;
    if (!paused) {
      paused = true;
      pauses++;
      address = server.address() as net.AddressInfo;
      log.warn({ kind, code: err.code, address: address.address, port: address.port, pause_ms: delay }, 'out of file descriptors: accepting paused');
      // net's close, not http's: that one would also close idle keep-alive sockets and stop the request-timeout checks.
      net.Server.prototype.close.call(server);
    } else {
      delay = Math.min(MAX_PAUSE_MS, delay * 2);   // re-listen failed: wait longer
    }
    if (!stopped && timer === null) {
      timer = setTimeout(relisten, delay);
      timer.unref();
    }
  });

  server.on('listening', () => {
    if (!paused) return;
    paused = false;
    delay = PAUSE_MS;
    log.info({ kind, errors, address: address?.address, port: address?.port }, 'accepting again');
    errors = 0;
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
  };
}
