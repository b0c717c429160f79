/** One backend server: its address, its state bits and its plain counters (read at scrape time, merged by later worker sync). */

import type { ServerConfig } from '../config/types.js';
import type { Tunnel } from '../tunnel/tunnel.js';

export type ServerState = 'up' | 'down' | 'draining' | 'disabled' | 'ejected';

export class Server {
  readonly name: string;
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly pool: string;
  weight: number;

  // State bits: ready = healthy && enabled && !draining && !ejected (STYLE habit 3).
  healthy = true;
  enabled = true;
  draining = false;
  ejected = false;
  reason: string | null = null;

  // Counters: the tunnel increments on connect and decrements in its single close path.
  active = 0;
  total = 0;
  bytesIn = 0;        // client -> server (upstream direction)
  bytesOut = 0;       // server -> client (downstream direction)
  messagesIn = 0;
  messagesOut = 0;
  connectFailures = 0;

  /** Open tunnels on this server, oldest first (insertion order): drains and rebalancing close from here. */
  readonly tunnels = new Set<Tunnel>();
  /** The drain in progress (admin, reload, discovery), if any. */
  drainJob: Promise<void> | null = null;
  drainCancel: (() => void) | null = null;

  // Fed by later issues (bandwidth EWMA, response time, reported load); read by algorithms.
  bandwidth = 0;
  rtt = 0;
  load = 0;

  constructor(pool: string, cfg: ServerConfig) {
    this.pool = pool;
    this.name = cfg.name;
    this.url = cfg.url;
    this.host = cfg.host;
    this.port = cfg.port;
    this.tls = cfg.tls;
    this.weight = cfg.weight;
  }

  /** Takes the reloadable settings of a server kept across a reload. */
  configure(cfg: ServerConfig): void {
    this.weight = cfg.weight;
  }

  get ready(): boolean {
    return this.healthy && this.enabled && !this.draining && !this.ejected;
  }

  get state(): ServerState {
    if (!this.enabled) return 'disabled';
    if (this.draining) return 'draining';
    if (this.ejected) return 'ejected';
    return this.healthy ? 'up' : 'down';
  }
}
