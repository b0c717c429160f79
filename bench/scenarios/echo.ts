/** echo: C connections, each with W messages in flight (closed loop); latency from send to the echo. */

import type { RawData, WebSocket } from 'ws';
import { Connections, isOurs, makePayload, openJob } from '../connect.js';
import { InFlight } from '../schedule.js';
import type { ScenarioFactory, ScenarioWorker } from './scenario.js';
import { waitUntil } from './scenario.js';

export const echoWorker: ScenarioFactory = (job, stats): ScenarioWorker => {
  const o = job.opts;
  const conns = new Connections(stats);
  const payload = makePayload(o.size, o.binary);
  const queues = new Map<WebSocket, InFlight>();
  const slot = { intended: 0, sent: 0, measured: false };
  let running = false;
  let stopped = false;
  let sent = 0;
  const budget = job.maxMessages > 0 ? job.maxMessages : Infinity;

  const w: ScenarioWorker = {
    get open() { return conns.open; },
    async setup() {
      await openJob(o, stats, job, () => stopped, ({ ws }) => {
        conns.add(ws);
        const q = new InFlight(Math.max(4, o.inflight));
        queues.set(ws, q);
        ws.on('message', (data: RawData) => {
          const now = performance.now();
          if (!isOurs(data as Buffer, o.size) || !q.shift(slot)) return;
          stats.count('received');
          stats.record('latency', now - slot.sent, slot.measured);
          if (running) send(ws, q);
        });
      });
    },
    start() {
      running = true;
      for (const [ws, q] of queues) for (let k = 0; k < o.inflight && running; k++) send(ws, q);
    },
    async stop() {
      running = false;
      stopped = true;
      await waitUntil(() => [...queues.values()].every((q) => q.size === 0), o.drainMs);
    },
    close() {
      running = false;
      stopped = true;
      conns.closeAll();
    },
  };

  function send(ws: WebSocket, q: InFlight): void {
    if (sent >= budget || ws.readyState !== 1) return;
    const now = performance.now();
    q.push(now, now, stats.measuring);
    ws.send(payload, { binary: o.binary });
    stats.count('sent');
    if (++sent === budget) {
      running = false;
      w.onExhausted?.();
    }
  }
  return w;
};
