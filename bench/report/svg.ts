/** Inline SVG charts for the HTML report (no scripts, no CDN): line charts and bar charts. */

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

export interface Tick {
  value: number;
  label: string;
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  xTicks?: Tick[];
  /** A shaded x range with a label (the measured window). */
  band?: { from: number; to: number; label: string };
  width?: number;
  height?: number;
}

const M = { left: 64, right: 16, top: 28, bottom: 40 };

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** About five round tick values from 0 to max. */
export function niceTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / 5;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(Math.round(v * 1e6) / 1e6);
  if (out[out.length - 1]! < max) out.push(Math.round((out[out.length - 1]! + step) * 1e6) / 1e6);
  return out;
}

const fmt = (v: number): string => (Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : String(Math.round(v * 1000) / 1000));

export function lineChart(spec: LineChartSpec): string {
  const W = spec.width ?? 720;
  const H = spec.height ?? 280;
  const pts = spec.series.flatMap((s) => s.points);
  if (pts.length === 0) return `<p class="empty">${escapeXml(spec.title)}: no data</p>`;
  const xMin = Math.min(...pts.map((p) => p[0]));
  const xMax = Math.max(...pts.map((p) => p[0]), xMin + 1e-9);
  const yTicks = niceTicks(Math.max(...pts.map((p) => p[1])));
  const yMax = yTicks[yTicks.length - 1]!;
  const x = (v: number): number => M.left + ((v - xMin) / (xMax - xMin)) * (W - M.left - M.right);
  const y = (v: number): number => H - M.bottom - (v / yMax) * (H - M.top - M.bottom);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeXml(spec.title)}">`];
  out.push(`<text x="${W / 2}" y="16" text-anchor="middle" class="title">${escapeXml(spec.title)}</text>`);
  for (const t of yTicks) {
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" class="grid"/>`);
    out.push(`<text x="${M.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
  }
  if (spec.band && spec.band.to > spec.band.from) {
    const x0 = x(Math.max(xMin, spec.band.from));
    const x1 = x(Math.min(xMax, spec.band.to));
    out.push(`<rect x="${x0.toFixed(1)}" y="${M.top}" width="${Math.max(0, x1 - x0).toFixed(1)}" height="${H - M.top - M.bottom}" fill="#f2f6fb"/>`);
    out.push(`<text x="${(x1 - 4).toFixed(1)}" y="${M.top + 22}" text-anchor="end" class="axis">${escapeXml(spec.band.label)}</text>`);
  }
  const xTicks = spec.xTicks ?? niceTicks(xMax).filter((v) => v >= xMin).map((v) => ({ value: v, label: fmt(v) }));
  for (const t of xTicks) {
    if (t.value < xMin || t.value > xMax + 1e-9) continue;
    out.push(`<text x="${x(t.value).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle">${escapeXml(t.label)}</text>`);
  }
  out.push(`<text x="${W / 2}" y="${H - 6}" text-anchor="middle" class="axis">${escapeXml(spec.xLabel)}</text>`);
  out.push(`<text x="14" y="${H / 2}" text-anchor="middle" class="axis" transform="rotate(-90 14 ${H / 2})">${escapeXml(spec.yLabel)}</text>`);
  let legendX = M.left + 8;
  for (const s of spec.series) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p, k) => `${k ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join('');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    out.push(`<rect x="${legendX}" y="${M.top - 4}" width="10" height="10" fill="${s.color}"/><text x="${legendX + 14}" y="${M.top + 5}">${escapeXml(s.name)}</text>`);
    legendX += 34 + s.name.length * 6.5;   // about 6.5 px per character at 11 px
  }
  out.push('</svg>');
  return out.join('');
}

export function barChart(title: string, yLabel: string, bars: { label: string; value: number }[], width = 720, height = 260): string {
  if (bars.length === 0) return `<p class="empty">${escapeXml(title)}: no data</p>`;
  const yTicks = niceTicks(Math.max(...bars.map((b) => b.value)));
  const yMax = yTicks[yTicks.length - 1]!;
  const y = (v: number): number => height - M.bottom - (v / yMax) * (height - M.top - M.bottom);
  const slot = (width - M.left - M.right) / bars.length;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(title)}">`];
  out.push(`<text x="${width / 2}" y="16" text-anchor="middle" class="title">${escapeXml(title)}</text>`);
  for (const t of yTicks) {
    out.push(`<line x1="${M.left}" x2="${width - M.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" class="grid"/>`);
    out.push(`<text x="${M.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
  }
  bars.forEach((b, i) => {
    const x0 = M.left + i * slot + slot * 0.15;
    out.push(`<rect x="${x0.toFixed(1)}" y="${y(b.value).toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${(y(0) - y(b.value)).toFixed(1)}" fill="#4c78a8"/>`);
    out.push(`<text x="${(x0 + slot * 0.35).toFixed(1)}" y="${height - M.bottom + 16}" text-anchor="middle">${escapeXml(b.label)}</text>`);
    out.push(`<text x="${(x0 + slot * 0.35).toFixed(1)}" y="${(y(b.value) - 4).toFixed(1)}" text-anchor="middle">${fmt(b.value)}</text>`);
  });
  out.push(`<text x="14" y="${height / 2}" text-anchor="middle" class="axis" transform="rotate(-90 14 ${height / 2})">${escapeXml(yLabel)}</text>`);
  out.push('</svg>');
  return out.join('');
}
