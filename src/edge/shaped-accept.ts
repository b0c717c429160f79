/**
 * Accepted sockets built with options that already hold every field Node's Socket constructor
 * adds to its copy of them (src/tunnel/socket-shape.ts says why: on Node 20 that copy costs
 * about 10-14 us per socket otherwise). Node builds accepted sockets in the listening handle's
 * `onconnection`, with a literal of its own; this replaces that function with a copy that differs
 * in the options literal, and sets no-delay and keep-alive through the sockets' public setters
 * (which do what Node's function does on the handle and record it on the socket).
 *
 * The copy is installed only where the handle's `onconnection` is the one it was copied from (Node
 * 20's lib/net.js, recognised by a fingerprint of its source): another Node, or a function someone
 * else put there, keeps what it has. Accept errors and connections past `maxConnections` go to
 * Node's own function.
 */

import crypto from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';
import { SOCKET_DEFAULTS } from '../tunnel/socket-shape.js';

/** The net.Server fields Node's onconnection reads (plain properties its constructor sets). */
interface AcceptingServer extends net.Server {
  _handle: ListenHandle | null;
  _connections: number;
  allowHalfOpen: boolean;
  pauseOnConnect: boolean;
  noDelay: boolean;
  keepAlive: boolean;
  keepAliveInitialDelay: number;
  highWaterMark: number;
}

type OnConnection = (this: unknown, err: number, clientHandle: unknown) => void;

interface ListenHandle {
  onconnection: OnConnection;
  wslbShaped?: true;
}

/** sha256 (first 16 hex digits) of Node 20's `onconnection` source with all whitespace removed. */
export const NODE_ONCONNECTION = '48a55e0c52f60279';

const socketChannel = diagnostics.channel('net.server.socket');

/** The fingerprint of a function's source (whitespace removed). */
export function fingerprint(fn: (...args: never[]) => unknown): string {
  return crypto.createHash('sha256').update(fn.toString().replace(/\s+/g, '')).digest('hex').slice(0, 16);
}

/** Whether `handle`'s onconnection is Node's own, the one the copy below was made from. */
function copiable(handle: ListenHandle): boolean {
  return typeof handle.onconnection === 'function' && fingerprint(handle.onconnection) === NODE_ONCONNECTION;
}

/** The accepted socket's options: Node's literal plus the fields its constructor adds. */
function acceptOptions(s: AcceptingServer, clientHandle: unknown): net.SocketConstructorOpts {
  return {
    handle: clientHandle,
    allowHalfOpen: s.allowHalfOpen,
    pauseOnCreate: s.pauseOnConnect,
    readable: true,
    writable: true,
    readableHighWaterMark: s.highWaterMark,
    writableHighWaterMark: s.highWaterMark,
    emitClose: SOCKET_DEFAULTS.emitClose,
    autoDestroy: SOCKET_DEFAULTS.autoDestroy,
    decodeStrings: SOCKET_DEFAULTS.decodeStrings,
  } as net.SocketConstructorOpts;
}

/**
 * Builds `server`'s accepted sockets with shaped options from each 'listening' on (a re-listen
 * gets a new handle). The returned function tells whether the current handle has the copy.
 */
export function shapeAccepts(server: net.Server): () => boolean {
  const s = server as AcceptingServer;
  server.on('listening', () => {
    const handle = s._handle;
    if (handle === null || handle.wslbShaped || !copiable(handle)) return;
    const nodeOnConnection = handle.onconnection;
    handle.wslbShaped = true;
    handle.onconnection = function onconnection(this: unknown, err: number, clientHandle: unknown): void {
      if (err || (s.maxConnections && s._connections >= s.maxConnections)) return nodeOnConnection.call(this, err, clientHandle);
      const socket = new net.Socket(acceptOptions(s, clientHandle));
      // Node sets these on the handle and records them on the socket; the public setters do both.
      if (s.noDelay) socket.setNoDelay(true);
      // The server keeps its keep-alive delay in seconds; setKeepAlive takes milliseconds.
      if (s.keepAlive) socket.setKeepAlive(true, s.keepAliveInitialDelay * 1000);
      s._connections++;
      const owned = socket as net.Socket & { server: net.Server; _server: net.Server };
      owned.server = server;
      owned._server = server;
      server.emit('connection', socket);
      if (socketChannel.hasSubscribers) socketChannel.publish({ socket });
    };
  });
  return () => s._handle?.wslbShaped === true;
}
