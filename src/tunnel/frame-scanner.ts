/** Incremental RFC 6455 frame-header scanner for one direction of a tunnel (counts messages, enforces the message size limit, spots close frames, never copies or unmasks payload), plus the close frame the balancer writes itself. */

// Hand-written rather than ws's Receiver: the tunnel forwards bytes untouched, so all it
// needs is header arithmetic per chunk. A full parser buffers and unmasks payload, which is
// exactly the per-chunk cost that shows up 1:1 in CPU per message (measured against a bare Node pipe).

import { randomFillSync } from 'node:crypto';
import type { FrameBudget } from './rate-limit.js';

/** scan() result: nothing to report. */
export const SCAN_OK = 0;
/** scan() result bit: a message (or a single frame) is larger than maxMessageBytes; the scanner is now failed. */
export const SCAN_TOO_BIG = 1;
/** scan() result bit: the header of a close frame (opcode 8) was in this chunk. */
export const SCAN_CLOSE = 2;
/** scan() result bit: a data message or ping/pong the budget refused (rate limit); the scanner is now failed. */
export const SCAN_LIMIT = 4;

const OP_CLOSE = 0x8;
/** The results after which the scanner stops. */
const STOP = SCAN_TOO_BIG | SCAN_LIMIT;
const TWO_32 = 4294967296;

/** Size of a frame header (2..14 bytes) given its second byte. */
function headerSize(b1: number): number {
  const len = b1 & 0x7f;
  return 2 + (len === 126 ? 2 : len === 127 ? 8 : 0) + ((b1 & 0x80) !== 0 ? 4 : 0);
}

export class FrameScanner {
  readonly maxMessageBytes: number;
  /** Completed data messages (text/binary, fragmented ones once, on their FIN frame); control frames not counted. */
  messages = 0;
  /** Declared payload bytes of the data message in progress, summed over its fragments. */
  messageBytes = 0;
  /** A close frame has been seen in this direction. */
  closeSeen = false;
  /** Status code of the first close frame, once its 2 payload bytes have passed; 0 before that or when it carries none. */
  closeCode = 0;
  /** Set on SCAN_TOO_BIG or SCAN_LIMIT; the scanner then stops, every later call reports the same again. */
  failed = false;
  /** Asked per data message and per ping/pong when set (client -> server rate limit, src/tunnel/rate-limit.ts). */
  budget: FrameBudget | null = null;
  /**
   * After SCAN_TOO_BIG or SCAN_LIMIT: bytes of that chunk before the offending frame's header, i.e. how much
   * can still be forwarded with the receiver left at a frame boundary; -1 when the header began
   * in an earlier chunk (the receiver already has part of it).
   */
  errorOffset = -1;

  // At most one header (14 bytes) is ever held, and only when it is split across chunks.
  // Allocated on the first header split across reads: most tunnels (idle ones above all)
  // never need it, and two small Buffers per tunnel cost ~0.5 KiB of heap.
  #hdr: Buffer | null = null;
  #hdrLen = 0;
  #remaining = 0;        // payload bytes of the current frame still to come
  #dataFin = false;      // current frame is the last frame of a data message
  #codeLeft = 0;         // close-code bytes still to read from the payload (2, 1 or 0)
  #codeAcc = 0;
  #mask0 = 0;
  #mask1 = 0;
  #stop = SCAN_OK;

  constructor(maxMessageBytes: number) {
    this.maxMessageBytes = maxMessageBytes;
  }

  /** True when everything scanned so far ends exactly at a frame boundary. */
  get atBoundary(): boolean {
    return this.#remaining === 0 && this.#hdrLen === 0 && !this.failed;
  }

  /** Consumes a whole chunk; returns SCAN_OK or a combination of SCAN_CLOSE with SCAN_TOO_BIG or SCAN_LIMIT. */
  scan(buf: Buffer): number {
    if (this.failed) return this.#stop;
    const n = buf.length;
    let status = SCAN_OK;
    let i = 0;
    while (i < n) {
      if (this.#remaining > 0) {
        if (this.#codeLeft > 0) this.#readCode(buf, i);
        const avail = n - i;
        if (avail < this.#remaining) {
          this.#remaining -= avail;
          return status;
        }
        i += this.#remaining;
        this.#remaining = 0;
        this.#endFrame();
        continue;
      }
      let st: number;
      if (this.#hdrLen === 0 && n - i >= 2 && n - i >= headerSize(buf[i + 1])) {
        // Fast path: the whole header is in this chunk; parse it in place.
        const start = i;
        i += headerSize(buf[i + 1]);
        st = this.#header(buf, start);
        if ((st & STOP) !== 0) this.errorOffset = start;
      } else {
        // A header cut by the read: the budget is asked at its first byte, while the receiver
        // has none of it (its token is taken when the header completes, from the same allowance).
        if (this.#hdrLen === 0 && this.budget !== null && !this.budget.allows(buf[i]!)) {
          this.errorOffset = i;
          return status | this.#limit();
        }
        i = this.#gather(buf, i);
        if (!this.#headerComplete()) return status;
        st = this.#header(this.#hdr!, 0);
        // A gathered header always began in an earlier chunk.
        if ((st & STOP) !== 0) this.errorOffset = -1;
      }
      if ((st & STOP) !== 0) return status | st;
      status |= st;
    }
    return status;
  }

  /**
   * Consumes bytes up to the end of the current frame only.
   * Returns how many bytes of buf belong to it (0 when already at a boundary), -1 when the
   * whole chunk belongs to it and the frame goes on, -2 when the frame turns out too big.
   * Used by the tunnel to stop a direction exactly at a boundary (graceful close).
   */
  scanToBoundary(buf: Buffer): number {
    if (this.failed) return -2;
    if (this.atBoundary) return 0;
    let i = 0;
    if (this.#remaining === 0) {
      i = this.#gather(buf, 0);
      if (!this.#headerComplete()) return -1;
      if ((this.#header(this.#hdr!, 0) & STOP) !== 0) return -2;
      if (this.#remaining === 0) return i;
    }
    if (this.#codeLeft > 0) this.#readCode(buf, i);
    const avail = buf.length - i;
    if (avail < this.#remaining) {
      this.#remaining -= avail;
      return -1;
    }
    i += this.#remaining;
    this.#remaining = 0;
    this.#endFrame();
    return i;
  }

  /** Copies header bytes into the small buffer until the header is complete or buf ends. */
  #gather(buf: Buffer, i: number): number {
    const h = (this.#hdr ??= Buffer.alloc(14));
    const n = buf.length;
    while (i < n) {
      h[this.#hdrLen++] = buf[i++];
      if (this.#headerComplete()) break;
    }
    return i;
  }

  #headerComplete(): boolean {
    return this.#hdrLen >= 2 && this.#hdrLen === headerSize(this.#hdr![1]!);
  }

  /** Parses one complete header at src[o]; returns SCAN_OK, SCAN_CLOSE or SCAN_TOO_BIG. */
  #header(src: Buffer, o: number): number {
    this.#hdrLen = 0;
    const b0 = src[o];
    const b1 = src[o + 1];
    let len = b1 & 0x7f;
    let p = o + 2;
    if (len === 126) {
      len = src.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      // Lengths past 2^53 lose precision but are far above any limit, so still fail.
      len = src.readUInt32BE(p) * TWO_32 + src.readUInt32BE(p + 4);
      p += 8;
    }
    const op = b0 & 0x0f;
    let st = SCAN_OK;
    if (op >= 8) {
      // Control frames (RFC caps them at 125 bytes) are checked per frame so a bogus huge
      // "ping" cannot slip past the limit.
      if (len > this.maxMessageBytes) return this.#fail();
      if (op !== OP_CLOSE && this.budget !== null && !this.budget.control()) return this.#limit();
      this.#dataFin = false;
      if (op === OP_CLOSE) {
        st = SCAN_CLOSE;
        if (!this.closeSeen) {
          this.closeSeen = true;
          if (len >= 2) {
            this.#codeLeft = 2;
            this.#codeAcc = 0;
            const masked = (b1 & 0x80) !== 0;
            this.#mask0 = masked ? src[p] : 0;
            this.#mask1 = masked ? src[p + 1] : 0;
          }
        }
      }
    } else {
      if (op !== 0) {
        // text/binary (or reserved data opcode) starts a message: counted once, however many fragments
        this.messageBytes = 0;
        if (this.budget !== null && !this.budget.message()) return this.#limit();
      }
      this.messageBytes += len;
      if (this.messageBytes > this.maxMessageBytes) return this.#fail();
      this.#dataFin = (b0 & 0x80) !== 0;
    }
    this.#remaining = len;
    if (len === 0) this.#endFrame();
    return st;
  }

  #fail(): number {
    this.failed = true;
    return (this.#stop = SCAN_TOO_BIG);
  }

  #limit(): number {
    this.failed = true;
    return (this.#stop = SCAN_LIMIT);
  }

  #endFrame(): void {
    if (this.#dataFin) {
      this.messages++;
      this.messageBytes = 0;
      this.#dataFin = false;
    }
  }

  /** Reads (and unmasks) the close status code bytes available at buf[i..]. */
  #readCode(buf: Buffer, i: number): void {
    const end = Math.min(buf.length, i + this.#remaining);
    while (this.#codeLeft > 0 && i < end) {
      if (this.#codeLeft === 2) this.#codeAcc = (buf[i] ^ this.#mask0) << 8;
      else this.closeCode = this.#codeAcc | (buf[i] ^ this.#mask1);
      this.#codeLeft--;
      i++;
    }
  }
}

const MAX_REASON = 123;

/**
 * The one frame the balancer writes itself: a close frame with `code` and `reason` (cut to
 * 123 bytes at a character start, so it stays valid UTF-8). Client-to-server frames must be
 * masked (RFC 6455 5.3): `masked` for frames sent to the server.
 */
export function closeFrame(code: number, reason: string, masked: boolean): Buffer {
  let r = Buffer.from(reason, 'utf8');
  if (r.length > MAX_REASON) {
    let end = MAX_REASON;
    while (end > 0 && (r[end] & 0xc0) === 0x80) end--;
    r = r.subarray(0, end);
  }
  const len = 2 + r.length;
  const head = masked ? 6 : 2;
  const f = Buffer.allocUnsafe(head + len);
  f[0] = 0x88;
  f[1] = (masked ? 0x80 : 0) | len;
  f.writeUInt16BE(code, head);
  r.copy(f, head + 2);
  if (masked) {
    randomFillSync(f, 2, 4);
    for (let i = 0; i < len; i++) f[head + i] ^= f[2 + (i & 3)];
  }
  return f;
}
