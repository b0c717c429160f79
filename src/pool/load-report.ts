/** Turns one load report (HTTP JSON body or SNMP values) into a score, plus the agent-style `drain` / `weight` it may carry. */

export interface LoadReport {
  /** Lower is less loaded. */
  readonly score: number;
  readonly drain: boolean;
  /** A weight the server asks for (HAProxy agent-check style); undefined keeps the configured one. */
  readonly weight?: number;
}

/**
 * A bare number is a percentage 0-100 and scores number / 100, whatever the formula. An object
 * of numbers scores sum(formula[k] x value[k]) when `formula` is set (every named field must be
 * present), else the mean of its numeric fields; `drain` (boolean) and `weight` (number >= 0)
 * are read apart and never scored. Throws an Error naming what is wrong with the report.
 */
export function scoreReport(body: unknown, formula?: Readonly<Record<string, number>>): LoadReport {
  if (typeof body === 'number') {
    if (!(body >= 0 && body <= 100)) throw new Error(`bare load must be a number from 0 to 100, got ${body}`);
    return { score: body / 100, drain: false };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new Error('a load report must be a number 0-100 or an object of numbers');
  }
  const fields = body as Record<string, unknown>;
  const drain = fields['drain'] === true;
  const w = fields['weight'];
  if (w !== undefined && !(typeof w === 'number' && w >= 0 && Number.isFinite(w))) throw new Error('"weight" must be a number >= 0');
  const extra = w === undefined ? { drain } : { drain, weight: w };
  if (formula) {
    let score = 0;
    for (const [k, factor] of Object.entries(formula)) {
      const v = fields[k];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`report lacks numeric field "${k}"`);
      score += factor * v;
    }
    return { score, ...extra };
  }
  let sum = 0;
  let n = 0;
  for (const [k, v] of Object.entries(fields)) {
    if (k === 'weight' || typeof v !== 'number' || !Number.isFinite(v)) continue;
    sum += v;
    n++;
  }
  if (n === 0) throw new Error('report has no numeric field to score');
  return { score: sum / n, ...extra };
}
