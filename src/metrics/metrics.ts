/** The Prometheus metrics of one balancer: its own registry (several balancers share a test process), the documented metric table, and the per-connection events that feed it. */

import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Server, ServerState } from '../pool/server.js';
import type { Http2Counts, TelemetrySource } from './source.js';
import { VERSION } from '../version.js';
import type { CloseBy } from '../tunnel/tunnel.js';
import { ANSWER_CLASSES } from './answers.js';
import { closeCodeLabel } from './close-code.js';
import { RouteHistogram } from './route-histogram.js';

// Cost model (measured): a labelled update costs ~0.3-0.6 us, so prom-client is touched at most
// once per connection event (101, close). Bytes, messages and active counts stay plain numbers
// on Server / Runtime and are copied into the registry by `collect()` when Prometheus scrapes.

/** prom-client defaults that are gauges with a `_total` name. */
export const UNLINTED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];
const SERVER_STATES: readonly ServerState[] = ['up', 'down', 'draining', 'disabled', 'ejected'];

const HANDSHAKE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DURATION_BUCKETS = [0.1, 1, 10, 60, 300, 900, 1800, 3600, 7200, 21600, 86400];

/** Established tunnels of one route on one server (the route x server pair the metrics label). */
interface RouteServerCount {
  readonly route: string;
  readonly pool: string;
  readonly server: string;
  active: number;
  total: number;
}

/**
 * prom-client's process and Node.js metrics, less three gauges named like counters
 * (`promtool check metrics` refuses them); the per-type gauges nodejs_active_handles,
 * nodejs_active_requests and nodejs_active_resources stay, and sum() over `type` gives the totals.
 * Every registry that serves /metrics (a cluster primary's own included) registers them this way.
 */
export function registerDefaultMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of UNLINTED_DEFAULTS) registry.removeSingleMetric(name);
}

export class Metrics {
  readonly registry = new Registry();
  /** pool -> close code label -> closes: plain counts, read at scrape time and by the dashboard's rates. */
  readonly closes = new Map<string, Map<string, number>>();
  readonly #rt: TelemetrySource;
  readonly #conns = new Map<string, RouteServerCount>();
  readonly #handshake: RouteHistogram;
  readonly #duration: RouteHistogram;

  constructor(rt: TelemetrySource) {
    this.#rt = rt;
    const registers = [this.registry];
    registerDefaultMetrics(this.registry);
    const metrics = this;

    new Gauge({
      name: 'wslb_connections_active', help: 'Established tunnels (after the 101) and plain-HTTP exchanges in flight, by route and server.',
      labelNames: ['route', 'pool', 'server'] as const, registers,
      collect() {
        this.reset();
        for (const c of metrics.#liveCounts()) this.set({ route: c.route, pool: c.pool, server: c.server }, c.active);
      },
    });
    new Counter({
      name: 'wslb_connections_total', help: 'Tunnels established (101 relayed) and plain-HTTP exchanges sent to a server, by route and server.',
      labelNames: ['route', 'pool', 'server'] as const, registers,
      collect() {
        this.reset();
        for (const c of metrics.#liveCounts()) this.inc({ route: c.route, pool: c.pool, server: c.server }, c.total);
      },
    });
    new Counter({
      name: 'wslb_handshake_failures_total', help: 'Upgrades refused before the 101, by route ("" when none matched) and error code.',
      labelNames: ['route', 'reason'] as const, registers,
      collect() {
        this.reset();
        for (const [route, s] of rt.routeStats) for (const [reason, n] of s.rejections) this.inc({ route, reason }, n);
      },
    });
    // Observed once per connection: plain increments, folded into the registry's answer at scrape time.
    this.#handshake = new RouteHistogram({
      name: 'wslb_handshake_duration_seconds', help: 'Client upgrade request received to 101 relayed, by route.',
      buckets: HANDSHAKE_BUCKETS, registers,
    });
    this.#duration = new RouteHistogram({
      name: 'wslb_connection_duration_seconds', help: 'Tunnel lifetime, 101 to both sockets closed, by route.',
      buckets: DURATION_BUCKETS, registers,
    });
    new Counter({
      name: 'wslb_bytes_total', help: 'Bytes tunnelled: upstream = client to server, downstream = server to client.',
      labelNames: ['pool', 'server', 'direction'] as const, registers,
      collect() {
        this.reset();
        for (const s of metrics.servers()) {
          this.inc({ pool: s.pool, server: s.name, direction: 'upstream' }, s.bytesIn);
          this.inc({ pool: s.pool, server: s.name, direction: 'downstream' }, s.bytesOut);
        }
      },
    });
    new Counter({
      name: 'wslb_messages_total', help: 'WebSocket messages tunnelled (counted from frame headers), by direction.',
      labelNames: ['pool', 'server', 'direction'] as const, registers,
      collect() {
        this.reset();
        for (const s of metrics.servers()) {
          this.inc({ pool: s.pool, server: s.name, direction: 'upstream' }, s.messagesIn);
          this.inc({ pool: s.pool, server: s.name, direction: 'downstream' }, s.messagesOut);
        }
      },
    });
    new Counter({
      name: 'wslb_closes_total', help: 'Tunnels closed, by the code of the first close frame (sent by either end or the balancer); 1006 when none was seen.',
      labelNames: ['pool', 'code'] as const, registers,
      collect() {
        this.reset();
        for (const [pool, codes] of metrics.closes) for (const [code, n] of codes) this.inc({ pool, code }, n);
      },
    });
    new Gauge({
      name: 'wslb_server_up', help: '1 when the server takes new tunnels (state "up"), else 0.',
      labelNames: ['pool', 'server'] as const, registers, aggregator: 'max',   // workers > 1: not summed
      collect() {
        this.reset();
        for (const s of metrics.servers()) this.set({ pool: s.pool, server: s.name }, s.ready ? 1 : 0);
      },
    });
    new Gauge({
      name: 'wslb_server_state', help: 'The server\'s state, one-hot: 1 for the current one of up, down, draining, disabled, ejected.',
      labelNames: ['pool', 'server', 'state'] as const, registers, aggregator: 'max',
      collect() {
        this.reset();
        for (const s of metrics.servers()) {
          const now = s.state;
          for (const state of SERVER_STATES) this.set({ pool: s.pool, server: s.name, state }, state === now ? 1 : 0);
        }
      },
    });
    new Counter({
      name: 'wslb_health_check_failures_total', help: 'Active health checks that failed (each probe; `fall` of them in a row mark the server down).',
      labelNames: ['pool', 'server'] as const, registers,
      collect() {
        this.reset();
        for (const s of metrics.servers()) this.inc({ pool: s.pool, server: s.name }, s.checkFailures);
      },
    });
    new Counter({
      name: 'wslb_server_ejections_total', help: 'Outlier ejections (consecutive upgrade failures took the server out for a while).',
      labelNames: ['pool', 'server'] as const, registers,
      collect() {
        this.reset();
        for (const s of metrics.servers()) this.inc({ pool: s.pool, server: s.name }, s.ejectionsTotal);
      },
    });
    new Gauge({
      name: 'wslb_build_info', help: 'Always 1; the labels name the wslb version and the Node.js runtime.',
      labelNames: ['version', 'node'] as const, registers, aggregator: 'max',
    }).set({ version: VERSION, node: process.version }, 1);
    new Gauge({
      name: 'wslb_server_rtt_seconds', help: 'Last measured health-check / response round trip.',
      labelNames: ['pool', 'server'] as const, registers, aggregator: 'average',
      collect() {
        this.reset();
        for (const s of metrics.servers()) this.set({ pool: s.pool, server: s.name }, s.rtt / 1000);
      },
    });
    new Gauge({
      name: 'wslb_server_load', help: 'Load score (custom-load: reported by the server; lower is less loaded).',
      labelNames: ['pool', 'server'] as const, registers, aggregator: 'average',
      collect() {
        this.reset();
        for (const s of metrics.servers()) this.set({ pool: s.pool, server: s.name }, s.load);
      },
    });
    new Counter({
      name: 'wslb_config_reloads_total', help: 'Configuration reloads (SIGHUP, POST /reload) by result.',
      labelNames: ['result'] as const, registers,
      collect() {
        this.reset();
        this.inc({ result: 'ok' }, rt.reloads.ok);
        this.inc({ result: 'ok_restart_required' }, rt.reloads.ok_restart_required);
        this.inc({ result: 'error' }, rt.reloads.error);
      },
    });
    // Extensions (README "Metrics").
    new Counter({
      name: 'wslb_server_connect_failures_total', help: 'TCP/TLS connects to a server that failed (each retried elsewhere when possible).',
      labelNames: ['pool', 'server'] as const, registers,
      collect() {
        this.reset();
        for (const s of metrics.servers()) this.inc({ pool: s.pool, server: s.name }, s.connectFailures);
      },
    });
    new Counter({
      name: 'wslb_server_responses_total', help: 'Server answers to upgrades that opened no tunnel, by status class (2xx..5xx; invalid: a 101 the balancer refused).',
      labelNames: ['pool', 'server', 'class'] as const, registers,
      collect() {
        this.reset();
        // Every class from 0, so rate() and alerts see a series before the first bad answer.
        for (const s of metrics.servers()) for (const cls of ANSWER_CLASSES) this.inc({ pool: s.pool, server: s.name, class: cls }, s.answers[cls] ?? 0);
      },
    });
    new Gauge({
      name: 'wslb_handshakes_in_flight', help: 'Upgrades admitted and not yet tunnelled or refused.',
      registers,
      collect() { this.set(rt.pendingHandshakes); },
    });
    // HTTP/2 (listeners with http2: true): what arrived over it. Its tunnels and exchanges are counted in the series above too.
    const h2 = (read: (c: Http2Counts) => number): number => (rt.http2 ? read(rt.http2) : 0);
    new Gauge({ name: 'wslb_http2_sessions_active', help: 'HTTP/2 connections open (TLS listeners with http2: true).', registers, collect() { this.set(h2((c) => c.sessions)); } });
    new Counter({ name: 'wslb_http2_sessions_total', help: 'HTTP/2 connections accepted.', registers, collect() { this.reset(); this.inc(h2((c) => c.sessionsTotal)); } });
    new Gauge({ name: 'wslb_http2_tunnels_active', help: 'Tunnels open whose client came over HTTP/2 (extended CONNECT).', registers, collect() { this.set(h2((c) => c.tunnels)); } });
    new Counter({ name: 'wslb_http2_tunnels_total', help: 'Tunnels established over HTTP/2 (:status 200 sent for the server\'s 101).', registers, collect() { this.reset(); this.inc(h2((c) => c.tunnelsTotal)); } });
    new Gauge({ name: 'wslb_http2_exchanges_active', help: 'Plain-HTTP requests over HTTP/2 on http: true routes, open now.', registers, collect() { this.set(h2((c) => c.exchanges)); } });
    new Counter({ name: 'wslb_http2_exchanges_total', help: 'Plain-HTTP requests over HTTP/2 handed to the proxy on http: true routes.', registers, collect() { this.reset(); this.inc(h2((c) => c.exchangesTotal)); } });
  }

  /** Every server that may hold tunnels: pool members and removed ones still draining (also of a removed pool). */
  *servers(): Generator<Server> {
    for (const pool of this.#rt.listedPools()) yield* pool.servers;
  }

  /** At the 101 (once per connection). */
  upgraded(route: string, server: Server, seconds: number): void {
    const c = this.#count(route, server);
    c.active++;
    c.total++;
    this.#handshake.record(route, seconds);
  }

  /** A plain-HTTP exchange reached `server` (README "Metrics": no histogram, no close code). */
  exchangeOpened(route: string, server: Server): void {
    const c = this.#count(route, server);
    c.active++;
    c.total++;
  }

  exchangeClosed(route: string, server: Server): void {
    this.#count(route, server).active--;
  }

  /** After a tunnel's both sockets closed (once per connection). */
  closed(route: string, server: Server, close: { code: number; by: CloseBy } | undefined, seconds: number): void {
    this.#count(route, server).active--;
    this.#duration.record(route, seconds);
    const code = closeCodeLabel(close?.code);
    let codes = this.closes.get(server.pool);
    if (!codes) this.closes.set(server.pool, (codes = new Map()));
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }

  /** Prometheus text exposition of this balancer's registry. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  #count(route: string, server: Server): RouteServerCount {
    const key = `${route}\0${server.pool}\0${server.name}`;
    let c = this.#conns.get(key);
    if (!c) this.#conns.set(key, (c = { route, pool: server.pool, server: server.name, active: 0, total: 0 }));
    return c;
  }

  /** Route x server counts, pruning idle pairs whose server left the config (bounded cardinality after reloads). */
  *#liveCounts(): Generator<RouteServerCount> {
    let present: Set<string> | null = null;
    for (const [key, c] of this.#conns) {
      if (c.active <= 0) {
        present ??= new Set([...this.servers()].map((s) => `${s.pool}\0${s.name}`));
        if (!present.has(`${c.pool}\0${c.server}`)) { this.#conns.delete(key); continue; }
      }
      yield c;
    }
  }
}
