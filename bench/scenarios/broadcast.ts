/** broadcast: C clients receive messages the servers push (the demo farm's /room ticks, or fan-out of published messages); delivery lag from a timestamp in each. */

import type { RawData, WebSocket } from 'ws';
import { Connections, openJob } from '../connect.js';
import { OpenLoopSchedule } from '../schedule.js';
import type { ScenarioFactory, ScenarioWorker } from './scenario.js';
import { waitUntil } from './scenario.js';

const QUIET_MS = 200;

/** Wall-clock ms with sub-ms precision, comparable across processes on one machine. */
export const wallMs = (): number => performance.timeOrigin + performance.now();

/** The number after `"FIELD":` in a message (JSON or not), or undefined. */
export function readTimestamp(text: string, field: string): number | undefined {
  const key = `"${field}":`;
  const at = text.indexOf(key);
  if (at < 0) return undefined;
  const v = parseFloat(text.slice(at + key.length, at + key.length + 24));
  return Number.isFinite(v) ? v : undefined;
}

export const broadcastWorker: ScenarioFactory = (job, stats): ScenarioWorker => {
  const o = job.opts;
  const conns = new Connections(stats);
  const budget = job.maxMessages > 0 ? job.maxMessages : Infinity;
  const pad = o.size > 40 ? 'x'.repeat(o.size - 40) : '';
  let stopped = false;
  let lastReceived = 0;
  let timer: NodeJS.Timeout | null = null;

  function publish(schedule: OpenLoopSchedule): void {
    let n = 0;
    const loop = (): void => {
      timer = null;
      if (stopped) return;
      const due = Math.min(schedule.dueBy(performance.now()), budget);
      const list = conns.list;
      for (; n < due; n++) {
        const ws: WebSocket = list[n % list.length]!;
        if (ws.readyState !== 1 || ws.bufferedAmount > o.maxBufferedBytes) {
          stats.count('dropped');
          continue;
        }
        ws.send(`${o.publishPrefix}{"${o.tsField}":${wallMs()},"pad":"${pad}"}`);
        stats.count('sent');
      }
      if (n >= budget) {
        w.onExhausted?.();
        return;
      }
      timer = setTimeout(loop, Math.max(0, schedule.intendedAt(n) - performance.now()));
    };
    loop();
  }

  const w: ScenarioWorker = {
    get open() { return conns.open; },
    async setup() {
      await openJob(o, stats, job, () => stopped, ({ ws }) => {
        conns.add(ws);
        ws.on('message', (data: RawData) => {
          const ts = readTimestamp(data.toString(), o.tsField);
          if (ts === undefined) return;
          lastReceived = performance.now();
          stats.count('received');
          stats.record('latency', wallMs() - ts);
        });
      });
    },
    start() {
      if (job.publish > 0 && conns.list.length > 0) publish(new OpenLoopSchedule(job.publish, performance.now(), job.offsetMs));
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      // Fan-out of the last published messages is still on its way: wait for a quiet spell.
      if (job.publish > 0) await waitUntil(() => performance.now() - lastReceived > QUIET_MS, o.drainMs);
    },
    close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      conns.closeAll();
    },
  };
  return w;
};
