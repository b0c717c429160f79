/** What the admin router (router.ts) asks of the process it serves: a lone balancer (server.ts) or a cluster primary (src/cluster/primary-admin.ts). */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import type { Action } from './control.js';
import type { AdminErrorCode } from './respond.js';
import type { StatusDocument } from './status-document.js';

/** What POST /reload answers from: Balancer.reload() (src/main.ts) or Primary.reload(). */
export type ReloadOutcome = { ok: true; summary: unknown; restartRequired: string[] } | { ok: false; errors: string[] };

/** GET /healthz: `ok` (200); `shutting down` from the stop signal through the grace, then `draining` (both 503). */
export type Health = 'ok' | 'shutting down' | 'draining';

/** POST /workers/restart: started (202), or refused because one already runs (409). */
export type RestartOutcome = { started: true; workers: number; drainMs: number } | { started: false };

/** The dashboard's GET /events streams. */
export interface AdminEvents {
  open(req: IncomingMessage, res: ServerResponse): void;
  /** Called once the listener is bound (a primary starts sampling its workers then). */
  start?(): void;
  /** Ends every stream (the listener is closing). */
  close(): void;
}

export interface AdminBackend {
  readonly log: Logger;
  /** `admin.token` as the process started with it ('' = none): read once, a restart changes it. */
  readonly token: string;
  health(): Health;
  /** Rendered through the router's render gate: at most one per interval, shared by waiting requests. */
  status(): StatusDocument | Promise<StatusDocument>;
  metrics(): { body: string; contentType: string } | Promise<{ body: string; contentType: string }>;
  /**
   * Applies an admin action to one server (`pool` and `server` percent-decoded); null when done, else
   * the error code (unknown pool or server). `caller`: the admin client's address, for the log lines.
   */
  action(pool: string, server: string, action: Action, caller: string): AdminErrorCode | null | Promise<AdminErrorCode | null>;
  /** Absent: POST /reload answers 501 WSLB_ERR_ADMIN_NO_RELOAD. */
  reload?(): Promise<ReloadOutcome>;
  /** A rolling restart of the workers; absent (a lone process): the endpoint does not exist (404). */
  restartWorkers?(): RestartOutcome;
  readonly events: AdminEvents;
}
