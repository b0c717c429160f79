/** What plain-HTTP proxying reads and reports on the balancer's live state (src/runtime.ts's Runtime is one), so http/ never imports the runtime. */

import type { Socket } from 'node:net';
import type { Balancer } from '../balancing/balancer.js';
import type { KeySpec } from '../balancing/hash-key.js';
import type { Config, RouteConfig } from '../config/types.js';
import type { ErrorCode } from '../errors.js';
import type { Pool } from '../pool/pool.js';
import type { Server } from '../pool/server.js';
import type { ExchangeAccess } from './access.js';

/** A route as an exchange serves it: its config, its pool and the algorithm that picks in it. */
export interface HttpRoute {
  readonly config: RouteConfig;
  readonly pool: Pool;
  readonly balancer: Balancer;
  /** What `ctx.key` is read from, when the algorithm has one. */
  readonly key?: KeySpec | undefined;
}

export interface HttpRuntime {
  /** Read per request: timeouts and session TTLs follow a reload. */
  readonly config: Config;
  /** Shutdown drain: answers stop offering keep-alive. */
  readonly draining: boolean;
  isTls(socket: Socket): boolean;
  /** Admission before any server is contacted (the same caps as upgrades); a code refuses. */
  admit(route: HttpRoute, clientAddress: string): ErrorCode | null;
  retryAfter(code: ErrorCode, clientAddress: string): number;
  /** Every refusal, counted for the route and logged rate-limited. */
  onRejected(route: string, code: ErrorCode, client?: string): void;
  /** An exchange counts with the tunnels in the connection metrics while it is bound to a server. */
  readonly telemetry: {
    exchangeOpened(route: string, server: Server): void;
    exchangeClosed(route: string, server: Server): void;
    /** An exchange whose request reached a server ended (called only while log.access is on). */
    exchangeEnded(facts: ExchangeAccess): void;
  };
}
