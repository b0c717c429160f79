/**
 * The primary's /metrics for a process tree: the workers' counters and histograms summed and
 * kept across worker exits (a served counter never goes down), gauges from live workers only,
 * the primary's own process_* and nodejs_* series, and each current worker's labelled `worker="N"`.
 */

import type { Worker } from 'node:cluster';
import { AggregatorRegistry, collectDefaultMetrics, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
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

export class TreeMetrics {
  readonly #sup: Supervisor;
  readonly #own = new Registry();
  readonly #seen = new Map<Worker, Seen>();
  /** Counters and histograms of the workers that exited, summed: the floor the served values start from. */
  readonly #departed = new Map<string, Metric>();
  #timer: NodeJS.Timeout | null = null;
  #sampling = false;

  constructor(supervisor: Supervisor) {
    this.#sup = supervisor;
    collectDefaultMetrics({ register: this.#own });
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
    for (const [w, seen] of this.#seen) {
      const live = !w.isDead();
      // A worker between its exit and its channel's close: its counters count, its gauges are gone.
      parts.push(seen.sample.filter((m) => !PER_PROCESS.test(m.name) && (live || m.type !== 'gauge')));
      // A rolling restart's old worker (still draining) shares its slot number with the new one: only the current one is shown.
      if (live && current.has(w)) parts.push(seen.sample.filter((m) => PER_PROCESS.test(m.name)).map((m) => labelled(m, String(seen.slot))));
    }
    parts.push((await this.#own.getMetricsAsJSON() as unknown as Metric[]).map((m) => ({ ...m, aggregator: 'sum' })));
    const registry = AggregatorRegistry.aggregate(parts as unknown as MetricObjectWithValues<MetricValue<string>>[][]);
    return { body: await registry.metrics(), contentType: registry.contentType };
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
      if (PER_PROCESS.test(m.name) || (m.type !== 'counter' && m.type !== 'histogram')) continue;
      const into = this.#departed.get(m.name);
      this.#departed.set(m.name, into ? addMetric(into, m) : addMetric({ ...m, values: [] }, m));
    }
  }
}
