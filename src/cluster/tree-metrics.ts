/**
 * The primary's /metrics for a process tree: the workers' counters and histograms summed and
 * kept across worker exits (a served counter never goes down), gauges from live workers only,
 * the primary's own registry (src/cluster/primary-metrics.ts: its process_* and nodejs_* series, the
 * tree's reloads and health checks), and each current worker's process series labelled `worker="N"`.
 */

import type { Worker } from 'node:cluster';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';
import { UNLINTED_DEFAULTS } from '../metrics/metrics.js';
import { PRIMARY_ONLY } from './primary-metrics.js';
import { outranks } from './status-merge.js';
import type { Supervisor } from './supervisor.js';

/** One series as prom-client's getMetricsAsJSON gives it (histograms name each series in `metricName`). */
interface Value { value: number; labels: Record<string, string | number>; metricName?: string }
/** One metric as it crosses the IPC channel (`type` is the string prom-client writes, not its typings' enum). */
export interface Metric { name: string; help: string; type: string; aggregator: string; values: Value[] }

/**
 * How often the primary samples every worker's metrics besides scrapes. Counts a worker makes
 * after its last sample are lost if it is killed without warning (a planned exit reports them).
 */
export const SAMPLE_MS = 1000;
const ASK_MS = 2000;
/** Per-process series: summing them over processes means nothing (process_max_fds twice). */
const PER_PROCESS = /^(process_|nodejs_)/;
/** Series no worker's sample contributes: the primary's own replace them, or `promtool check metrics` refuses them (gauges named `_total`). */
const DROPPED = new Set([...PRIMARY_ONLY, ...UNLINTED_DEFAULTS]);
const STATE = 'wslb_server_state';

interface Seen {
  readonly slot: number;
  sample: Metric[];
  /** Requests numbered: an answer older than the sample held is dropped (values only go up). */
  asked: number;
  answered: number;
}

function seriesKey(v: Value): string {
  const labels = Object.keys(v.labels).sort().map((k) => `${k}=${String(v.labels[k])}`).join(',');
  return `${v.metricName ?? ''}{${labels}}`;
}

/** `a` + `b` series by series (counters and histograms: buckets, _sum and _count alike). */
function addMetric(a: Metric, b: Metric): Metric {
  const values = new Map(a.values.map((v) => [seriesKey(v), { ...v }]));
  for (const v of b.values) {
    const into = values.get(seriesKey(v));
    if (into) into.value += v.value;
    else values.set(seriesKey(v), { ...v });
  }
  return { ...a, values: [...values.values()] };
}

function labelled(m: Metric, worker: string): Metric {
  // Label sets are disjoint per process, so 'sum' leaves each series as it is (prom-client's own aggregator would omit some, e.g. process_start_time_seconds).
  return { ...m, aggregator: 'sum', values: m.values.map((v) => ({ ...v, labels: { ...v.labels, worker } })) };
}

/**
 * The live workers' one-hot wslb_server_state as one: per server, the state the merged /status shows
 * (outranks(): up in any worker is up), so exactly one series per server is 1 (a max would set both
 * `up` and `ejected` while only one worker ejected it).
 */
function oneState(metrics: readonly Metric[]): Metric | null {
  if (!metrics[0]) return null;
  const servers = new Map<string, { labels: Record<string, string | number>; states: Set<string>; winner: string | null }>();
  for (const m of metrics) {
    for (const v of m.values) {
      const k = `${String(v.labels['pool'])}\0${String(v.labels['server'])}`;
      let e = servers.get(k);
      if (!e) servers.set(k, (e = { labels: { pool: v.labels['pool']!, server: v.labels['server']! }, states: new Set(), winner: null }));
      const state = String(v.labels['state']);
      e.states.add(state);
      if (v.value === 1 && (e.winner === null || outranks(state, e.winner))) e.winner = state;
    }
  }
  const values: Value[] = [];
  for (const e of servers.values()) for (const state of e.states) values.push({ labels: { ...e.labels, state }, value: state === e.winner ? 1 : 0 });
  return { ...metrics[0], aggregator: 'max', values };
}

export class TreeMetrics {
  readonly #sup: Supervisor;
  readonly #own: Registry;
  readonly #seen = new Map<Worker, Seen>();
  /** Counters and histograms of the workers that exited, summed: the floor the served values start from. */
  readonly #departed = new Map<string, Metric>();
  #timer: NodeJS.Timeout | null = null;
  #sampling = false;

  /** `own`: the primary's registry (src/cluster/primary-metrics.ts). */
  constructor(supervisor: Supervisor, own: Registry) {
    this.#sup = supervisor;
    this.#own = own;
  }

  start(): void {
    this.#timer = setInterval(() => {
      if (this.#sampling) return;
      this.#sampling = true;
      void this.#sampleAll().finally(() => { this.#sampling = false; });
    }, SAMPLE_MS);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /**
   * Follows a worker from its hello (it counts nothing before it listens). Its last sample joins
   * the departed counts at its process's 'close': after the exit and after the channel's end was
   * read, so every message it sent (its report at a planned exit included) has arrived. ('disconnect'
   * is not enough: Node never emits it for a worker killed with a connection hand-off in flight.)
   */
  welcome(w: Worker, slot: number): void {
    if (this.#seen.has(w)) return;
    const seen: Seen = { slot, sample: [], asked: 0, answered: 0 };
    this.#seen.set(w, seen);
    w.process.once('close', () => this.#fold(w, seen));
  }

  /** A worker's report at its planned exit (the last thing it sends). */
  record(w: Worker, sample: unknown): void {
    const seen = this.#seen.get(w);
    if (seen && Array.isArray(sample)) { seen.sample = sample as Metric[]; seen.answered = Infinity; }
  }

  /** The tree's exposition: every live worker asked now; one that does not answer counts with its last sample. */
  async text(): Promise<{ body: string; contentType: string }> {
    await this.#sampleAll();
    const current = new Set(this.#sup.workers);
    const parts: Metric[][] = [[...this.#departed.values()]];
    const states: Metric[] = [];
    for (const [w, seen] of this.#seen) {
      const live = !w.isDead();
      const sample = seen.sample.filter((m) => !DROPPED.has(m.name));
      if (live) states.push(...sample.filter((m) => m.name === STATE));
      // A worker between its exit and its channel's close: its counters count, its gauges are gone.
      parts.push(sample.filter((m) => !PER_PROCESS.test(m.name) && m.name !== STATE && (live || m.type !== 'gauge')));
      // A rolling restart's old worker (still draining) shares its slot number with the new one: only the current one is shown.
      if (live && current.has(w)) parts.push(sample.filter((m) => PER_PROCESS.test(m.name)).map((m) => labelled(m, String(seen.slot))));
    }
    const state = oneState(states);
    if (state) parts.push([state]);
    parts.push((await this.#own.getMetricsAsJSON() as unknown as Metric[]).map((m) => ({ ...m, aggregator: 'sum' })));
    const registry = AggregatorRegistry.aggregate(parts as unknown as MetricObjectWithValues<MetricValue<string>>[][]);
    return { body: await registry.metrics(), contentType: registry.contentType };
  }

  /**
   * Whether a live worker's last sample lists a server of `pool` named `server` (its health-check
   * series: every listed server has one). True while no live worker has a sample yet.
   */
  listed(pool: string, server: string): boolean {
    let sampled = false;
    for (const [w, seen] of this.#seen) {
      if (w.isDead()) continue;
      const m = seen.sample.find((x) => x.name === 'wslb_health_check_failures_total');
      if (!m) continue;
      sampled = true;
      if (m.values.some((v) => v.labels['pool'] === pool && v.labels['server'] === server)) return true;
    }
    return !sampled;
  }

  async #sampleAll(): Promise<void> {
    await Promise.all([...this.#seen].map(async ([w, seen]) => {
      if (w.isDead() || !w.isConnected()) return;
      const n = ++seen.asked;
      const reply = await this.#sup.ask(w, { t: 'metrics' }, ASK_MS);
      if (reply?.ok && Array.isArray(reply.body) && n > seen.answered) { seen.sample = reply.body as Metric[]; seen.answered = n; }
    }));
  }

  #fold(w: Worker, seen: Seen): void {
    this.#seen.delete(w);
    for (const m of seen.sample) {
      if (PER_PROCESS.test(m.name) || DROPPED.has(m.name) || (m.type !== 'counter' && m.type !== 'histogram')) continue;
      const into = this.#departed.get(m.name);
      this.#departed.set(m.name, into ? addMetric(into, m) : addMetric({ ...m, values: [] }, m));
    }
  }
}
