/**
 * A server's state machine: four separate bits (health, admin enable, drain, outlier ejection),
 * why each one holds, and the listeners told of every change of the state they make. Every
 * transition is one call that takes its reason with it, so a listener always sees the new reason.
 */

import type { Logger } from '../log.js';

export type ServerState = 'up' | 'down' | 'draining' | 'disabled' | 'ejected';

/** The state bit that moved: health checks, admin enable/disable, a drain (admin, reload, discovery, load report), outlier ejection. */
export type StateBit = 'healthy' | 'enabled' | 'draining' | 'ejected';

/**
 * Called on every `state` change. `from` is `unknown` for the first health result of a server
 * created waiting for it: that result is reported even when the server stays down.
 */
export type StateChange<S> = (server: S, from: ServerState | 'unknown', to: ServerState, reason: string | null, bit: StateBit) => void;

export interface StateMachineOptions<S> {
  /** What listeners are told changed (the Server). */
  readonly owner: S;
  /** Health at creation: false when the pool runs active checks (no traffic before the first pass). */
  readonly healthy: boolean;
  /** Told of every change, in order; the array may be shared (a pool's listeners, for all its servers). */
  readonly listeners?: StateChange<S>[] | undefined;
  /** Where a listener's exception is logged (it never stops the check, drain or ejection that changed the state). */
  readonly log?: Logger | undefined;
  /** Runs on becoming `up`, before the listeners (slow start begins its ramp). */
  readonly becameUp?: (() => void) | undefined;
}

/** `undefined`: leave the reason as it is. */
type Reason = string | null | undefined;

export class ServerStateMachine<S> {
  readonly #owner: S;
  readonly #listeners: StateChange<S>[];
  readonly #log: Logger | undefined;
  readonly #becameUp: (() => void) | undefined;
  #healthy: boolean;
  #enabled = true;
  #draining = false;
  #ejected = false;
  /** False until the first health result of a server created unhealthy. */
  #known: boolean;
  #downReason: string | null = null;
  #ejectReason: string | null = null;
  /** The admin note (disable, drain, removal by reload or discovery, a load report's drain). */
  #note: string | null = null;

  constructor(opts: StateMachineOptions<S>) {
    this.#owner = opts.owner;
    this.#healthy = opts.healthy;
    this.#known = opts.healthy;
    this.#listeners = opts.listeners ?? [];
    this.#log = opts.log;
    this.#becameUp = opts.becameUp;
  }

  get healthy(): boolean { return this.#healthy; }
  get enabled(): boolean { return this.#enabled; }
  get draining(): boolean { return this.#draining; }
  get ejected(): boolean { return this.#ejected; }
  /** False while a server created unhealthy waits for its first health result. */
  get known(): boolean { return this.#known; }
  /** Why health checks (or, in a cluster worker, the primary's) hold it down; shown while `down`. */
  get downReason(): string | null { return this.#downReason; }
  get ejectReason(): string | null { return this.#ejectReason; }
  get note(): string | null { return this.#note; }

  get ready(): boolean {
    return this.#healthy && this.#enabled && !this.#draining && !this.#ejected;
  }

  get state(): ServerState {
    if (!this.#enabled) return 'disabled';
    if (this.#draining) return 'draining';
    if (this.#ejected) return 'ejected';
    return this.#healthy ? 'up' : 'down';
  }

  /** Why the server is not up (null when up): the reason of the bit that decides `state`. */
  get reason(): string | null {
    switch (this.state) {
      case 'up': return null;
      case 'down': return this.#downReason ?? 'waiting for the first health check';
      case 'ejected': return this.#ejectReason ?? 'ejected';
      case 'disabled': return this.#note ?? 'disabled by admin';
      case 'draining': return this.#note ?? 'draining';
    }
  }

  /** A health result that flips the bit, or a server's first one (reported even when nothing changed). */
  setHealthy(healthy: boolean, downReason?: Reason): void {
    const from = this.#known ? this.state : 'unknown';
    this.#known = true;
    if (downReason !== undefined) this.#downReason = downReason;
    this.#healthy = healthy;
    this.#changed(from, 'healthy');
  }

  /** Why the server is (or would be) down, between results that flip it: the last failure, or how far a rise has got. */
  setDownReason(downReason: string | null): void {
    this.#downReason = downReason;
  }

  setEnabled(enabled: boolean, note?: Reason): void {
    const from = this.state;
    if (note !== undefined) this.#note = note;
    this.#enabled = enabled;
    this.#changed(from, 'enabled');
  }

  setDraining(draining: boolean, note?: Reason): void {
    const from = this.state;
    if (note !== undefined) this.#note = note;
    this.#draining = draining;
    this.#changed(from, 'draining');
  }

  setEjected(ejected: boolean, ejectReason?: Reason): void {
    const from = this.state;
    if (ejectReason !== undefined) this.#ejectReason = ejectReason;
    this.#ejected = ejected;
    this.#changed(from, 'ejected');
  }

  /** The admin note alone (a drain already running gets its new reason). */
  setNote(note: string | null): void {
    this.#note = note;
  }

  /** Adds a listener (this server only; a pool's listeners are passed at construction). */
  listen(listener: StateChange<S>): void {
    this.#listeners.push(listener);
  }

  #changed(from: ServerState | 'unknown', bit: StateBit): void {
    const to = this.state;
    if (to === from) return;
    if (to === 'up') this.#becameUp?.();
    const reason = this.reason;
    for (const l of this.#listeners) {
      try {
        l(this.#owner, from, to, reason, bit);
      } catch (err) {
        // A failing listener (metrics, a log filter) must not break the check or drain that changed the state; it is a bug to see.
        if (this.#log) this.#log.error({ err, from, to, bit }, 'server state listener failed');
        else process.emitWarning(`server state listener failed: ${(err as Error)?.stack ?? String(err)}`);
      }
    }
  }
}
