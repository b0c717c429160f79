/** The replicated tables of one process, ticked together on one timer; what the IPC relay and the Redis transport move are these tables' messages. */

import { ReplicatedTable, TICK_MS, type TableMessage } from './replicated-table.js';

/** What applying a batch did: the messages applied (a relay passes exactly these on) and the origins seen out of sequence. */
export interface Received { readonly applied: TableMessage[]; readonly gaps: Set<string> }

export class TableSet {
  /** This process's origin id (`<instance>#0` for a primary or lone instance, `<instance>#<slot>.<pid>` for a worker). */
  readonly origin: string;
  readonly #tables = new Map<string, ReplicatedTable<unknown>>();
  #timer: NodeJS.Timeout | null = null;

  constructor(origin: string) {
    this.origin = origin;
  }

  add<V>(table: ReplicatedTable<V>): ReplicatedTable<V> {
    this.#tables.set(table.name, table as unknown as ReplicatedTable<unknown>);
    return table;
  }

  /** One tick: each table's own message, and `gone` for origins not heard from for the TTL. */
  tick(): TableMessage[] {
    const out: TableMessage[] = [];
    for (const t of this.#tables.values()) {
      const m = t.next();
      if (m) out.push(m);
      out.push(...t.expire());
    }
    return out;
  }

  receive(msgs: readonly TableMessage[]): Received {
    const applied: TableMessage[] = [];
    const gaps = new Set<string>();
    for (const m of msgs) {
      const t = this.#tables.get(m.table);
      if (!t) continue;   // a table this process does not keep (another version's, or not configured here)
      if (t.receive(m)) applied.push(m);
      else if (m.kind === 'delta' && m.origin !== this.origin) gaps.add(m.origin);
    }
    return { applied, gaps };
  }

  /** Full tables of the origins `which` selects, own and stored (a new reader's start, an answer to a gap). */
  fulls(which: (origin: string) => boolean): TableMessage[] {
    const out: TableMessage[] = [];
    for (const t of this.#tables.values()) {
      const origins = [t.origin, ...[...t.remotes()].map(([o]) => o)];
      for (const o of origins) {
        if (!which(o)) continue;
        const m = t.fullOf(o);
        if (m) out.push(m);
      }
    }
    return out;
  }

  /** Drops the origins `which` selects from every table; their `gone` messages. */
  drop(which: (origin: string) => boolean): TableMessage[] {
    return [...this.#tables.values()].flatMap((t) => t.drop(which));
  }

  /** This process leaving: one `gone` per table. */
  gone(): TableMessage[] {
    return [...this.#tables.values()].map((t) => t.gone());
  }

  /** Ticks every TICK_MS from now on, handing each tick's messages to `send` (when there are any). */
  start(send: (msgs: TableMessage[]) => void): void {
    this.#timer = setInterval(() => {
      const msgs = this.tick();
      if (msgs.length) send(msgs);
    }, TICK_MS);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}

/** The instance an origin id belongs to (`<instance>#...`). */
export function instanceOf(origin: string): string {
  const hash = origin.lastIndexOf('#');
  return hash === -1 ? origin : origin.slice(0, hash);
}
