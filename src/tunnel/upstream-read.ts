/** Reads of the plain-TCP server sockets the balancer opens: one shared 16 KiB read buffer (net.connect `onread`) for all of them, each read copied out at its own size and handed to the socket's current reader (the handshake, then the tunnel); a socket that reads in bulk reads into buffers of its own, handed over without a copy. */

import type net from 'node:net';

// Why: a socket read the ordinary way gets a fresh 64 KiB buffer from Node for every read
// (allocated, shrunk to the bytes read, wrapped in an ArrayBuffer that only the garbage collector
// frees) and goes through the stream's push and 'data' machinery. With `onread`, Node reads
// straight into one buffer and calls back; the bytes are then copied into a buffer of their own
// size (from Node's small-buffer pool below 4 KiB) before anything else sees them, because the
// shared buffer is overwritten by the next read of any socket while a write of those bytes to
// the other side may still be pending. pause() and resume() stop and restart the reads as usual;
// 'end', 'error' and 'close' are emitted as usual; 'data' is never emitted on these sockets.
//
// Bulk: the copy is cheap for messages, not for a server pushing flat out (a copy of every 64 KiB
// read measured a quarter of the balancer's CPU with 100 such servers, as much as the write
// system calls). A read that fills the shared buffer means the kernel held more than the socket's
// usual traffic: the socket's next read goes to a 64 KiB buffer of its own, and while its reads
// stay at BULK_BYTES or more each one is handed over as it is (no copy; the next read gets a new
// buffer: Node's own read path allocates one per read too). Its first smaller read is copied out
// like any other and the socket goes back to the shared buffer, so an idle socket holds none.
//
// Why the shared buffer is 16 KiB, not Node's 64: when many servers start pushing at once (100
// in the flood bench), one poll reads every one of them before any read turn can pause it, and a
// read cannot be cut short. With 64 KiB that first loop turn read 6.4 MiB and held the loop
// 6-10 ms; with 16 KiB it reads a quarter of that, and TURN_BYTES (turns.ts) is 16 KiB so the
// turn budget is counted from the first read on. The cost: a message of 16-64 KiB arriving at
// once takes two reads instead of one (echo of 32 KiB messages measured 1.03x the CPU per
// message, within run-to-run noise).
// Which buffer a socket reads into next is told to Node by the `buffer` function, which Node
// calls right after each read callback (and once when the socket's handle is set up).
// A new 64 KiB buffer per bulk read costs the garbage collector more than the copy it saves (V8
// runs collections for "external memory pressure" every few tens of MiB of them), so a taker
// that knows when its last write of a handed-over read completed gives the buffer back
// (recycle()) and later bulk reads take it again: a steady bulk stream then allocates nothing.

/** Bytes one read may bring: Node's own read size. */
export const READ_BYTES = 64 * 1024;

/** Size of the shared read buffer: a read that fills it is the start of bulk (see above). */
export const SHARED_BYTES = 16 * 1024;

/** A read into a socket's own buffer at least this big keeps it in bulk, and is handed over whole. */
export const BULK_BYTES = 32 * 1024;

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

/** Own buffers given back by their takers, for the next bulk reads (at most SPARE_MAX: 4 MiB). */
const SPARE_MAX = 64;
const spare: Buffer[] = [];
/** The backing stores of reads handed over whole: only these can be given back. */
const handedOver = new WeakSet<ArrayBufferLike>();

const shared = Buffer.allocUnsafeSlow(SHARED_BYTES);
/** What the next call of nextBuffer() returns: set by onRead for the socket it just read, then back to the shared buffer. */
let next: Buffer = shared;

function nextBuffer(): Buffer {
  const b = next;
  next = shared;
  return b;
}

/**
 * Returns false (stop reading) when the socket is paused: Node's Socket.read() restarts the reads
 * of an onread socket even when paused, so a read that comes anyway is the last one until resume().
 */
function onRead(this: ReadSocket, n: number, buf: Buffer): boolean {
  let chunk: Buffer;
  let own: Buffer | null = null;
  if (buf === shared ? n === SHARED_BYTES : n >= BULK_BYTES) {
    if (buf === shared) {
      chunk = Buffer.allocUnsafe(n);
      buf.copy(chunk, 0, 0, n);
    } else {
      chunk = n === buf.length ? buf : buf.subarray(0, n);   // the socket's own buffer: handed over
      handedOver.add(buf.buffer);
      bulkStats.handedOver++;
    }
    own = spare.pop() ?? Buffer.allocUnsafeSlow(READ_BYTES);
  } else {
    chunk = Buffer.allocUnsafe(n);
    buf.copy(chunk, 0, 0, n);
    // Back from bulk: its own buffer was not handed over this time, and its next read goes to the shared one.
    if (buf !== shared) {
      bulkStats.leftBulk++;
      if (spare.length < SPARE_MAX) spare.push(buf);
    }
  }
  const reader = this.wslbReader;
  if (reader) reader.upstreamOnData(chunk);
  else {
    // No reader (between two owners): held in order, like a paused stream's buffer.
    (this.wslbHeld ??= []).push(chunk);
    if ((this.wslbHeldBytes = (this.wslbHeldBytes ?? 0) + n) >= HOLD_LIMIT) this.pause();
  }
  // Set last: whatever the reader did, the buffer Node asks for next is this socket's.
  if (own !== null) next = own;
  return this.readableFlowing !== false;
}

/** The `onread` option for net.connect: every socket opened with it reads through the shared buffer. */
export const SHARED_READ = { buffer: nextBuffer, callback: onRead } as const;

/** Marks a socket opened with SHARED_READ (right after net.connect, before any read): its bytes are held until a reader is set. */
export function markSharedRead(socket: net.Socket): void {
  (socket as ReadSocket).wslbReader = null;
}

/** Whether `socket` reads through the shared buffer (its bytes go to its reader, never out as 'data'). */
export function readsShared(socket: net.Socket): boolean {
  return (socket as ReadSocket).wslbReader !== undefined;
}

/** Whether `chunk` is a read handed over whole in a buffer of its own, which its taker may give back with recycle(). */
export function recyclable(chunk: Buffer): boolean {
  return chunk.byteOffset === 0 && handedOver.has(chunk.buffer);
}

/**
 * Gives back a chunk that recyclable() named, once nothing holds it any more (the write of it
 * completed, or it was dropped): a later bulk read of any socket overwrites it. A second call
 * for the same buffer does nothing.
 */
export function recycle(chunk: Buffer): void {
  if (!handedOver.delete(chunk.buffer)) return;
  bulkStats.recycled++;
  if (spare.length < SPARE_MAX) spare.push(Buffer.from(chunk.buffer, 0, READ_BYTES));
}

/** Counters for tests: reads handed over in their own buffer, buffers given back for reuse, and sockets back on the shared buffer after bulk. */
export const bulkStats = { handedOver: 0, recycled: 0, leftBulk: 0 };

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
