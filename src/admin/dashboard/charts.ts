/**
 * The dashboard's drawing and number-formatting helpers, a self-contained function like
 * client.ts: served as `(${dashboardCharts})()` and handed to the client script. Charts are
 * polylines in a stretched SVG viewBox (non-scaling strokes); their labels are HTML.
 */

export interface Series {
  readonly color: string;
  /** [epoch ms, value], oldest first */
  readonly points: readonly (readonly [number, number])[];
}

export type DashboardCharts = ReturnType<typeof dashboardCharts>;

/* c8 ignore start */
export function dashboardCharts() {
  // The charts show the last 5 minutes, or everything since the history began when that is shorter (at least 1 minute).
  const MAX_WINDOW_MS = 5 * 60 * 1000;
  const MIN_WINDOW_MS = 60 * 1000;
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const W = 600;
  const H = 120;

  function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  }

  function fmtBytes(n: number, suffix = ''): string {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}${suffix}`;
  }

  function fmtNum(n: number): string {
    if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
    if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
    return Number.isInteger(n) ? String(n) : n.toFixed(1);
  }

  function niceCeil(x: number): number {
    const p = 10 ** Math.floor(Math.log10(x));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
    return 10 * p;
  }

  /** An empty chart: the SVG with three grid lines, for `draw` to fill. */
  function chartSvg(kind: string): SVGSVGElement {
    const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', 'data-chart': kind, role: 'img' }) as SVGSVGElement;
    for (const y of [0, H / 2, H]) s.append(svg('line', { x1: 0, x2: W, y1: y, y2: y, class: 'grid', 'vector-effect': 'non-scaling-stroke' }));
    return s;
  }

  /**
   * Redraws `chart` with one line per series over the window ending at `end` (server time, so
   * the browser's clock does not matter); `first` is the oldest sample's time. The y scale is a
   * round number at least `minMax`; the figure's `.ymax` and `.xstart` labels are updated.
   */
  function draw(chart: SVGSVGElement | null, series: readonly Series[], end: number, first: number, fmt: (v: number) => string, minMax: number): void {
    if (!chart) return;
    const windowMs = Math.min(MAX_WINDOW_MS, Math.max(MIN_WINDOW_MS, end - first));
    const start = end - windowMs;
    let max = minMax;
    for (const s of series) for (const [t, v] of s.points) if (t >= start && v > max) max = v;
    max = niceCeil(max);
    for (const old of chart.querySelectorAll('polyline')) old.remove();
    for (const s of series) {
      const pts = s.points.filter(([t]) => t >= start)
        .map(([t, v]) => `${(((t - start) / windowMs) * W).toFixed(1)},${(H - (v / max) * (H - 4)).toFixed(1)}`);
      if (pts.length === 0) continue;
      if (pts.length === 1) pts.push(`${W},${pts[0]!.split(',')[1]}`);
      chart.append(svg('polyline', { points: pts.join(' '), fill: 'none', stroke: s.color, 'stroke-width': 2, 'vector-effect': 'non-scaling-stroke', 'stroke-linejoin': 'round' }));
    }
    const label = chart.parentElement?.querySelector('.ymax');
    if (label) label.textContent = `max ${fmt(max)}`;
    const from = chart.parentElement?.querySelector('.xstart');
    const minutes = windowMs / 60_000;
    if (from) from.textContent = `-${minutes >= 1.5 ? `${Math.round(minutes * 2) / 2} min` : `${Math.round(windowMs / 1000)} s`}`;
  }

  return { chartSvg, draw, fmtBytes, fmtNum };
}
/* c8 ignore stop */
