/** The primary's worker set: forks one worker per slot, replaces crashed ones with backoff, rolling restarts, request/reply over IPC. */

import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../log.js';
import { guardHandoffs } from './handoff-guard.js';
import { isOurs, tag, type FromWorker, type ToWorker } from './protocol.js';

/** Backoff after a crash: 100 ms, doubling per crash in a row, at most 10 s; a worker up for 10 s resets it. */
export function crashDelay(crashesInARow: number): number {
  return Math.min(100 * 2 ** Math.max(0, crashesInARow - 1), 10_000);
}
const STABLE_MS = 10_000;

export interface Slot {
  readonly id: number;
  worker: Worker | null;
  ready: boolean;
  startedAt: number;
  /** Unplanned exits of this slot's workers (each replaced after a backoff). */
  crashes: number;
  /** Planned replacements (rolling restarts). */
  restarts: number;
}

export interface SupervisorEvents {
  onMessage(worker: Worker, m: FromWorker): void;
  /** A worker is gone (crash or planned exit): its counts no longer count. */
  onExit(worker: Worker): void;
}

/** A request to a worker, before the supervisor numbers it. */
export type Request = Extract<ToWorker, { id: number }> extends infer T ? T extends unknown ? Omit<T, 'id'> : never : never;

type Pending = { resolve: (m: FromWorker & { t: 'reply' }) => void; timer: NodeJS.Timeout };

export class Supervisor {
  readonly slots: Slot[] = [];
  readonly #log: Logger;
  readonly #events: SupervisorEvents;
  readonly #retiring = new Set<Worker>();
  readonly #pending = new Map<number, Pending>();
  /** Slot id -> crashes in a row, for the backoff. */
  readonly #inARow = new Map<number, number>();
  readonly #env: Record<string, string>;
  #nextId = 1;
  #stopping = false;
  restarting = false;

  /** `env`: added to every worker's environment. */
  constructor(count: number, log: Logger, events: SupervisorEvents, env: Record<string, string> = {}) {
    this.#log = log;
    this.#events = events;
    this.#env = env;
    for (let id = 1; id <= count; id++) this.slots.push({ id, worker: null, ready: false, startedAt: 0, crashes: 0, restarts: 0 });
  }

  /** Forks every slot; resolves when all are listening. */
  async start(): Promise<void> {
    await Promise.all(this.slots.map((s) => this.#fork(s)));
  }

  get workers(): Worker[] {
    return this.slots.flatMap((s) => (s.worker ? [s.worker] : []));
  }

  send(w: Worker, m: ToWorker): void {
    if (w.isConnected()) w.send(tag(m));
  }

  broadcast(m: ToWorker): void {
    for (const w of this.workers) this.send(w, m);
  }

  /** Sends a request to one worker; resolves with its reply, or null after `ms`. */
  ask(w: Worker, m: Request, ms = 3000): Promise<(FromWorker & { t: 'reply' }) | null> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.#pending.delete(id); resolve(null); }, ms);
      this.#pending.set(id, { resolve: (r) => { clearTimeout(timer); resolve(r); }, timer });
      this.send(w, { ...m, id } as ToWorker);
    });
  }

  /** Asks every ready worker; the replies in slot order (null for a worker that did not answer). */
  askAll(m: Request, ms?: number): Promise<{ slot: Slot; reply: (FromWorker & { t: 'reply' }) | null }[]> {
    const live = this.slots.filter((s) => s.worker && s.ready);
    return Promise.all(live.map(async (slot) => ({ slot, reply: await this.ask(slot.worker!, m, ms) })));
  }

  #fork(slot: Slot): Promise<void> {
    const worker = cluster.fork({ ...this.#env, WSLB_WORKER_SLOT: String(slot.id) });
    // A connection handed to this worker as it dies is closed at once (the client may retry), not left open in the primary.
    guardHandoffs(worker, (handle) => {
      handle.close();
      this.#log.warn({ worker: slot.id, pid: worker.process.pid }, 'connection handed to a worker that died; closed');
    });
    slot.worker = worker;
    slot.ready = false;
    slot.startedAt = Date.now();
    return new Promise((resolve) => {
      worker.on('message', (m: unknown) => {
        if (!isOurs(m)) return;
        const msg = m as FromWorker;
        if (msg.t === 'ready') {
          if (slot.worker === worker) slot.ready = true;
          this.#log.info({ worker: slot.id, pid: worker.process.pid }, 'worker ready');
          resolve();
        } else if (msg.t === 'reply') {
          const p = this.#pending.get(msg.id);
          if (p) { this.#pending.delete(msg.id); p.resolve(msg); }
        } else this.#events.onMessage(worker, msg);
      });
      worker.on('exit', (code, signal) => {
        resolve();
        this.#events.onExit(worker);
        const planned = this.#retiring.delete(worker);
        if (slot.worker !== worker) return;   // already replaced (rolling restart)
        slot.worker = null;
        slot.ready = false;
        if (planned || this.#stopping) return;
        const upFor = Date.now() - slot.startedAt;
        const inARow = upFor > STABLE_MS ? 1 : (this.#inARow.get(slot.id) ?? 0) + 1;
        this.#inARow.set(slot.id, inARow);
        slot.crashes++;
        const delay = crashDelay(inARow);
        this.#log.error({ worker: slot.id, pid: worker.process.pid, code, signal, restart_in_ms: delay }, 'worker died; replacing it');
        setTimeout(() => { if (!this.#stopping && !slot.worker) void this.#fork(slot); }, delay);
      });
    });
  }

  /**
   * Rolling restart: per slot, a new worker starts and listens first, then the old one drains
   * its tunnels (timeouts.drain) and exits; the shared listening socket never closes.
   */
  async rollingRestart(drainMs: number): Promise<void> {
    this.restarting = true;
    try {
      for (const slot of this.slots) {
        if (this.#stopping) return;
        const old = slot.worker;
        await this.#fork(slot);
        if (!old) continue;
        slot.restarts++;
        this.#log.info({ worker: slot.id, old_pid: old.process.pid, pid: slot.worker?.process.pid }, 'rolling restart: old worker draining');
        await this.#retire(old, drainMs, true);
      }
    } finally {
      this.restarting = false;
    }
  }

  /**
   * Replaces one slot's worker `old` (it failed to apply a reload): the new worker starts and
   * listens first, then `old` drains and exits. Nothing to do when the slot has moved on (a crash replaced it).
   */
  async replace(slot: Slot, old: Worker, drainMs: number): Promise<void> {
    if (slot.worker !== old || this.#stopping) return;
    this.#retiring.add(old);   // its exit during the fork is planned: no crash backoff, no second replacement
    await this.#fork(slot);
    slot.restarts++;
    this.#log.info({ worker: slot.id, old_pid: old.process.pid, pid: slot.worker?.process.pid }, 'worker replaced: old worker draining');
    await this.#retire(old, drainMs, true);
  }

  /** Asks a worker to drain and exit (`restart`: it is being replaced); kills it if it is still there `drainMs` + 5 s later. */
  #retire(w: Worker, drainMs: number, restart = false): Promise<void> {
    this.#retiring.add(w);
    return new Promise((resolve) => {
      if (w.isDead()) return resolve();
      const timer = setTimeout(() => { w.process.kill('SIGKILL'); }, drainMs + 5000);
      w.once('exit', () => { clearTimeout(timer); resolve(); });
      this.send(w, { t: 'drain', restart });
    });
  }

  /** Every worker drains (SIGTERM); resolves when all have exited. */
  async stop(drainMs: number): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.workers.map((w) => this.#retire(w, drainMs)));
  }
}
