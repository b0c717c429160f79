/** The server's response-time EWMA (`server.localRtt`, ms: this process's part of the farm figure `rtt`), fed by upgrade latency (Runtime.onUpgraded) and by health-check round trips. */

/** Weight of a new sample: 0.3 forgets a past sample to under 3% after ten new ones. */
export const RTT_ALPHA = 0.3;

/**
 * Folds one measured round trip (ms) into `server.localRtt`. The first sample is taken as is, so
 * a new server is not compared at a made-up value; negative or non-finite samples are ignored.
 * Health checkers call this with each check's round trip (ping/pong for `websocket`).
 */
export function recordRtt(server: { localRtt: number }, ms: number): void {
  if (!(ms >= 0) || !Number.isFinite(ms)) return;
  server.localRtt = server.localRtt > 0 ? server.localRtt + RTT_ALPHA * (ms - server.localRtt) : ms;
}
