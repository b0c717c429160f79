/**
 * Every property wslb keeps on a socket, added all at once, in one order, as soon as wslb has the
 * socket. Why: V8 gives an object a new hidden class for each property added to it, in the order
 * added. Added one by one as a connection went through the head reader, the attempt, admission,
 * the server connect and handshake and the tunnel (some only when bytes came early), sockets
 * reached a dozen classes; Node's own stream code, which every socket runs through, then looked
 * up their properties megamorphically. Shaped here, clients share one class and servers another
 * for their whole life; the values change, never the set.
 */

import type net from 'node:net';

/** The shared-read option (src/tunnel/upstream-read.ts), as net.connect takes it. */
type OnRead = net.OnReadOpts;

/**
 * net.connect's options for a server socket, carrying the four fields Node's Socket constructor
 * sets on its copy of them (allowHalfOpen, emitClose, autoDestroy, decodeStrings, with the values
 * it sets). Why: the constructor copies its options with an object spread and then adds those
 * fields; on Node 20's V8, adding a field to a spread copy makes a new hidden class every time,
 * and every later read of the copy misses its cache: about 13 us per socket measured here, against
 * 0.3 us when the copy already has the fields and each assignment only overwrites one.
 */
export function connectOptions(host: string, port: number, onread?: OnRead): net.NetConnectOpts {
  return onread === undefined
    ? { host, port, allowHalfOpen: false, emitClose: false, autoDestroy: true, decodeStrings: false } as net.NetConnectOpts
    : { host, port, onread, allowHalfOpen: false, emitClose: false, autoDestroy: true, decodeStrings: false } as net.NetConnectOpts;
}

/** What a client socket carries: the head reader, the upgrade attempt, the admission entry and the tunnel (see each module). */
interface ClientFields {
  wslbFront: unknown;
  wslbAcceptedAt: number;
  wslbUpgrade: unknown;
  wslbAdmitted: unknown;
  wslbTunnel: unknown;
}

/** What a server socket carries: the connect and handshake, the shared-read reader and held bytes, and the tunnel. */
interface UpstreamFields {
  wslbReader: unknown;
  wslbHeld: Buffer[] | null;
  wslbHeldBytes: number;
  wslbConnect: unknown;
  wslbHandshake: unknown;
  wslbTunnel: unknown;
}

/** Gives a client socket every wslb property (before any is set: values come from their modules). */
export function shapeClient(socket: net.Socket): void {
  const s = socket as net.Socket & ClientFields;
  s.wslbFront = undefined;
  s.wslbAcceptedAt = 0;
  s.wslbUpgrade = undefined;
  s.wslbAdmitted = undefined;
  s.wslbTunnel = undefined;
}

/** Gives a server socket every wslb property, right after net.connect (reads through the shared buffer are marked after this). */
export function shapeUpstream(socket: net.Socket): void {
  const s = socket as net.Socket & UpstreamFields;
  s.wslbReader = undefined;
  s.wslbHeld = null;
  s.wslbHeldBytes = 0;
  s.wslbConnect = undefined;
  s.wslbHandshake = undefined;
  s.wslbTunnel = undefined;
}
