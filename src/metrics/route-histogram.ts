/** A per-route Prometheus histogram whose observations are plain array increments; prom-client reads the totals only when scraped. */

import { Histogram } from 'prom-client';

/** One route's series: a count per bucket (non-cumulative, the last one past every bound), the sum and the count. */
interface Series {
  readonly labels: { route: string };
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * prom-client's labelled observe() hashes the label object and validates it on every call (about a
 * microsecond); here record() finds the bucket and adds, and get() (what the registry calls for
 * /metrics and getMetricsAsJSON) returns the same values, names and labels, in the same order,
 * that a prom-client Histogram given the same observations returns. Exact at every scrape: no
 * sampling, no buffering. Only record() feeds it (observe() is not used on these series).
 */
export class RouteHistogram extends Histogram<'route'> {
  readonly #name: string;
  readonly #help: string;
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, Series>();

  constructor(opts: { name: string; help: string; buckets: readonly number[]; registers: import('prom-client').Registry[] }) {
    super({ name: opts.name, help: opts.help, labelNames: ['route'] as const, buckets: [...opts.buckets], registers: opts.registers });
    this.#name = opts.name;
    this.#help = opts.help;
    this.#bounds = [...opts.buckets].sort((a, b) => a - b);
  }

  /** One observation of `value` (seconds) for `route`. */
  record(route: string, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);   // as prom-client's observe()
    let s = this.#series.get(route);
    if (!s) this.#series.set(route, (s = { labels: { route }, counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 }));
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && !(value <= bounds[i]!)) i++;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  override reset(): void {
    super.reset();
    // The base constructor resets before this class's fields exist.
    if (#series in this) this.#series.clear();
  }

  /** What the registry's text exposition reads: the route as shared labels, as prom-client's own histogram gives it. */
  async getForPromString(): Promise<Awaited<ReturnType<Histogram<'route'>['get']>>> {
    return this.#export(false);
  }

  /** What getMetricsAsJSON (and so the cluster's merge) reads: route and le in one label set. */
  override async get(): Promise<Awaited<ReturnType<Histogram<'route'>['get']>>> {
    return this.#export(true);
  }

  #export(splay: boolean): Awaited<ReturnType<Histogram<'route'>['get']>> {
    const bucket = `${this.#name}_bucket`;
    const values: object[] = [];
    const push = (le: number | string | undefined, shared: { route: string }, value: number, metricName: string, exemplar: null | undefined): void => {
      const own: Record<string, string | number> = le === undefined ? {} : { le };
      if (splay) values.push({ value, metricName, exemplar, labels: { ...own, ...shared } });
      else values.push({ labels: own, sharedLabels: shared, value, metricName, exemplar });
    };
    for (const s of this.#series.values()) {
      let acc = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        acc += s.counts[i]!;
        push(this.#bounds[i]!, s.labels, acc, bucket, null);
      }
      push('+Inf', s.labels, s.count, bucket, null);
      push(undefined, s.labels, s.sum, `${this.#name}_sum`, undefined);
      push(undefined, s.labels, s.count, `${this.#name}_count`, undefined);
    }
    return { name: this.#name, help: this.#help, type: 'histogram', values, aggregator: 'sum' } as unknown as Awaited<ReturnType<Histogram<'route'>['get']>>;
  }
}
