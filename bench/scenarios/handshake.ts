/** handshake: K openers per process open and close connections as fast as they can, or at a target rate; upgrades/s and handshake latency. */

import { endpointFor, openWs } from '../connect.js';
import { rawCycle, rawTarget, type RawTarget } from '../raw-upgrade.js';
import { OpenLoopSchedule } from '../schedule.js';
import type { ScenarioFactory, ScenarioWorker } from './scenario.js';
import { waitUntil } from './scenario.js';

export const handshakeWorker: ScenarioFactory = (job, stats): ScenarioWorker => {
  const o = job.opts;
  const budget = job.maxMessages > 0 ? job.maxMessages : Infinity;
  let running = false;
  let inFlight = 0;
  let started = 0;
  let next = job.firstConnection;   // round robin over URLs and source addresses continues from this process's slice
  const raws = o.raw ? new Map<string, RawTarget>(o.urls.map((u) => [u, rawTarget(u)])) : null;

  /** --raw: upgrade, close handshake, FIN over a bare TCP socket (raw-upgrade.ts); the upgrade is timed to the 101. */
  async function rawOnce(): Promise<void> {
    const measured = stats.measuring;
    const { url, localAddress } = endpointFor(o, next++);
    const c = await rawCycle(raws!.get(url)!, o.handshakeTimeoutMs, localAddress);
    if (c.upgradeMs !== undefined) {
      stats.count('handshakes');
      stats.record('latency', c.upgradeMs, measured);
    }
    if (c.error) stats.error(c.error);
    else stats.count('cycles');
  }

  /** One open-and-close; the connection is closed (TCP FIN) as soon as it is open. */
  async function once(): Promise<void> {
    inFlight++;
    started++;
    if (raws) {
      await rawOnce();
      inFlight--;
      if (started >= budget) w.onExhausted?.();
      return;
    }
    const measured = stats.measuring;
    const t0 = performance.now();
    const o2 = await openWs(o, next++);
    if ('error' in o2) {
      stats.error(o2.error);
    } else {
      stats.count('handshakes');
      stats.record('latency', performance.now() - t0, measured);
      await new Promise<void>((resolve) => {
        o2.ws.once('close', () => resolve());
        o2.ws.on('error', () => undefined);
        o2.ws.terminate();
      });
    }
    inFlight--;
    if (started >= budget) w.onExhausted?.();
  }

  async function opener(): Promise<void> {
    while (running && started < budget) await once();
  }

  function paced(schedule: OpenLoopSchedule): void {
    let n = 0;
    const loop = (): void => {
      if (!running || started >= budget) return;
      const due = schedule.dueBy(performance.now());
      for (; n < due && started < budget; n++) {
        if (inFlight >= o.concurrency) {
          stats.count('late');        // the target rate needs more than K openers: reported, not queued
          continue;
        }
        void once();
      }
      setTimeout(loop, Math.max(0, schedule.intendedAt(n) - performance.now()));
    };
    loop();
  }

  const w: ScenarioWorker = {
    get open() { return inFlight; },
    async setup() {},
    start() {
      running = true;
      if (job.rate > 0) paced(new OpenLoopSchedule(job.rate, performance.now(), job.offsetMs));
      else for (let k = 0; k < o.concurrency; k++) void opener();
    },
    async stop() {
      running = false;
      await waitUntil(() => inFlight === 0, o.drainMs);
    },
    close() {
      running = false;
    },
  };
  return w;
};
