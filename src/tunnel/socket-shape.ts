/**
 * Sockets whose hidden classes stay put. V8 gives an object a new hidden class for each property
 * added to it, in the order added, and code that meets many classes at one property read
 * (megamorphic) looks them up the slow way. Two places made many:
 *
 * - Node's Socket constructor copies its options with an object spread and then adds
 *   allowHalfOpen, emitClose, autoDestroy and decodeStrings to the copy. On Node 20's V8 (11.3),
 *   a field added to a spread copy makes a new hidden class every time, so every later read of
 *   the copy (some 40 in the stream constructors) misses its cache: 10-14 us per socket, against
 *   0.5 us when the options already hold those fields and each assignment only overwrites one
 *   (`node dist/bench/compare/socket-options.js`). Server sockets are opened with
 *   connectOptions() below; accepted ones are built the same way (src/edge/shaped-accept.ts).
 * - wslb's own per-socket fields, added one by one as a connection went through the head reader,
 *   the attempt, admission, the connect, the handshake and the tunnel (some only when bytes came
 *   early), led sockets through a dozen classes. shapeClient() and shapeUpstream() add them all
 *   at once, in one order: values change afterwards, the set never does.
 */

import type net from 'node:net';

/** The values Node's Socket constructor gives the fields it adds to its copy of the options. */
export const SOCKET_DEFAULTS = { allowHalfOpen: false, emitClose: false, autoDestroy: true, decodeStrings: false } as const;

/** net.connect's options for a server socket (`onread`: the shared read buffer, src/tunnel/upstream-read.ts). */
export function connectOptions(host: string, port: number, onread?: net.OnReadOpts): net.NetConnectOpts {
  const d = SOCKET_DEFAULTS;
  return (onread === undefined
    ? { host, port, allowHalfOpen: d.allowHalfOpen, emitClose: d.emitClose, autoDestroy: d.autoDestroy, decodeStrings: d.decodeStrings }
    : { host, port, onread, allowHalfOpen: d.allowHalfOpen, emitClose: d.emitClose, autoDestroy: d.autoDestroy, decodeStrings: d.decodeStrings }) as unknown as net.NetConnectOpts;
}

/** What a client socket carries: the head reader, the upgrade attempt, the admission entry and the tunnel (see each module). */
interface ClientFields {
  wslbFront: unknown;
  wslbAcceptedAt: number;
  wslbUpgrade: unknown;
  wslbAdmitted: unknown;
  wslbTunnel: unknown;
}

/** What a server socket carries: the shared-read reader and held bytes, the connect and handshake, and the tunnel. */
interface UpstreamFields {
  wslbReader: unknown;
  wslbHeld: Buffer[] | null;
  wslbHeldBytes: number;
  wslbConnect: unknown;
  wslbHandshake: unknown;
  wslbTunnel: unknown;
}

/** Gives a client socket every wslb field (before any is set: values come from their modules). */
export function shapeClient(socket: net.Socket): void {
  const s = socket as net.Socket & ClientFields;
  s.wslbFront = undefined;
  s.wslbAcceptedAt = 0;
  s.wslbUpgrade = undefined;
  s.wslbAdmitted = undefined;
  s.wslbTunnel = undefined;
}

/** Gives a server socket every wslb field, right after net.connect (a shared-read socket is marked after this). */
export function shapeUpstream(socket: net.Socket): void {
  const s = socket as net.Socket & UpstreamFields;
  s.wslbReader = undefined;
  s.wslbHeld = null;
  s.wslbHeldBytes = 0;
  s.wslbConnect = undefined;
  s.wslbHandshake = undefined;
  s.wslbTunnel = undefined;
}
