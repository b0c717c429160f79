/** Test helper: parses Prometheus text exposition into `name{k="v",...}` -> value (labels sorted), and TYPE lines. */

export interface Scrape {
  readonly values: Map<string, number>;
  readonly types: Map<string, string>;
  /** value of `name` with exactly these labels (order-free), or undefined */
  get(name: string, labels?: Record<string, string>): number | undefined;
  /** every series of a metric: labels and value */
  series(name: string): { labels: Record<string, string>; value: number }[];
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function key(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`);
  return parts.length ? `${name}{${parts.join(',')}}` : name;
}

export function parseProm(text: string): Scrape {
  const values = new Map<string, number>();
  const types = new Map<string, string>();
  const byName = new Map<string, { labels: Record<string, string>; value: number }[]>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) { const [, , n, t] = line.split(' '); types.set(n!, t!); continue; }
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!;
    const value = Number(m[3]);
    values.set(key(m[1]!, labels), value);
    let list = byName.get(m[1]!);
    if (!list) byName.set(m[1]!, (list = []));
    list.push({ labels, value });
  }
  return {
    values, types,
    get: (name, labels) => values.get(key(name, labels)),
    series: (name) => byName.get(name) ?? [],
  };
}
