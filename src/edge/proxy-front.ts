/** What a listener does with a fresh TCP connection before HTTP (or TLS) sees a byte: trust check, PROXY header, then hand-over with the unread bytes put back. */

import type net from 'node:net';
import tls from 'node:tls';
import { registerConnection, type CidrSet } from './client-address.js';
import { parseProxyHeader } from './proxy-protocol.js';

export interface ConnectionFrontOptions {
  /** `listeners[].trusted_proxies`. */
  readonly trusted: CidrSet;
  /** `listeners[].proxy_protocol`: every connection must open with a PROXY v1 or v2 header. */
  readonly proxyProtocol: boolean;
  /** How long the header may take (timeouts.handshake, read per connection so a reload applies). */
  readonly timeoutMs: () => number;
  /** A connection closed before HTTP: no header, a malformed one, too slow, or from an untrusted peer. */
  readonly onRefused: (reason: string) => void;
}

/**
 * Puts `front` in front of the server's own 'connection' listeners (HTTP's parser, or TLS's
 * wrapper on a TLS listener): it registers the connection's trust context and, with
 * `proxyProtocol`, reads and strips the PROXY header first. With trusted_proxies set, a PROXY
 * listener closes connections from any other peer unread; with it empty, any peer may send one.
 */
export function installConnectionFront(server: net.Server, opts: ConnectionFrontOptions): void {
  const downstream = server.listeners('connection') as ((socket: net.Socket) => void)[];
  server.removeAllListeners('connection');
  const handOver = (socket: net.Socket): void => {
    for (const l of downstream) l.call(server, socket);
  };
  // TLS reads bytes put back into the raw socket itself (Node's TLSSocket initRead); HTTP needs the stream flowing again.
  const resume = !(server instanceof tls.Server);
  server.on('connection', (socket: net.Socket) => {
    if (!opts.proxyProtocol) {
      registerConnection(socket, opts.trusted);
      handOver(socket);
      return;
    }
    if (opts.trusted.size > 0 && !opts.trusted.has(socket.remoteAddress ?? '')) {
      socket.on('error', noop);
      socket.destroy();
      opts.onRefused('PROXY header from a peer not in trusted_proxies');
      return;
    }
    new HeaderReader(socket, opts, (rest) => {
      socket.pause();
      if (rest.length) socket.unshift(rest);
      handOver(socket);
      if (resume) socket.resume();
    });
  });
}

/** Collects one connection's first bytes until its PROXY header is complete; closes it on anything else. */
class HeaderReader {
  readonly #socket: net.Socket;
  readonly #opts: ConnectionFrontOptions;
  readonly #done: (rest: Buffer) => void;
  readonly #timer: NodeJS.Timeout;
  #buf: Buffer = Buffer.alloc(0);

  constructor(socket: net.Socket, opts: ConnectionFrontOptions, done: (rest: Buffer) => void) {
    this.#socket = socket;
    this.#opts = opts;
    this.#done = done;
    socket.on('error', this.socketOnError);
    socket.on('end', this.socketOnEnd);
    socket.on('data', this.socketOnData);
    this.#timer = setTimeout(this.#refuse, opts.timeoutMs(), 'no PROXY header in time');
  }

  socketOnError = (): void => this.#refuse('connection error before the PROXY header');
  socketOnEnd = (): void => this.#refuse('connection ended before the PROXY header');

  socketOnData = (chunk: Buffer): void => {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    const r = parseProxyHeader(this.#buf);
    if (r.state === 'incomplete') return;
    if (r.state === 'invalid') return this.#refuse(`PROXY header: ${r.reason}`);
    this.#detach();
    registerConnection(this.#socket, this.#opts.trusted, r.ends);
    this.#done(this.#buf.subarray(r.length));
  };

  #detach(): void {
    clearTimeout(this.#timer);
    const s = this.#socket;
    s.off('data', this.socketOnData);
    s.off('end', this.socketOnEnd);
    s.off('error', this.socketOnError);
  }

  #refuse = (reason: string): void => {
    this.#detach();
    this.#socket.on('error', noop);
    this.#socket.destroy();
    this.#opts.onRefused(reason);
  };
}

function noop(): void {}
