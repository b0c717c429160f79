/** idle: ramp to N idle connections and hold them, with optional pings; how many held, and (parent side) RSS/CPU per connection. */

import type { WebSocket } from 'ws';
import { Connections, openJob } from '../connect.js';
import type { ScenarioFactory, ScenarioWorker } from './scenario.js';

/** Pings go out in slices every PING_TICK ms, so N connections do not ping in one burst. */
const PING_TICK = 100;

export const idleWorker: ScenarioFactory = (job, stats): ScenarioWorker => {
  const o = job.opts;
  const conns = new Connections(stats);
  const pingSent = new Map<WebSocket, number>();
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;

  function startPings(): void {
    const slices = Math.max(1, Math.round(o.pingMs / PING_TICK));
    let slice = 0;
    timer = setInterval(() => {
      const list = conns.list;
      for (let i = slice; i < list.length; i += slices) {
        const ws = list[i]!;
        if (ws.readyState !== 1) continue;
        pingSent.set(ws, performance.now());
        ws.ping();
        stats.count('pings');
      }
      slice = (slice + 1) % slices;
    }, PING_TICK);
  }

  return {
    get open() { return conns.open; },
    async setup() {
      await openJob(o, stats, job, () => stopped, ({ ws }) => {
        conns.add(ws);
        ws.on('pong', () => {
          const t = pingSent.get(ws);
          if (t === undefined) return;
          pingSent.delete(ws);
          stats.count('pongs');
          stats.record('latency', performance.now() - t);
        });
      });
    },
    start() {
      if (o.pingMs > 0) startPings();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
    },
    close() {
      stopped = true;
      if (timer) clearInterval(timer);
      conns.closeAll();
    },
  };
};
