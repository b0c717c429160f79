/**
 * The HTTP/2 side of a TLS listener with `http2: true`: a connection that chose `h2` by ALPN goes
 * to a node:http2 session, every other one to the HTTP/1.1 path exactly as before. Extended
 * CONNECT streams become WebSocket tunnels (src/edge/h2-connect.ts), other requests go to the
 * plain-HTTP proxy (src/edge/h2-request.ts). Per session: at most H2_MAX_STREAMS streams at once,
 * closed when idle with no stream open, and on shutdown a GOAWAY once its streams have ended.
 */

import http2, { type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type tls from 'node:tls';
import type { Runtime } from '../runtime.js';
import { serveConnect } from './h2-connect.js';
import { serveRequest } from './h2-request.js';

/**
 * Streams one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS; a client
 * opens more on further connections). Every stream is also a connection for `max_connections`
 * and `max_connections_per_ip`; this bounds what one TCP connection can hold.
 */
export const H2_MAX_STREAMS = 128;

/** What the front keeps per session: its open streams, to close it gracefully when they are gone, and its idle check. */
interface SessionState {
  streams: number;
  readonly onIdle: () => void;
}

export interface H2FrontOptions {
  /** `limits.max_header_bytes`: SETTINGS_MAX_HEADER_LIST_SIZE. */
  readonly maxHeaderBytes: number;
  /** `timeouts.handshake`, read when a session starts or goes idle: a session with no stream open and no frame for this long is closed. */
  readonly idleMs: () => number;
}

function ignore(): void {}

export class H2Front {
  readonly #rt: Runtime;
  readonly #opts: H2FrontOptions;
  readonly #h2: http2.Http2Server;
  readonly #sessions = new Map<ServerHttp2Session, SessionState>();
  #closing = false;

  /**
   * Stands in front of the server's own 'secureConnection' listeners (the HTTP/1.1 head reader's),
   * like that reader stands in front of Node's parser, and hooks the server's connection closing so
   * a listener's close and destroy reach the HTTP/2 sessions too.
   */
  constructor(rt: Runtime, server: tls.Server, opts: H2FrontOptions) {
    this.#rt = rt;
    this.#opts = opts;
    this.#h2 = http2.createServer({
      settings: { enableConnectProtocol: true, maxConcurrentStreams: H2_MAX_STREAMS, maxHeaderListSize: opts.maxHeaderBytes },
    });
    this.#h2.on('session', this.#onSession);
    this.#h2.on('stream', this.#onStream);
    const downstream = server.listeners('secureConnection') as ((socket: tls.TLSSocket) => void)[];
    server.removeAllListeners('secureConnection');
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      if (socket.alpnProtocol !== 'h2') { for (const l of downstream) l.call(server, socket); return; }
      socket.setNoDelay(true);   // once for all the session's streams (a session's socket refuses it later)
      this.#h2.emit('connection', socket);
    });
    const s = server as unknown as { closeIdleConnections(): void; closeAllConnections(): void };
    const closeIdle = s.closeIdleConnections.bind(server);
    s.closeIdleConnections = () => { this.close(); closeIdle(); };
    const closeAll = s.closeAllConnections.bind(server);
    s.closeAllConnections = () => { this.destroy(); closeAll(); };
  }

  /** HTTP/2 sessions open now. */
  get sessions(): number {
    return this.#sessions.size;
  }

  readonly #onSession = (session: ServerHttp2Session): void => {
    session.on('error', ignore);   // a reset connection: 'close' follows
    // No stream open and nothing received for the idle time: the session goes (GOAWAY), as an idle keep-alive socket would.
    const state: SessionState = { streams: 0, onIdle: () => { if (state.streams === 0) this.#goAway(session); } };
    this.#sessions.set(session, state);
    const counts = this.#rt.http2;
    counts.sessions++;
    counts.sessionsTotal++;
    session.once('close', () => {
      this.#sessions.delete(session);
      counts.sessions--;
    });
    session.on('timeout', state.onIdle);   // once: setTimeout(ms, callback) would add a listener per call
    session.setTimeout(this.#opts.idleMs());
    if (this.#closing) this.#goAway(session);
  };

  readonly #onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, raw: string[]): void => {
    stream.on('error', ignore);   // a reset stream: 'close' follows, and the parts using it listen for that
    const session = stream.session as ServerHttp2Session;
    const state = this.#sessions.get(session);
    if (state) {
      state.streams++;
      stream.once('close', () => {
        if (--state.streams > 0) return;
        if (this.#closing) this.#goAway(session);
        // The idle time counts from the last stream's end (a timeout that fired while streams were open is not re-armed by itself).
        else if (!session.destroyed) session.setTimeout(this.#opts.idleMs());
      });
    }
    if (headers[':method'] === 'CONNECT') {
      const protocol = headers[':protocol'];
      serveConnect(this.#rt, stream, raw, typeof protocol === 'string' ? protocol : undefined);
    } else {
      serveRequest(this.#rt, stream, raw, (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0);
    }
  };

  /** Ends `session` gracefully: GOAWAY now, the socket closed once its open streams (if any) end. */
  #goAway(session: ServerHttp2Session): void {
    if (!session.closed && !session.destroyed) session.close();
  }

  /**
   * Graceful (a listener closing, on shutdown): idle sessions get their GOAWAY now; a session
   * with streams open gets it once they have all ended, that is after the drain has sent their
   * tunnels' close frames and they closed. Streams opened meanwhile are answered (503 while draining).
   */
  close(): void {
    this.#closing = true;
    for (const [session, state] of this.#sessions) if (state.streams === 0) this.#goAway(session);
  }

  /** Abort: every session and its streams destroyed now. */
  destroy(): void {
    this.#closing = true;
    for (const session of [...this.#sessions.keys()]) session.destroy();
  }
}
