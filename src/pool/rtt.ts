/** Server round-trip time: an EWMA of measured samples (websocket health-check ping/pong), read by least-response-time. */

import type { Server } from './server.js';

/** Weight of the newest sample; 0.3 follows a change within ~5 samples while smoothing single outliers. */
export const RTT_ALPHA = 0.3;

/** Folds one round trip (ms) into `server.rtt`; the first sample (rtt still 0) is taken as is. */
export function recordRtt(server: Server, ms: number): void {
  if (!Number.isFinite(ms) || ms < 0) return;
  server.rtt = server.rtt === 0 ? ms : server.rtt + RTT_ALPHA * (ms - server.rtt);
}
