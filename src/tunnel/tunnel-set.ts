/** Every live tunnel of one process: membership, the one shared idle sweeper, and the drain that spreads closes over a window. */

import { CLOSE } from '../errors.js';
import { spreadCloses } from './spread.js';
import { StallWatch } from './stall.js';
import type { Tunnel, TunnelOwner } from './tunnel.js';

export interface TunnelSetOptions {
  /** Close tunnels with no bytes either way for this long (timeouts.idle); 0 or Infinity: never. */
  idleMs: number;
  /** Close with 1008 tunnels whose buffer stays at the bound this long (limits.stall); 0: never. */
  stallMs?: number;
  /** Clock for idle accounting and drain scheduling (injected in tests). */
  now?: () => number;
}

const MIN_SWEEP_MS = 50;

function sweepSet(s: TunnelSet): void {
  s.sweep();
}

/**
 * Idle precision: one setInterval for all tunnels (no timer per tunnel or per message: with tens
 * of thousands of tunnels, arming and clearing one per chunk would cost more than the data path)
 * with period P = max(min(idleMs, stallMs) / 4, 50 ms). Each tunnel's per-chunk `activity` flag is read and
 * cleared at every sweep, and the sweep's time is recorded as "last seen active". Activity is
 * therefore stamped up to P late, and the idle check itself runs every P, so a tunnel is closed
 * (1001) between idleMs and idleMs + 2P after its last byte: never early, at most 2P late
 * (1.5 x idleMs at the default P), plus timer jitter.
 */
export class TunnelSet implements TunnelOwner {
  // tunnel -> time a sweep last saw it active (or it was added)
  readonly #tunnels = new Map<Tunnel, number>();
  #idleMs = 0;
  #period = MIN_SWEEP_MS;
  readonly #stall = new StallWatch(0);
  readonly #now: () => number;
  #sweeper: NodeJS.Timeout | null = null;
  #stopped = false;
  #waiters: Array<() => void> = [];
  #draining: Promise<void> | null = null;
  #drainTimer: NodeJS.Timeout | null = null;
  #drainCancel: (() => void) | null = null;

  constructor(opts: TunnelSetOptions) {
    this.#now = opts.now ?? Date.now;
    this.#stall.ms = validMs(opts.stallMs ?? 0);
    this.setIdle(opts.idleMs);
  }

  /** Changes the idle timeout (config reload); the sweeper restarts with the new period. */
  setIdle(idleMs: number): void {
    this.#idleMs = validMs(idleMs);
    // One sweep serves both checks: its period follows the shorter of the two.
    const shortest = Math.min(this.#idleMs || Infinity, this.#stall.ms || Infinity);
    this.#period = Math.max(MIN_SWEEP_MS, Number.isFinite(shortest) ? shortest / 4 : 0);
    this.#stopSweeper();
    this.#startSweeper();
  }

  get size(): number {
    return this.#tunnels.size;
  }

  /** The idle sweeper's period in ms. */
  get sweepPeriod(): number {
    return this.#period;
  }

  [Symbol.iterator](): IterableIterator<Tunnel> {
    return this.#tunnels.keys();
  }

  /** Registers a tunnel (before or after its start); it leaves the set by itself when it finishes. */
  add(t: Tunnel): void {
    if (t.finished || this.#tunnels.has(t)) return;
    t.owner = this;
    this.#tunnels.set(t, this.#now());
    this.#startSweeper();
  }

  /** Called by a tunnel's single close path. */
  tunnelClosed(t: Tunnel): void {
    if (!this.#tunnels.delete(t) || this.#tunnels.size > 0) return;
    this.#stopSweeper();
    if (this.#drainTimer !== null) {
      clearTimeout(this.#drainTimer);
      this.#drainTimer = null;
    }
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Changes the stall time (config reload); the sweeper restarts with the new period. */
  setStall(stallMs: number): void {
    this.#stall.ms = validMs(stallMs);
    this.setIdle(this.#idleMs);
  }

  /**
   * One pass (normally run by the interval): closes with 1001 tunnels idle for >= idleMs, and
   * with 1008 tunnels whose reader stalled for >= stallMs (src/tunnel/stall.ts).
   */
  sweep(now = this.#now()): void {
    if (this.#stall.ms > 0) {
      for (const t of this.#tunnels.keys()) if (this.#stall.check(t, now)) t.close(CLOSE.POLICY, 'reader stalled');
    }
    if (this.#idleMs === 0) return;
    for (const [t, seen] of this.#tunnels) {
      if (t.activity) {
        t.activity = false;
        this.#tunnels.set(t, now);
      } else if (now - seen >= this.#idleMs) {
        t.close(CLOSE.GOING_AWAY);
      }
    }
  }

  /**
   * Graceful shutdown: close(code: 1001, or 1012 for a worker's planned restart) every tunnel present now, spread evenly over windowMs
   * (n tunnels: one every windowMs / n, batched so no step is shorter than 10 ms), then
   * destroy() whatever is left at the end of the window. Resolves when the set is empty.
   * Tunnels added while draining are not closed gracefully, only destroyed at the window's end.
   */
  drain(windowMs: number, code: number = CLOSE.GOING_AWAY): Promise<void> {
    if (this.#draining !== null) return this.#draining;
    if (this.#tunnels.size === 0) return Promise.resolve();
    const spread = spreadCloses([...this.#tunnels.keys()], code, windowMs, this.#now);
    this.#drainCancel = spread.cancel;
    // Tunnels that joined during the drain are cut with the stragglers at the window's end.
    this.#drainTimer = setTimeout(() => this.destroyAll(), windowMs);
    this.#draining = new Promise<void>((resolve) => {
      this.#waiters.push(resolve);
    }).finally(() => {
      this.#draining = null;
    });
    return this.#draining;
  }

  /** Aborts every tunnel now. */
  destroyAll(): void {
    for (const t of [...this.#tunnels.keys()]) t.destroy();
  }

  /** Stops the sweeper and any drain schedule for good (the tunnels themselves are left alone). */
  stop(): void {
    this.#stopped = true;
    this.#stopSweeper();
    this.#drainCancel?.();
    if (this.#drainTimer !== null) {
      clearTimeout(this.#drainTimer);
      this.#drainTimer = null;
    }
  }

  #startSweeper(): void {
    if (this.#sweeper !== null || (this.#idleMs === 0 && this.#stall.ms === 0) || this.#stopped || this.#tunnels.size === 0) return;
    this.#sweeper = setInterval(sweepSet, this.#period, this);
    this.#sweeper.unref();
  }

  #stopSweeper(): void {
    if (this.#sweeper !== null) {
      clearInterval(this.#sweeper);
      this.#sweeper = null;
    }
  }
}

function validMs(ms: number): number {
  return ms > 0 && Number.isFinite(ms) ? ms : 0;
}
