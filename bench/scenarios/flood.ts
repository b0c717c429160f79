/** flood: H heavy downloaders ask the server for 64 KiB messages as fast as it sends and stop reading, while one probe does echo round trips at a fixed rate; the probe's latency before and during the flood. */

import { WebSocket, type RawData } from 'ws';
import { Connections, isOurs, makePayload, openJob } from '../connect.js';
import { InFlight, OpenLoopSchedule } from '../schedule.js';
import type { ScenarioFactory, ScenarioWorker } from './scenario.js';
import { waitUntil } from './scenario.js';

/** What a heavy downloader sends: the demo farm (and any server speaking this) then pushes binary messages of that size until the connection closes. */
export const FLOOD_COMMAND = 'flood:65536';

// Timeline: the warm-up is the baseline (probe only, latencies recorded as `baseline`); when the
// measured window opens the heavy connections send the flood command and pause their sockets at
// once, and the probe's latencies go to `latency`. The heavy ones are resumed only after the window
// (stop), to learn how each ended: a close code from the target, or still open.
//
// Control (--control-url): a second probe straight to a server of the same farm, sent at the same
// intended times. The farm also serves the flood, and on a small machine the farm, the target and
// the generator share the cores, so the probe's latency during the flood holds their share too;
// the control's latency is that share alone (`control`, and `control_before` for the baseline).

export const floodWorker: ScenarioFactory = (job, stats): ScenarioWorker => {
  const o = job.opts;
  if (job.processes !== 1) throw new Error('flood runs in one generator process');
  const probeConns = new Connections(stats);
  const heavy: WebSocket[] = [];
  const ended = new Set<WebSocket>();
  const payload = makePayload(o.size, o.binary);
  const q = new InFlight();
  const slot = { intended: 0, sent: 0, measured: false };
  const controlQ = new InFlight();
  const controlSlot = { intended: 0, sent: 0, measured: false };
  let probe: WebSocket | null = null;
  let control: WebSocket | null = null;
  let schedule: OpenLoopSchedule | null = null;
  let flooding = false;
  let stopped = false;
  let n = 0;
  let timer: NodeJS.Timeout | null = null;

  function startFlood(): void {
    flooding = true;
    for (const ws of heavy) {
      if (ws.readyState !== 1) continue;
      ws.send(FLOOD_COMMAND);
      ws.pause();
    }
  }

  function loop(): void {
    timer = null;
    if (stopped || schedule === null || probe === null) return;
    if (!flooding && stats.measuring) startFlood();
    const due = schedule.dueBy(performance.now());
    for (; n < due; n++) {
      if (probe.readyState !== 1 || probe.bufferedAmount > o.maxBufferedBytes) {
        stats.count('dropped');
        continue;
      }
      const now = performance.now();
      q.push(schedule.intendedAt(n), now, stats.measuring);
      probe.send(payload, { binary: o.binary });
      stats.count('sent');
      if (control !== null && control.readyState === 1 && control.bufferedAmount <= o.maxBufferedBytes) {
        controlQ.push(schedule.intendedAt(n), performance.now(), stats.measuring);
        control.send(payload, { binary: o.binary });
      }
    }
    timer = setTimeout(loop, Math.max(0, schedule.intendedAt(n) - performance.now()));
  }

  const w: ScenarioWorker = {
    get open() { return probeConns.open + heavy.filter((ws) => ws.readyState === 1).length; },
    async setup() {
      await openJob(o, stats, job, () => stopped, ({ ws }, i) => {
        if (i === job.firstConnection) {
          probe = ws;
          probeConns.add(ws);
          ws.on('message', (data: RawData) => {
            const now = performance.now();
            if (!isOurs(data as Buffer, o.size) || !q.shift(slot)) return;
            stats.count('received');
            // Before the window: the baseline, kept in the final figures under its own name.
            stats.record(slot.measured ? 'latency' : 'baseline', now - slot.intended, true);
          });
          return;
        }
        heavy.push(ws);
        ws.on('error', () => undefined);
        ws.once('close', (code: number) => {
          ended.add(ws);
          stats.count(`heavy_closed_${code}`);
        });
      });
      if (o.controlUrl !== undefined && !stopped) control = await openControl(o.controlUrl, o.handshakeTimeoutMs);
      control?.on('message', (data: RawData) => {
        const now = performance.now();
        if (!isOurs(data as Buffer, o.size) || !controlQ.shift(controlSlot)) return;
        stats.record(controlSlot.measured ? 'control' : 'control_before', now - controlSlot.intended, true);
      });
    },
    start() {
      if (probe === null) return;
      schedule = new OpenLoopSchedule(o.probeRate, performance.now(), 0);
      loop();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await waitUntil(() => q.size === 0 && controlQ.size === 0, Math.min(o.drainMs, 1000));
      // Read what the heavy ones were sent, so a close the target sent (1008 for a stalled reader) is seen.
      for (const ws of heavy) ws.resume();
      await waitUntil(() => ended.size === heavy.length, o.drainMs);
      stats.count('heavy_open_at_end', heavy.length - ended.size);
    },
    close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      probeConns.closeAll();
      control?.terminate();
      for (const ws of heavy) ws.terminate();
    },
  };
  return w;
};

/** The control probe's connection (no proxy in between); a clear error when it cannot open. */
function openControl(url: string, timeoutMs: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    ws.once('open', () => { ws.removeAllListeners('error'); ws.on('error', () => undefined); resolve(ws); });
    ws.once('error', (err) => reject(new Error(`flood: the control probe could not open ${url}: ${err.message}`)));
  });
}
