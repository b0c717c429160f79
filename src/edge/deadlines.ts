/** One timer per timeout length for many per-connection deadlines (connect and handshake timeouts): arm and cancel cost a small object, not a Node Timeout each. */

/** What runs when its deadline passes uncancelled. */
export interface Expiring {
  expire(): void;
}

/** An armed deadline; cancel it (Deadlines.cancel) when the wait ends first. */
export class Deadline {
  target: Expiring | null;
  readonly at: number;
  readonly lane: Lane;

  constructor(at: number, target: Expiring, lane: Lane) {
    this.at = at;
    this.target = target;
    this.lane = lane;
  }
}

/** What a queue slot holds once its deadline left the front (no reference kept to the old entry). */
const DONE = new Deadline(0, { expire() {} }, null as unknown as Lane);
DONE.target = null;

/**
 * The deadlines of one length, in due order: since they all last the same, each new one goes to
 * the back. One timer is armed for the front; it fires, expires what is due, skips cancelled
 * entries and re-arms for the next live one (about once per timeout length under steady load).
 * Never early: nothing fires before its `at`. The timer is unref'd: the sockets waiting keep the
 * process alive, a deadline alone does not.
 */
class Lane {
  #queue: Deadline[] = [];
  #head = 0;
  live = 0;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Infinity;
  readonly #ms: number;
  readonly #now: () => number;
  readonly #emptied: (lane: Lane) => void;

  constructor(ms: number, now: () => number, emptied: (lane: Lane) => void) {
    this.#ms = ms;
    this.#now = now;
    this.#emptied = emptied;
  }

  get ms(): number {
    return this.#ms;
  }

  arm(target: Expiring): Deadline {
    const d = new Deadline(this.#now() + this.#ms, target, this);
    this.#queue.push(d);
    this.live++;
    if (this.#timer === null) this.#arm(d.at);
    return d;
  }

  cancel(d: Deadline): void {
    if (d.target === null) return;
    d.target = null;
    // Nothing live: the queue is dropped; a timer still armed stays (it finds nothing, and re-arming one per connection costs more).
    if (--this.live === 0) { this.#queue = []; this.#head = 0; return; }
    // Cancelled entries at the front go now, not at the next firing: held for a whole timeout they
    // would outlive the young generation, and promoting one object per connection lengthens GC pauses.
    const q = this.#queue;
    let head = this.#head;
    while (head < q.length && q[head]!.target === null) q[head++] = DONE;
    this.#head = head;
    if (head > 1024 && head * 2 > q.length) { this.#queue = q.slice(head); this.#head = 0; }
  }

  #arm(at: number): void {
    this.#timerAt = at;
    // Timers count whole ms: rounded up so that `at` has passed when it fires.
    this.#timer = setTimeout(this.#fire, Math.max(1, Math.ceil(at - this.#now())));
    this.#timer.unref();
  }

  readonly #fire = (): void => {
    this.#timer = null;
    this.#timerAt = Infinity;
    const now = this.#now();
    // The queue is read afresh each turn: an expire() may arm or cancel others.
    while (this.#head < this.#queue.length) {
      const d = this.#queue[this.#head]!;
      if (d.target !== null && d.at > now) break;
      this.#queue[this.#head++] = DONE;
      const target = d.target;
      if (target === null) continue;
      d.target = null;
      if (--this.live === 0) { this.#queue = []; this.#head = 0; }
      target.expire();
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) { this.#queue = this.#queue.slice(this.#head); this.#head = 0; }
    const next = this.#queue[this.#head];
    if (next && this.#timer === null) this.#arm(next.at);
    else if (!next && this.#timer === null) this.#emptied(this);
  };
}

/** Deadlines of any length: one lane per length (a reload that changes a timeout starts a new lane; the old one drains and goes). */
export class Deadlines {
  readonly #lanes = new Map<number, Lane>();
  readonly #now: () => number;
  readonly #emptied = (lane: Lane): void => {
    if (lane.live === 0) this.#lanes.delete(lane.ms);
  };

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Calls `target.expire()` after `ms` unless the returned deadline is cancelled first. */
  arm(ms: number, target: Expiring): Deadline {
    let lane = this.#lanes.get(ms);
    if (!lane) this.#lanes.set(ms, (lane = new Lane(ms, this.#now, this.#emptied)));
    return lane.arm(target);
  }

  /** Stops `d` from firing (a no-op when it already fired or was cancelled). */
  cancel(d: Deadline): void {
    d.lane.cancel(d);
  }

  /** Deadlines armed and not yet fired or cancelled (for tests). */
  get size(): number {
    let n = 0;
    for (const lane of this.#lanes.values()) n += lane.live;
    return n;
  }
}

/** The process's one set of connection-path deadlines. */
export const deadlines = new Deadlines();
