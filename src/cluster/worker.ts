/** A cluster worker's process: a Balancer without admin listener built with the worker's parts (worker-role.ts), running the config the primary sends, answering the primary's requests (status, metrics, actions, reloads, drain). */

import { applyAction, isAction } from '../admin/control.js';
import { CLOSE } from '../errors.js';
import { statusDocument } from '../admin/status.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { Balancer } from '../main.js';
import { farmView } from './farm-view.js';
import { loadSource } from './config-source.js';
import { isOurs, tag, type ConfigSource, type Counts, type FromWorker, type ToWorker } from './protocol.js';
import { WorkerRole } from './worker-role.js';

const DRAIN_REASON = 'drain requested by the primary';
/** A rolling restart replaces this worker: for its clients that is a service restart (1012), not the balancer going away (1001). */
const RESTART_REASON = 'restart requested by the primary';
/** How long a leaving worker keeps answering handshakes it accepted before its drain starts. */
const HANDOFF_MS = 1000;

function send(m: FromWorker): void {
  if (process.connected) process.send!(tag(m));
}

/**
 * A worker's process: it is one because the primary forked it, and it runs the config the primary
 * sends in answer to its `hello` (never the file, which may have changed or broken since the primary
 * loaded it). `makeLog`: the worker's logger for that config. Resolves once it listens.
 */
export function runWorker(slot: number, makeLog: (config: Config) => Logger): Promise<Balancer> {
  return new Promise((resolve, reject) => {
    let handle: ((m: ToWorker) => void) | null = null;
    process.on('message', (m: unknown) => {
      if (!isOurs(m)) return;
      const msg = m as ToWorker;
      if (handle) { handle(msg); return; }
      if (msg.t === 'drain') process.exit(0);   // replaced before it started: nothing to drain
      // Anything else before the config is dropped: the answer to `hello` repeats the state after it.
      if (msg.t !== 'config') return;
      let config: Config;
      try {
        config = loadSource(msg.source, { files: true });
      } catch (err) {
        reject(err);   // the primary validated this text: only a TLS file changed since can get here
        return;
      }
      // Built in this same event, so the state messages that follow the config find the balancer.
      const w = startWorker(config, makeLog(config), slot);
      handle = w.onMessage;
      w.started.then(resolve, reject);
    });
    send({ t: 'hello' });   // messages sent before this listener existed were dropped: ask for the config and the state
    // The primary coordinates signals (SIGTERM drains all, SIGHUP reloads all); a terminal's Ctrl-C reaches it too.
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => {});
    process.on('disconnect', () => { if (!handle) process.exit(0); });
  });
}

function startWorker(config: Config, log: Logger, slot: number): { onMessage: (m: ToWorker) => void; started: Promise<Balancer> } {
  // Health and load of the primary's pools from its reports, the replicated tables over IPC, state lines once per tree (src/cluster/worker-role.ts).
  let role: WorkerRole | undefined;
  const balancer = new Balancer(config, log, { admin: false, role: (rt) => (role = new WorkerRole(rt, slot, log, send)) });
  const parts = role!;
  const rt = balancer.runtime;

  // A reload the primary validated: the worker loads the same text with the same environment.
  const reload = (source: ConfigSource) => balancer.reload(process.env, () => loadSource(source, { files: true }));

  const onMessage = (msg: ToWorker): void => {
    switch (msg.t) {
      case 'tables': parts.tablesFrom(msg.msgs); return;
      case 'servers': parts.reports(msg.reports); return;
      case 'action': {
        const server = rt.pools.get(msg.pool)?.server(msg.server);
        if (!server || !isAction(msg.action)) {
          send({ t: 'reply', id: msg.id, ok: false, code: rt.pools.has(msg.pool) ? 'WSLB_ERR_ADMIN_UNKNOWN_SERVER' : 'WSLB_ERR_ADMIN_UNKNOWN_POOL' });
          return;
        }
        applyAction(rt, server, msg.action, msg.caller);
        parts.actionApplied(msg.pool, msg.server, msg.at);
        send({ t: 'reply', id: msg.id, ok: true });
        return;
      }
      case 'reload': {
        void reload(msg.source).then(
          (outcome) => send({ t: 'reply', id: msg.id, ok: outcome.ok, body: outcome }),
          (err: unknown) => send({ t: 'reply', id: msg.id, ok: false, body: { ok: false, errors: [String(err)] } }));
        return;
      }
      // The tree reloaded while this worker was starting: it takes the config in force too.
      case 'config': void reload(msg.source).catch((err: unknown) => log.error({ err }, 'reload')); return;
      case 'status': {
        const farm: Counts = {};
        for (const p of rt.pools.values()) for (const s of p.servers) farm[`${p.name}/${s.name}`] = s.active;
        send({ t: 'reply', id: msg.id, ok: true, body: { status: statusDocument(rt, balancer.addresses), farm, view: farmView(rt.pools.values()) } });
        return;
      }
      case 'sample': {
        const active: Counts = {};
        for (const p of rt.pools.values()) for (const s of p.servers) active[`${p.name}/${s.name}`] = s.localActive;
        send({ t: 'reply', id: msg.id, ok: true, body: { tick: rt.telemetry.sampler.last, active } });
        return;
      }
      case 'metrics':
        void rt.telemetry.metrics.registry.getMetricsAsJSON().then(
          (body) => send({ t: 'reply', id: msg.id, ok: true, body }),
          (err: unknown) => send({ t: 'reply', id: msg.id, ok: false, message: String(err) }));
        return;
      case 'drain': void shutdown(msg.restart ? RESTART_REASON : DRAIN_REASON); return;
    }
  };

  let stopping = false;
  const shutdown = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await parts.close();   // this worker's rows stop here; the primary drops them when it exits
    log.info({ reason: why, tunnels: rt.tunnels.size }, 'worker draining');
    if (why === DRAIN_REASON || why === RESTART_REASON) {
      // Leave the shared listening socket first, finish the handshakes already accepted, then drain.
      balancer.stopAccepting();
      await new Promise((r) => setTimeout(r, Math.min(rt.config.timeouts.handshake, HANDOFF_MS)));
    }
    await balancer.close(undefined, why === RESTART_REASON ? CLOSE.SERVICE_RESTART : CLOSE.GOING_AWAY);
    if (process.connected) {
      // The primary keeps what this worker counted (src/cluster/tree-metrics.ts): the report is written before the exit.
      const body = await rt.telemetry.metrics.registry.getMetricsAsJSON();
      await new Promise<void>((resolve) => process.send!(tag({ t: 'final-metrics', body }), undefined, {}, () => resolve()));
    }
    process.exit(0);
  };

  process.on('disconnect', () => { void shutdown('primary gone'); });

  const started = (async () => {
    await balancer.start();
    send({ t: 'ready' });
    return balancer;
  })();
  return { onMessage, started };
}
