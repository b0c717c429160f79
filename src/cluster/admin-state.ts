/**
 * Admin actions as shared state, a replicated table keyed `pool/server`: the last drain, disable
 * or enable issued for each server, with who and when. A primary or lone instance publishes every
 * action in force it knows of (its own and those it adopted), so an action survives the instance
 * that issued it, reaches the others when Redis comes back, and is learnt by an instance or a
 * worker that starts later. The latest action wins (wall clock; equal times: the greater `by`);
 * `enable` stays as a row so that it can win over an older disable still held elsewhere.
 */

import { isAction, type Action } from '../admin/control.js';
import type { Logger } from '../log.js';
import { serverKey } from './protocol.js';
import { latest, ReplicatedTable } from './replicated-table.js';

export interface AdminEntry {
  readonly action: Action;
  /** The instance that issued it. */
  readonly by: string;
  /** When, in ms since the epoch. */
  readonly at: number;
  /** The admin client's address, when known. */
  readonly caller?: string;
}

const same = (a: AdminEntry, b: AdminEntry): boolean => a.at === b.at && a.by === b.by && a.action === b.action;

/** Applies an action to this process's server (a no-op for a server unknown here). */
export type ApplyAction = (pool: string, server: string, action: Action) => void;

export class AdminState {
  readonly table: ReplicatedTable<AdminEntry>;
  readonly #instance: string;
  readonly #adopt: boolean;
  readonly #apply: ApplyAction;
  readonly #log: Logger | null;
  /** Per server, the time of the action applied here last: nothing older is applied again. */
  readonly #applied = new Map<string, number>();

  /**
   * `adopt`: a primary or lone instance, which republishes actions it learns as its own rows; a
   * worker only applies what it reads. `log`: the line for actions that came from another instance.
   */
  constructor(origin: string, instance: string, opts: { adopt: boolean; apply: ApplyAction; log?: Logger }) {
    this.#instance = instance;
    this.#adopt = opts.adopt;
    this.#apply = opts.apply;
    this.#log = opts.log ?? null;
    this.table = new ReplicatedTable<AdminEntry>('admin', origin, { combine: latest, same, onChange: (k, v) => { if (v) this.#arrived(k, v); } });
  }

  /** An action done here at `at` (already applied by the caller): published as in force. */
  issue(pool: string, server: string, action: Action, at: number, caller?: string): void {
    const key = serverKey(pool, server);
    this.#applied.set(key, Math.max(at, this.#applied.get(key) ?? 0));
    this.table.set(key, caller === undefined ? { action, by: this.#instance, at } : { action, by: this.#instance, at, caller });
  }

  /** An action applied here by other means (a worker's request from its primary): the same one read later is not applied twice. */
  applied(pool: string, server: string, at: number): void {
    const key = serverKey(pool, server);
    this.#applied.set(key, Math.max(at, this.#applied.get(key) ?? 0));
  }

  #arrived(key: string, v: AdminEntry): void {
    if (!isAction(v.action) || v.at <= (this.#applied.get(key) ?? 0)) return;
    const fresh = !this.#applied.has(key);
    this.#applied.set(key, v.at);
    if (this.#adopt) this.table.set(key, v);
    if (fresh && v.action === 'enable') return;   // undoes nothing here (a process that starts learns it as the state already in force)
    const slash = key.indexOf('/');
    const [pool, server] = [key.slice(0, slash), key.slice(slash + 1)];
    this.#log?.info({ from: v.by, pool, server, action: v.action, at: new Date(v.at).toISOString() }, 'admin action from another instance');
    this.#apply(pool, server, v.action);
  }

  /** The drains and disables in force (for /status): enable rows are not listed. */
  inForce(): { pool: string; server: string; action: Action; by: string; at: string; caller?: string }[] {
    const rows = new Map<string, AdminEntry>(this.table.own);
    for (const [, r] of this.table.remotes()) for (const [k, v] of r.rows) { const o = rows.get(k); rows.set(k, o ? latest([o, v]) : v); }
    return [...rows].filter(([, v]) => v.action !== 'enable').map(([k, v]) => {
      const slash = k.indexOf('/');
      return { pool: k.slice(0, slash), server: k.slice(slash + 1), action: v.action, by: v.by, at: new Date(v.at).toISOString(), ...(v.caller ? { caller: v.caller } : {}) };
    });
  }
}
