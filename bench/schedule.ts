/** Open-loop scheduling and coordinated-omission-free timing: when each message is due, and what its latency is measured from. */

// Coordinated omission (Gil Tene): a closed-loop generator that stalls, or waits for a slow
// reply, stops sending exactly when the system is slow, so the slow period is sampled once
// instead of once per message that should have been sent. The open loop fixes the send times
// in advance (message n at start + offset + n / rate) and measures latency from that intended
// time, so a stall of the target or of the generator itself shows up in every message it delayed.

/** The send times of one generator process's share of an aggregate rate. */
export class OpenLoopSchedule {
  readonly intervalMs: number;

  /**
   * `rate`: this process's messages per second; `offsetMs`: its phase, so P processes sending
   * R/P each interleave into one even stream of R (process w starts at w / R).
   */
  constructor(readonly rate: number, readonly startMs: number, readonly offsetMs = 0) {
    if (!(rate > 0)) throw new Error(`rate must be positive, got ${rate}`);
    this.intervalMs = 1000 / rate;
  }

  /** Intended send time of message n (0-based). */
  intendedAt(n: number): number {
    return this.startMs + this.offsetMs + n * this.intervalMs;
  }

  /** How many messages (n = 0, 1, ...) are due at `now`, i.e. intendedAt(n) <= now. */
  dueBy(now: number): number {
    const elapsed = now - this.startMs - this.offsetMs;
    if (elapsed < 0) return 0;
    return Math.floor(elapsed / this.intervalMs + 1e-9) + 1;
  }
}

/** Phase offset of process `index` so that the processes' streams interleave evenly. */
export function phaseOffsetMs(index: number, aggregateRate: number): number {
  return aggregateRate > 0 ? (index * 1000) / aggregateRate : 0;
}

/** The three times an open-loop message is judged by: corrected latency, raw service time, send lag. */
export function openLoopTimes(intendedMs: number, sentMs: number, receivedMs: number): { latency: number; service: number; sendLag: number } {
  return { latency: receivedMs - intendedMs, service: receivedMs - sentMs, sendLag: sentMs - intendedMs };
}

/**
 * Send times of the messages in flight on one connection, oldest first (echo servers answer in
 * order). A ring of plain numbers: nothing allocated per message once it has grown.
 */
export class InFlight {
  #intended: Float64Array;
  #sent: Float64Array;
  #measured: Uint8Array;
  #head = 0;
  #size = 0;

  constructor(capacity = 4) {
    this.#intended = new Float64Array(capacity);
    this.#sent = new Float64Array(capacity);
    this.#measured = new Uint8Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(intendedMs: number, sentMs: number, measured: boolean): void {
    if (this.#size === this.#intended.length) this.#grow();
    const i = (this.#head + this.#size) % this.#intended.length;
    this.#intended[i] = intendedMs;
    this.#sent[i] = sentMs;
    this.#measured[i] = measured ? 1 : 0;
    this.#size++;
  }

  /** Removes the oldest entry; `out` receives its times (returns false when empty). */
  shift(out: { intended: number; sent: number; measured: boolean }): boolean {
    if (this.#size === 0) return false;
    const i = this.#head;
    out.intended = this.#intended[i]!;
    out.sent = this.#sent[i]!;
    out.measured = this.#measured[i] === 1;
    this.#head = (i + 1) % this.#intended.length;
    this.#size--;
    return true;
  }

  #grow(): void {
    const n = this.#intended.length;
    const intended = new Float64Array(n * 2);
    const sent = new Float64Array(n * 2);
    const measured = new Uint8Array(n * 2);
    for (let k = 0; k < this.#size; k++) {
      const i = (this.#head + k) % n;
      intended[k] = this.#intended[i]!;
      sent[k] = this.#sent[i]!;
      measured[k] = this.#measured[i]!;
    }
    this.#intended = intended;
    this.#sent = sent;
    this.#measured = measured;
    this.#head = 0;
  }
}
