/** Per-server distribution from a balancer's /status (wslb's shape), for the report. */

export interface ServerShare {
  pool: string;
  name: string;
  active: number;
  total: number;
}

interface StatusJson {
  pools?: Record<string, { servers?: { name?: string; active?: number; total?: number }[] }>;
}

export function serversFromStatus(status: StatusJson): ServerShare[] {
  const out: ServerShare[] = [];
  for (const [pool, p] of Object.entries(status.pools ?? {})) {
    for (const s of p.servers ?? []) out.push({ pool, name: s.name ?? '?', active: s.active ?? 0, total: s.total ?? 0 });
  }
  return out;
}

export async function fetchServers(url: string): Promise<ServerShare[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return serversFromStatus((await res.json()) as StatusJson);
}
