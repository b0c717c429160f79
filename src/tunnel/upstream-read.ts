/** Reads of the plain-TCP server sockets the balancer opens: one shared 64 KiB read buffer (net.connect `onread`) for all of them, each read copied out at its own size and handed to the socket's current reader (the handshake, then the tunnel). */

import type net from 'node:net';

// Why: a socket read the ordinary way gets a fresh 64 KiB buffer from Node for every read
// (allocated, shrunk to the bytes read, wrapped in an ArrayBuffer that only the garbage collector
// frees) and goes through the stream's push and 'data' machinery. With `onread`, Node reads
// straight into one buffer and calls back; the bytes are then copied into a buffer of their own
// size (from Node's small-buffer pool below 4 KiB) before anything else sees them, because the
// shared buffer is overwritten by the next read of any socket while a write of those bytes to
// the other side may still be pending. pause() and resume() stop and restart the reads as usual;
// 'end', 'error' and 'close' are emitted as usual; 'data' is never emitted on these sockets.

/** Bytes one read may bring: Node's own read size. */
export const READ_BYTES = 64 * 1024;

/** Bytes held for a socket with no reader yet before its reads are paused (a stream's would stop at 16 KiB; one more read may land). */
const HOLD_LIMIT = 64 * 1024;

/** Who takes a socket's bytes: called once per read with a buffer that belongs to it. */
export interface UpstreamReader {
  upstreamOnData(chunk: Buffer): void;
}

interface ReadSocket extends net.Socket {
  wslbReader?: UpstreamReader | null;
  wslbHeld?: Buffer[] | null;
  wslbHeldBytes?: number;
}

const shared = Buffer.allocUnsafeSlow(READ_BYTES);

/**
 * Returns false (stop reading) when the socket is paused: Node's Socket.read() restarts the reads
 * of an onread socket even when paused, so a read that comes anyway is the last one until resume().
 */
function onRead(this: ReadSocket, n: number, buf: Buffer): boolean {
  const chunk = Buffer.allocUnsafe(n);
  buf.copy(chunk, 0, 0, n);
  const reader = this.wslbReader;
  if (reader) {
    reader.upstreamOnData(chunk);
    return this.readableFlowing !== false;
  }
  // No reader (between two owners): held in order, like a paused stream's buffer.
  (this.wslbHeld ??= []).push(chunk);
  if ((this.wslbHeldBytes = (this.wslbHeldBytes ?? 0) + n) >= HOLD_LIMIT) this.pause();
  return this.readableFlowing !== false;
}

/** The `onread` option for net.connect: every socket opened with it reads through the shared buffer. */
export const SHARED_READ = { buffer: shared, callback: onRead } as const;

/** Marks a socket opened with SHARED_READ (right after net.connect, before any read): its bytes are held until a reader is set. */
export function markSharedRead(socket: net.Socket): void {
  (socket as ReadSocket).wslbReader = null;
}

/** Whether `socket` reads through the shared buffer (its bytes go to its reader, never out as 'data'). */
export function readsShared(socket: net.Socket): boolean {
  return (socket as ReadSocket).wslbReader !== undefined;
}

/**
 * Makes `reader` the taker of the socket's bytes; bytes held while it had none go to it first, in
 * order. A reader may hand the socket on while taking them (setReader again): the rest go to the
 * new reader, or are held again when it is null. With null, later bytes are held (reading pauses
 * past 64 KiB; whoever sets the next reader resumes it).
 */
export function setReader(socket: net.Socket, reader: UpstreamReader | null): void {
  const s = socket as ReadSocket;
  s.wslbReader = reader;
  const held = s.wslbHeld;
  if (reader === null || !held) return;
  s.wslbHeld = null;
  s.wslbHeldBytes = 0;
  for (let i = 0; i < held.length; i++) {
    const r = s.wslbReader;
    if (r === null) {
      // Reads cannot land in between (this is one synchronous run): nothing else is held yet.
      s.wslbHeld = held.slice(i);
      for (const c of s.wslbHeld) s.wslbHeldBytes += c.length;
      return;
    }
    r.upstreamOnData(held[i]!);
  }
}
