/** Route affinity: a cookie naming the server, or a session id learnt from Engine.IO / SockJS, pinning requests to one server. */

import type { IncomingMessage } from 'node:http';
import { createHash } from 'node:crypto';
import type { AffinityConfig } from '../config/types.js';
import type { Pinning } from '../pool/select.js';
import type { Server } from '../pool/server.js';
import { extractKey } from '../balancing/hash-key.js';
import { engineIoSid, isEngineIoHandshake, sockJsSession } from './presets.js';
import { SessionTable } from './sessions.js';

type Req = Pick<IncomingMessage, 'url' | 'headers' | 'method'>;

/** Most sessions one route remembers. */
export const MAX_SESSIONS = 100_000;

const ids = new WeakMap<Server, string>();

/**
 * The cookie value for a server: opaque (no address in it) and the same in every balancer
 * built from the same config, so a client keeps its server across balancer restarts.
 */
export function serverId(server: Server): string {
  let id = ids.get(server);
  if (id === undefined) {
    id = createHash('sha256').update(`${server.pool}\0${server.name}\0${server.url}`).digest('base64url').slice(0, 16);
    ids.set(server, id);
  }
  return id;
}

export class Affinity implements Pinning {
  readonly config: AffinityConfig;
  /** engine.io / sockjs only. */
  readonly sessions: SessionTable | null;
  /** Told each session learnt or kept (engine.io / sockjs), to share it with other workers and instances (src/cluster/affinity-share.ts). */
  observer: ((session: string, server: Server) => void) | null = null;

  constructor(config: AffinityConfig, ttlMs: () => number, now?: () => number) {
    this.config = config;
    this.sessions = config.kind === 'cookie' ? null : new SessionTable({ max: MAX_SESSIONS, ttlMs, ...(now ? { now } : {}) });
  }

  /** Same kind (and cookie name): a reload keeps this object and its sessions. */
  sameAs(config: AffinityConfig): boolean {
    return config.kind === this.config.kind && (config.kind !== 'cookie' || this.config.kind !== 'cookie' || config.cookie === this.config.cookie);
  }

  #session(req: Req): string | undefined {
    const url = req.url ?? '/';
    return this.config.kind === 'engine.io' ? engineIoSid(url) : sockJsSession(url);
  }

  /** The server this request is pinned to, when it is one of `servers` (ready, not yet tried); else undefined (pick again). */
  pinned(req: Req, servers: readonly Server[]): Server | undefined {
    let s: Server | undefined;
    if (this.config.kind === 'cookie') {
      const id = extractKey({ kind: 'cookie', name: this.config.cookie }, req, '');
      if (id === undefined) return undefined;
      for (const c of servers) if (serverId(c) === id) return c;
      return undefined;
    }
    const session = this.#session(req);
    if (session !== undefined) s = this.sessions!.get(session);
    return s !== undefined && servers.includes(s) ? s : undefined;
  }

  /**
   * Records the server that takes this request. Cookie: returns the Set-Cookie value when the
   * client is not pinned to it yet (first visit, or re-pinned because its server was not ready).
   * SockJS: a session is learnt on first sight. Engine.IO: a session moved off its server is
   * forgotten (the new server answers "Session ID unknown" and the client re-handshakes); new
   * sessions are learnt from the handshake answer (`learn`).
   */
  chosen(req: Req, server: Server, tls: boolean): string | undefined {
    switch (this.config.kind) {
      case 'cookie': {
        const id = serverId(server);
        if (extractKey({ kind: 'cookie', name: this.config.cookie }, req, '') === id) return undefined;
        return `${this.config.cookie}=${id}; Path=/; HttpOnly; SameSite=Lax${tls ? '; Secure' : ''}`;
      }
      case 'sockjs': {
        const session = this.#session(req);
        if (session !== undefined) { this.sessions!.set(session, server); this.observer?.(session, server); }
        return undefined;
      }
      case 'engine.io': {
        const sid = this.#session(req);
        if (sid !== undefined && this.sessions!.get(sid) !== server) this.sessions!.delete(sid);
        else if (sid !== undefined) this.observer?.(sid, server);
        return undefined;
      }
    }
  }

  /** Engine.IO: whether this request's answer opens a session (its body is then searched for the sid). */
  watchesAnswer(req: Req): boolean {
    return this.config.kind === 'engine.io' && isEngineIoHandshake(req.method, req.url ?? '/');
  }

  learn(session: string, server: Server): void {
    this.sessions?.set(session, server);
    this.observer?.(session, server);
  }

  /** The request's session id when it carries one this table does not know (a lookup elsewhere may find it). */
  unknownSession(req: Req): string | undefined {
    if (this.config.kind === 'cookie') return undefined;
    const session = this.#session(req);
    return session !== undefined && this.sessions!.get(session) === undefined ? session : undefined;
  }
}
