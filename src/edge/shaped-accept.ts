/**
 * Accepted sockets built with options that already hold every field Node's Socket constructor
 * adds to its copy of them. Why: the constructor copies its options with an object spread and
 * then adds emitClose, autoDestroy and decodeStrings; on Node 20's V8 (11.3), adding a field to a
 * spread copy makes a new hidden class every time, so every later read of the copy misses its
 * inline cache and goes to the runtime (about 40 misses per socket). Measured on this machine:
 * 10-13 us per socket built that way, 0.3 us when the fields are there already, out of a whole
 * proxied connection's ~250 us. Node builds accepted sockets in the listening handle's
 * `onconnection`; this replaces that function with one that does the same with shaped options.
 *
 * Only on Node 20 (where the cost was measured and this copy of `onconnection` was checked against
 * Node's own, lib/net.js): any other version keeps Node's function. Connections past
 * `maxConnections` and accept errors still go to Node's own, unchanged.
 */

import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';

/** The net.Server fields Node's onconnection reads (plain properties, set by its constructor). */
interface AcceptingServer extends net.Server {
  _handle: { onconnection: OnConnection; wslbShaped?: true } | null;
  _connections: number;
  allowHalfOpen: boolean;
  pauseOnConnect: boolean;
  noDelay: boolean;
  keepAlive: boolean;
  keepAliveInitialDelay: number;
  highWaterMark: number;
}

type OnConnection = (this: unknown, err: number, clientHandle: unknown) => void;

const socketChannel = diagnostics.channel('net.server.socket');

/** Whether this Node's accept path is the one shapedAccept copies. */
export const SHAPED_ACCEPT = Number(process.versions.node.split('.')[0]) === 20;

/** Builds `server`'s accepted sockets with shaped options from its next 'listening' on (every listen: a re-listen gets a new handle). */
export function shapeAccepts(server: net.Server): void {
  if (!SHAPED_ACCEPT) return;
  const s = server as AcceptingServer;
  server.on('listening', () => {
    const handle = s._handle;
    if (handle === null || handle.wslbShaped || typeof handle.onconnection !== 'function' || handle.onconnection.name !== 'onconnection') return;
    const nodeOnConnection = handle.onconnection;
    handle.wslbShaped = true;
    handle.onconnection = function onconnection(this: unknown, err: number, clientHandle: unknown): void {
      if (err || (s.maxConnections && s._connections >= s.maxConnections)) return nodeOnConnection.call(this, err, clientHandle);
      const socket = new net.Socket({
        handle: clientHandle,
        allowHalfOpen: s.allowHalfOpen,
        pauseOnCreate: s.pauseOnConnect,
        readable: true,
        writable: true,
        readableHighWaterMark: s.highWaterMark,
        writableHighWaterMark: s.highWaterMark,
        // The values Node's constructor sets anyway: present, its assignments only overwrite.
        emitClose: false,
        autoDestroy: true,
        decodeStrings: false,
      } as net.SocketConstructorOpts);
      if (s.noDelay) socket.setNoDelay(true);
      if (s.keepAlive) socket.setKeepAlive(true, s.keepAliveInitialDelay);
      s._connections++;
      const owned = socket as net.Socket & { server: net.Server; _server: net.Server };
      owned.server = server;
      owned._server = server;
      server.emit('connection', socket);
      if (socketChannel.hasSubscribers) socketChannel.publish({ socket });
    };
  });
}
