/**
 * The primary's side of the farm view: keeps each worker's reported figures, adds its own
 * health-check RTTs and the other instances' sums (Redis), and every tick sends each worker
 * what changed in the rest of the farm; runs the tree's one set of load pollers on HealthHub's
 * Pools and sends each worker the reports that changed.
 */

import type { Worker } from 'node:cluster';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { Monitors } from '../pool/monitors.js';
import type { Pool } from '../pool/pool.js';
import { LoadChanges, loadStates } from './farm-load.js';
import { addShare, DeltaSender, mergeDelta, othersOf, rttShare, type FarmDelta, type FarmShare } from './farm-view.js';
import type { HealthHub } from './health-hub.js';
import type { ToWorker } from './protocol.js';

interface Channel { figures: FarmShare; readonly remote: DeltaSender; readonly loads: LoadChanges }

export class FarmHub {
  /** Load pollers only: the primary holds no tunnels, so no bandwidth to sample. */
  readonly monitors = new Monitors({ sample: false });
  /** The other instances' sum (Redis; empty while it is down). */
  instances: FarmShare = {};
  readonly #channels = new Map<number, Channel>();
  readonly #health: HealthHub;
  readonly #send: (w: Worker, m: ToWorker) => void;
  readonly #log: Logger;

  constructor(health: HealthHub, log: Logger, send: (w: Worker, m: ToWorker) => void) {
    this.#health = health;
    this.#log = log;
    this.#send = send;
  }

  /** Starts (or, after a reload, matches) the load pollers of the pools the primary checks. */
  sync(config: Config): void {
    const routes = config.routes.flatMap((r) => {
      const pool = this.#health.pools.get(r.pool);
      return pool ? [{ config: r, pool }] : [];
    });
    this.monitors.sync(this.#health.pools.values(), routes, this.#log);
  }

  /** After every worker took a reload: the next tick sends each one full records (kept servers were reconfigured). */
  reloaded(config: Config): void {
    this.sync(config);
    for (const c of this.#channels.values()) { c.remote.reset(); c.loads.reset(); }
  }

  #channel(id: number): Channel {
    let c = this.#channels.get(id);
    if (!c) this.#channels.set(id, (c = { figures: {}, remote: new DeltaSender(), loads: new LoadChanges() }));
    return c;
  }

  /** A worker just started listening to messages: it gets every load report now and full figures at the next tick. */
  welcome(w: Worker): void {
    const c = this.#channel(w.id);
    c.remote.reset();
    c.loads.reset();
    const states = c.loads.next(this.#states());
    if (states.length) this.#send(w, { t: 'load', states });
  }

  report(w: Worker, m: FarmDelta): void {
    const c = this.#channel(w.id);
    c.figures = mergeDelta(c.figures, m);
  }

  /** A worker is gone: its figures no longer count. */
  forget(w: Worker): void {
    this.#channels.delete(w.id);
  }

  /** This process tree's figures: the workers' sum plus the primary's health-check RTTs (what this instance shares through Redis). */
  tree(): FarmShare {
    const sum = rttShare(this.#health.pools.values());
    for (const c of this.#channels.values()) addShare(sum, c.figures);
    return sum;
  }

  /** One round: each worker gets what changed in the rest of the farm and in the load reports. */
  tick(workers: readonly Worker[]): void {
    const all = addShare(this.tree(), this.instances);
    const states = this.#states();
    for (const w of workers) {
      const c = this.#channel(w.id);
      const delta = c.remote.next(othersOf(all, c.figures));
      if (delta) this.#send(w, { t: 'remote', ...delta });
      const changed = c.loads.next(states);
      if (changed.length) this.#send(w, { t: 'load', states: changed });
    }
  }

  #states() {
    return loadStates(this.#health.pools.values(), (p: Pool) => this.monitors.poller(p) !== null);
  }

  close(): void {
    this.monitors.close();
  }
}
