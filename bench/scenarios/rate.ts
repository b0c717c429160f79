/** rate: open loop at an aggregate rate over C connections; latency from the intended send time (CO-free) and raw service time. */

import type { RawData, WebSocket } from 'ws';
import { Connections, isOurs, makePayload, openJob } from '../connect.js';
import { InFlight, OpenLoopSchedule } from '../schedule.js';
import type { ScenarioFactory, ScenarioWorker } from './scenario.js';
import { waitUntil } from './scenario.js';

export const rateWorker: ScenarioFactory = (job, stats): ScenarioWorker => {
  const o = job.opts;
  if (!(job.rate > 0)) throw new Error('rate: --rate must be given (messages per second over all connections)');
  const conns = new Connections(stats);
  const payload = makePayload(o.size, o.binary);
  const list: { ws: WebSocket; q: InFlight }[] = [];
  const slot = { intended: 0, sent: 0, measured: false };
  const budget = job.maxMessages > 0 ? job.maxMessages : Infinity;
  let schedule: OpenLoopSchedule | null = null;
  let n = 0;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  function loop(): void {
    timer = null;
    if (stopped || schedule === null) return;
    const due = Math.min(schedule.dueBy(performance.now()), budget);
    for (; n < due; n++) {
      const c = list[n % list.length]!;
      const intended = schedule.intendedAt(n);
      // Counted against the window the message was meant for, whenever it actually goes out.
      if (c.ws.readyState !== 1 || c.ws.bufferedAmount > o.maxBufferedBytes) {
        stats.count('dropped');
        continue;
      }
      const now = performance.now();
      c.q.push(intended, now, stats.measuring);
      c.ws.send(payload, { binary: o.binary });
      stats.count('sent');
      stats.record('send_lag', now - intended);
      if (now - intended > o.lateMs) stats.count('late');
    }
    if (n >= budget) {
      w.onExhausted?.();
      return;
    }
    timer = setTimeout(loop, Math.max(0, schedule.intendedAt(n) - performance.now()));
  }

  const w: ScenarioWorker = {
    get open() { return conns.open; },
    async setup() {
      await openJob(o, stats, job, () => stopped, ({ ws }) => {
        conns.add(ws);
        const q = new InFlight();
        list.push({ ws, q });
        ws.on('message', (data: RawData) => {
          const now = performance.now();
          if (!isOurs(data as Buffer, o.size) || !q.shift(slot)) return;
          stats.count('received');
          stats.record('latency', now - slot.intended, slot.measured);
          stats.record('service', now - slot.sent, slot.measured);
        });
      });
    },
    start() {
      if (list.length === 0) return;
      schedule = new OpenLoopSchedule(job.rate, performance.now(), job.offsetMs);
      loop();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await waitUntil(() => list.every((c) => c.q.size === 0), o.drainMs);
    },
    close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      conns.closeAll();
    },
  };
  return w;
};
