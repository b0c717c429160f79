/**
 * Closes a list of tunnels evenly over a window (n tunnels: one every window/n, batched so no
 * step is shorter than 10 ms), so clients reconnect gradually instead of in one storm; what
 * is still open at the window's end is destroyed. Used by shutdown, admin drain and removal.
 */

/** What a spread close needs: tunnels, and plain-HTTP streams (src/http/exchange.ts) that end cleanly on a drain. */
export interface Closable {
  readonly finished: boolean;
  close(code: number): void;
  destroy(): void;
}

const MIN_STEP_MS = 10;

export interface SpreadClose {
  /** Resolves when every tunnel of the list has finished. */
  readonly done: Promise<void>;
  cancel(): void;
}

export function spreadCloses(list: readonly Closable[], code: number, windowMs: number, now: () => number = Date.now): SpreadClose {
  const n = list.length;
  let timer: NodeJS.Timeout | null = null;
  let cancelled = false;
  const steps = Math.max(1, Math.min(n, Math.floor(windowMs / MIN_STEP_MS)));
  const start = now();
  let k = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => { resolveDone = r; });
  // Polled at each step rather than a promise per tunnel: a tunnel carries no extra allocation for this.
  const allFinished = (): boolean => list.every((t) => t.finished);
  const step = (): void => {
    timer = null;
    if (cancelled) return;
    if (k < steps) {
      const to = Math.floor(((k + 1) * n) / steps);
      for (let i = Math.floor((k * n) / steps); i < to; i++) if (!list[i]!.finished) list[i]!.close(code);
      k++;
      if (allFinished()) { resolveDone(); return; }
      // The last step is followed by the end of the window itself, where stragglers are cut.
      const at = start + (k < steps ? (k * windowMs) / steps : windowMs);
      timer = setTimeout(step, Math.max(0, at - now()));
    } else {
      for (const t of list) if (!t.finished) t.destroy();
      // 'close' events follow destroy() asynchronously.
      const wait = (): void => { if (allFinished() || cancelled) resolveDone(); else timer = setTimeout(wait, MIN_STEP_MS); };
      wait();
    }
  };
  if (n > 0) step();
  else resolveDone();
  return {
    done,
    cancel(): void {
      cancelled = true;
      if (timer !== null) clearTimeout(timer);
      resolveDone();
    },
  };
}
