/** The server's response-time EWMA (`server.rtt`, ms), fed by upgrade latency (Runtime.onUpgraded) and by health-check round trips. */

/** Weight of a new sample: 0.3 forgets a past sample to under 3% after ten new ones. */
export const RTT_ALPHA = 0.3;

/**
 * Folds one measured round trip (ms) into `server.rtt`. The first sample is taken as is, so
 * a new server is not compared at a made-up value; negative or non-finite samples are ignored.
 * Health checkers call this with each check's round trip (ping/pong for `websocket`).
 */
export function recordRtt(server: { rtt: number }, ms: number): void {
  if (!(ms >= 0) || !Number.isFinite(ms)) return;
  server.rtt = server.rtt > 0 ? server.rtt + RTT_ALPHA * (ms - server.rtt) : ms;
}
