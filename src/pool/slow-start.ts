/** Slow start: the weight ramp of a server that just became ready (Envoy slow_start_config with a 10% floor, HAProxy slowstart). */

/**
 * The smallest share of its weight a ramping server gets: Envoy's `min_weight_percent`
 * default. A floor above 0 keeps a fresh server reachable (a 0 weight would mean "never"
 * for round-robin and "always" for least-connections once its peers hold any connection).
 */
export const SLOW_START_FLOOR = 0.1;

/** The fraction of its configured weight a server gets `elapsedMs` after becoming ready in a `windowMs` ramp. */
export function rampFactor(elapsedMs: number, windowMs: number): number {
  if (!(windowMs > 0) || elapsedMs >= windowMs) return 1;
  return Math.max(SLOW_START_FLOOR, elapsedMs / windowMs);
}

/** Where a Server reads its clock and its pool's current `slow_start` window (live, so a reload applies). */
export interface RampSource {
  /** Milliseconds, monotonic. */
  now(): number;
  /** The pool's `slow_start` in ms; 0 = off. */
  window(): number;
  /**
   * False until the listeners open. A server ready by then begins at full weight; every later
   * transition to ready ramps (HAProxy's slowstart on each DOWN -> UP), including the first
   * readiness of a server that was down at start or was added by a reload or discovery.
   */
  serving(): boolean;
}

/** No ramp: the default for servers built outside a Pool (tests, tools). */
export const NO_RAMP: RampSource = { now: () => performance.now(), window: () => 0, serving: () => false };
