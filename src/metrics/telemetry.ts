/** What the runtime reports to: connection events into metrics and logs, plus the once-a-second sampler the dashboard reads. */

import { ERRORS, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Server } from '../pool/server.js';
import type { Tunnel } from '../tunnel/tunnel.js';
import type { ExchangeAccess } from '../http/access.js';
import { AccessLog, type TunnelAccess } from './access-log.js';
import { answerClass, AnswerLog } from './answers.js';
import { Metrics } from './metrics.js';
import { RejectionLog } from './rejection-log.js';
import { Sampler } from './sampler.js';
import type { TelemetrySource } from './source.js';

export class Telemetry {
  readonly metrics: Metrics;
  readonly rejections: RejectionLog;
  readonly answers: AnswerLog;
  readonly sampler: Sampler;
  /** `log.access` lines (src/metrics/access-log.ts). */
  readonly access: AccessLog;
  readonly #log: Logger;

  constructor(rt: TelemetrySource, log: Logger) {
    this.#log = log;
    this.metrics = new Metrics(rt);
    this.rejections = new RejectionLog(log);
    this.answers = new AnswerLog(log);
    this.access = new AccessLog(log);
    const logs = { flush: (now: number): void => { this.rejections.flush(now); this.answers.flush(now); } };
    this.sampler = new Sampler(rt, this.metrics, logs);
  }

  start(): void {
    this.sampler.start();
  }

  stop(): void {
    this.sampler.stop();
  }

  /** At the 101. */
  upgraded(route: string, server: Server, ms: number): void {
    this.metrics.upgraded(route, server, ms / 1000);
  }

  /** A plain-HTTP exchange's request reached `server`: counted with the tunnels in `wslb_connections_*`. */
  exchangeOpened(route: string, server: Server): void {
    this.metrics.exchangeOpened(route, server);
  }

  /** That exchange ended (or moved to another server). */
  exchangeClosed(route: string, server: Server): void {
    this.metrics.exchangeClosed(route, server);
  }

  /** Every pre-upgrade refusal (route "" when none matched); `client`: the address as the per-IP limits see it, when known. */
  rejected(route: string, code: ErrorCode, client?: string): void {
    this.rejections.note(route, code, ERRORS[code].status, client);
  }

  /**
   * A server answered an upgrade without opening a tunnel: any status but 101, or a 101 that is
   * invalid (`why` says how). Counted on the server by class; logged rate-limited.
   */
  serverAnswered(route: string, server: Server, status: number, why?: string): void {
    const cls = why === undefined ? answerClass(status) : 'invalid';
    server.answers[cls] = (server.answers[cls] ?? 0) + 1;
    this.answers.note(route, server.pool, server.name, status, cls, why);
  }

  /** A plain-HTTP exchange that reached a server ended (only while log.access is on). */
  exchangeEnded(facts: ExchangeAccess): void {
    this.access.exchange(facts);
  }

  /** Once per tunnel, after both sockets closed; `access`: what the upgrade kept for the access line (taken while log.access was on). */
  closed(route: string, t: Tunnel, access?: TunnelAccess | null): void {
    if (access) this.access.tunnel(route, t, access);
    const ms = performance.now() - t.openedAt;
    const close = t.lastClose;
    this.metrics.closed(route, t.server, close, ms / 1000);
    if (this.#log.isLevelEnabled('debug')) {
      const bytes = t.bytesWritten;
      this.#log.debug({
        route, pool: t.server.pool, server: t.server.name, duration_ms: Math.round(ms),
        bytes_upstream: bytes.upstream, bytes_downstream: bytes.downstream,
        code: close?.code ?? null, by: close?.by ?? null,
      }, 'tunnel closed');
    }
  }
}
