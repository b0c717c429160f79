/** Signals for a running process: SIGTERM/SIGINT stop it (shutdown grace, then drain, then exit 0; a second one aborts, exit 1); SIGHUP reloads. */

import type { Logger } from './log.js';

export interface Stoppable {
  /** The whole graceful stop: `timeouts.shutdown_grace` with /healthz 503, then the drain. */
  shutdown(): Promise<void>;
  destroy(): void;
  reload(): unknown;
}

export function handleSignals(target: Stoppable, log: Logger, afterClose?: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: aborting');
      target.destroy();
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    void target.shutdown().then(() => afterClose?.()).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => { void target.reload(); });
}
