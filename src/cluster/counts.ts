/** Per-server numbers as plain records keyed `pool/server` (the richer per-server figures workers and instances exchange are in farm-view.ts). */

export type Counts = Record<string, number>;

export function serverKey(pool: string, server: string): string {
  return `${pool}/${server}`;
}
