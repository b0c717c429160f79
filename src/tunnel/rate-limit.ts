/** Client -> server rate limits of one tunnel: token buckets for data messages and for pings/pongs (the frame scanner asks them per frame), a byte bucket that pauses reading, and the one shared wheel that resumes paused readers. */

import type net from 'node:net';

// Both limits are token buckets refilled once per chunk read from the client, from one clock
// read (the tokens a chunk's frames take are taken at its arrival, which is when they came). The
// frame scanner then only compares and decrements per data message or ping. A tunnel without
// limits has no TunnelLimits at all: its per-chunk cost is one null check.

/**
 * Pings and pongs draw from their own bucket, never from the data messages' one (they are not
 * messages), so a ping flood is bounded and closed like a message flood. Its size and rate are
 * the route's messages_per_second, but at least this many: a server pinging a slow-rate client
 * every 100 ms must not get that client closed for answering.
 */
export const MIN_CONTROL_RATE = 10;

/** Milliseconds, monotonic: performance.now(), or a scripted clock in tests. */
export type Clock = () => number;

const monotonic: Clock = () => performance.now();

/** One token bucket holding `burst` tokens, `perMs` added per ms; full at the start. */
class Bucket {
  tokens: number;
  readonly perMs: number;
  readonly burst: number;

  constructor(perSecond: number) {
    this.perMs = perSecond / 1000;
    this.burst = perSecond;
    this.tokens = perSecond;
  }

  refill(ms: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ms * this.perMs);
  }

  take(): boolean {
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** What the frame scanner asks before letting a frame through (src/tunnel/frame-scanner.ts). */
export interface FrameBudget {
  /** A data message begins (text or binary frame; continuations are the same message): true when its token was taken. */
  message(): boolean;
  /** A control frame other than close (ping, pong, or a reserved opcode): true when its token was taken. */
  control(): boolean;
  /** A header beginning with byte `b0` was cut by a read: true when its frame would be let through (nothing taken yet). */
  allows(b0: number): boolean;
}

/** One tunnel direction as the byte budget pauses and resumes it. */
export interface Throttled {
  readonly src: net.Socket;
  /** Paused for backpressure (its 'drain' resumes it). */
  readonly paused: boolean;
  /** Paused for its read turn (src/tunnel/turns.ts resumes it). */
  readonly yielded: boolean;
  /** Paused here until the byte budget refills: only the wheel below (or lift()) resumes it. */
  throttled: boolean;
}

export interface RateLimits {
  /** limits.messages_per_second: data messages, a bucket of that many; 0 = none. */
  readonly messagesPerSecond: number;
  /** limits.bytes_per_second: a bucket of one second's worth; 0 = none. */
  readonly bytesPerSecond: number;
}

/**
 * The client -> server limits of one tunnel. Bytes: a read that takes the bucket below zero is
 * still forwarded (it has been read); reading then pauses until the deficit has refilled, so the
 * average stays at the rate and the overshoot is at most one read (64 KiB, 16 KiB over TLS).
 */
export class TunnelLimits implements FrameBudget {
  /** performance.now() at which a throttled reader resumes. */
  resumeAt = 0;
  readonly dir: Throttled;
  readonly #messages: Bucket | null;
  readonly #controls: Bucket | null;
  readonly #bytes: Bucket | null;
  readonly #clock: Clock;
  #last: number;

  constructor(limits: RateLimits, dir: Throttled, clock: Clock = monotonic) {
    const m = limits.messagesPerSecond;
    this.#messages = m > 0 ? new Bucket(m) : null;
    this.#controls = m > 0 ? new Bucket(Math.max(m, MIN_CONTROL_RATE)) : null;
    this.#bytes = limits.bytesPerSecond > 0 ? new Bucket(limits.bytesPerSecond) : null;
    this.dir = dir;
    this.#clock = clock;
    this.#last = clock();
  }

  /** The scanner's budget: this, when there is a message limit. */
  get frameBudget(): FrameBudget | null {
    return this.#messages === null ? null : this;
  }

  /** A chunk of `n` bytes was read from the client: refill, charge it, and pause reading while in deficit (`throttle` false: never, the direction is closing). */
  read(n: number, throttle: boolean): void {
    const now = this.#clock();
    const ms = now - this.#last;
    this.#last = now;
    if (this.#messages !== null) {
      this.#messages.refill(ms);
      this.#controls!.refill(ms);
    }
    const b = this.#bytes;
    if (b === null) return;
    b.refill(ms);
    b.tokens -= n;
    const d = this.dir;
    if (b.tokens >= 0 || d.throttled) return;
    if (!throttle) return;
    d.throttled = true;
    d.src.pause();
    this.resumeAt = now - b.tokens / b.perMs;
    wheelAdd(this);
  }

  message(): boolean {
    return this.#messages!.take();
  }

  control(): boolean {
    return this.#controls!.take();
  }

  allows(b0: number): boolean {
    const op = b0 & 0x0f;
    if (op >= 8) return op === 0x8 || this.#controls!.tokens >= 1;   // as control() is asked: every control frame but close
    return op === 0 || this.#messages!.tokens >= 1;
  }
}

/** Ends a throttle early (the tunnel is closing: the client's close frame and FIN must be read); its wheel entry is dropped at its slot. */
export function lift(d: Throttled): void {
  if (!d.throttled) return;
  d.throttled = false;
  if (!d.paused && !d.yielded && !d.src.destroyed) d.src.resume();
}

// ---- the wheel: one interval for every throttled reader, armed only while there is one ----

/** Slot width: a throttled reader resumes at most this late (plus timer jitter). */
const SLOT_MS = 10;
/** Slots in one lap (2.56 s); a later resume waits in its slot for the lap that reaches it. */
const SLOTS = 256;

const slots: (TunnelLimits[] | undefined)[] = new Array(SLOTS);
let pending = 0;
let timer: NodeJS.Timeout | null = null;
let doneTick = 0;

/** For tests and /status: readers paused by a byte budget since start, and paused now. */
export const throttleStats = { throttles: 0, get waiting(): number { return pending; } };

function wheelAdd(b: TunnelLimits): void {
  if (timer === null) {
    doneTick = Math.floor(performance.now() / SLOT_MS);
    timer = setInterval(wheelTurn, SLOT_MS);
    timer.unref();   // a paused socket keeps the process alive, the wheel alone does not
  }
  let tick = Math.ceil(b.resumeAt / SLOT_MS);
  if (tick <= doneTick) tick = doneTick + 1;
  (slots[tick % SLOTS] ??= []).push(b);
  pending++;
  throttleStats.throttles++;
}

/** Resumes every reader whose time has come, in the slots from the last turn to now (a late timer catches up). */
function wheelTurn(): void {
  const now = performance.now();
  const upTo = Math.floor(now / SLOT_MS);
  for (let t = Math.max(doneTick + 1, upTo - SLOTS + 1); t <= upTo; t++) {
    const slot = slots[t % SLOTS];
    if (slot === undefined || slot.length === 0) continue;
    let kept = 0;
    for (let i = 0; i < slot.length; i++) {
      const b = slot[i]!;
      const d = b.dir;
      if (d.throttled && b.resumeAt > now && !d.src.destroyed) { slot[kept++] = b; continue; }   // a later lap
      pending--;
      lift(d);
    }
    slot.length = kept;
  }
  doneTick = upTo;
  if (pending === 0 && timer !== null) {
    clearInterval(timer);
    timer = null;
  }
}
