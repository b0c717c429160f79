/** Read turns: a tunnel direction that reads more than TURN_BYTES in one event-loop turn is paused and queued, and queued directions are resumed a few per turn, so heavy tunnels take turns instead of filling whole loop turns. */

import type net from 'node:net';

// Why: libuv reads a readable socket up to 32 times per poll (64 KiB each), and one poll
// serves every ready socket, so a few tunnels whose servers push flat out can make one loop
// turn read and forward tens of MiB while every other tunnel's bytes wait (100 such tunnels
// lagged the loop by 0.1-0.16 s, and a probe's echo by up to 0.9 s). With the bounds below, a
// turn forwards about TURN_BUDGET for the heavy directions, plus one read for each direction
// that turns heavy in it (a read cannot be cut short) and TURN_QUOTA x (TURN_BYTES + a read) for
// those resumed at its end. The cost is one pause/resume per yield.
//
// Measured with 100 servers pushing 64 KiB messages to stalled readers and one healthy client at
// 50 round trips/s (2 cores): with a budget of 1 MiB counted per crossing, 8 resumed per turn
// and drained directions resuming at once, turns during the fill lasted 5-18 ms and the healthy
// client's p99 rose 12.5 ms; with these values and drains queued, the first turn 6-10 ms, the
// next ones under 5 ms, and the p99 rose 5.6 ms (HAProxy, in the same run: 4.8 ms). With
// TURN_BYTES and the servers' shared read buffer at 16 KiB (was 64), the first turn read 1.3 MiB
// in 6 ms (was 6.4 MiB), and the later ones each forward the 4 resumed directions' 256 KiB in
// ~0.4 ms; what the healthy client still waits for is then mostly CPU: the proxy and the servers
// both busy on 2 cores while the stalled readers' kernel buffers fill.
//
// "One turn" is told apart cheaply: a direction counts its bytes; only when the count passes
// TURN_BYTES does it look at the turn number (bumped by a setImmediate that the first such
// crossing schedules). A direction that passes TURN_BYTES twice in the same turn yields. A
// steady stream that needs many turns to reach TURN_BYTES never yields, and traffic that
// never crosses schedules nothing: the per-chunk cost is one add and one compare.

/** Bytes a direction may forward in one loop turn before it yields to the others. */
export const TURN_BYTES = 16 * 1024;
/** Yielded directions resumed per loop turn (oldest first). */
export const TURN_QUOTA = 4;
/**
 * Bytes that heavy directions together may forward in one loop turn, as counted at their
 * crossings of TURN_BYTES: past it a direction yields at its first crossing too, and a direction
 * whose destination drains waits for its turn instead of reading again at once. Without it, 100
 * directions turning heavy together (servers that all start pushing) forward 2 x TURN_BYTES and
 * two reads each in that turn before any yields: measured, that turn held the loop 24 ms.
 */
export const TURN_BUDGET = 256 * 1024;

/** One direction of a tunnel, as the turn queue sees it. */
export interface Reader {
  readonly src: net.Socket;
  /** Paused for backpressure: 'drain' resumes it, a turn does not. */
  paused: boolean;
  /** Paused here, waiting in the queue for its turn. */
  yielded: boolean;
  /** Paused until its byte budget refills (src/tunnel/rate-limit.ts): a turn does not resume it. */
  readonly throttled: boolean;
  /** Bytes forwarded since the count last started. */
  taken: number;
  /** The turn in which the count last passed TURN_BYTES (or the direction was resumed). */
  turn: number;
}

let turn = 1;
/** Bytes counted by crossings in this turn (reset when the turn ends). */
let spent = 0;
let scheduled = false;
let queue: Reader[] = [];
let head = 0;

/** Counters for tests: directions yielded, and directions resumed at their turn. */
export const turnStats = { yields: 0, resumes: 0 };

/** Called when r.taken reaches TURN_BYTES: counts those bytes against the turn's budget, then starts a new count, or makes r yield if it already passed TURN_BYTES in this turn or the budget is spent. */
export function overTurn(r: Reader): void {
  spent += r.taken;
  r.taken = 0;
  if (!scheduled) {
    scheduled = true;
    setImmediate(endTurn);
  }
  if (r.turn !== turn && spent <= TURN_BUDGET) {
    r.turn = turn;
    return;
  }
  if (r.yielded) return;
  r.yielded = true;
  turnStats.yields++;
  r.src.pause();
  queue.push(r);
}

/**
 * Called instead of resuming r's source when its destination drained: while this turn's budget is
 * spent, r waits in the queue like a yielded direction (its source stays paused). Without it,
 * every direction whose client drained in a turn would read again in that same turn. Returns
 * true when r now waits.
 */
export function waitIfSpent(r: Reader): boolean {
  if (spent <= TURN_BUDGET || r.yielded) return false;
  r.yielded = true;
  turnStats.yields++;
  queue.push(r);
  return true;
}

/** Directions waiting for their turn. */
export function waiting(): number {
  return queue.length - head;
}

/** Check phase, after the poll that read the data: next turn number, and the oldest waiting directions resume. */
function endTurn(): void {
  scheduled = false;
  turn++;
  spent = 0;
  const end = Math.min(queue.length, head + TURN_QUOTA);
  while (head < end) {
    const r = queue[head]!;
    queue[head++] = undefined as unknown as Reader;   // not kept alive by the queue
    r.yielded = false;
    r.turn = turn;
    r.taken = 0;
    turnStats.resumes++;
    if (!r.paused && !r.throttled && !r.src.destroyed) r.src.resume();
  }
  if (head === queue.length) {
    if (queue.length > 1024) queue = [];
    else queue.length = 0;
    head = 0;
  } else {
    if (head > 1024) {
      queue = queue.slice(head);
      head = 0;
    }
    scheduled = true;
    setImmediate(endTurn);
  }
}
