/** Zod schema of one entry of `pools:` (servers, health, discovery, load reports, upstream TLS), normalized to PoolConfig. */
import * as z from 'zod';
import { algorithmSchema } from './algorithm.js';
import { count, duration, filePath, httpPath, name, port, rate, type SchemaContext } from './fields.js';
import type { ServerConfig } from './types.js';

/** Splits a `ws://` / `wss://` server URL into host, port and tls; returns an error message instead when it is not one. */
export function parseServerUrl(url: string): { host: string; port: number; tls: boolean } | string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `invalid server url "${url}": expected ws://HOST[:PORT] or wss://HOST[:PORT]`;
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') return `server url must start with ws:// or wss://, got "${url}"`;
  if (!u.hostname) return `server url "${url}" has no host`;
  // The request path comes from the client; a path here would silently be ignored, so refuse it.
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash || u.username || u.password) {
    return `server url "${url}" must be only scheme, host and port (no path, query or credentials)`;
  }
  const tls = u.protocol === 'wss:';
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { host, port: u.port ? Number(u.port) : tls ? 443 : 80, tls };
}

// The url is checked on the field itself: an object-level transform would not run when a
// sibling (a bad weight) already failed, and the url's own error would stay hidden until then.
const serverUrl = z.string().superRefine((url, ctx) => {
  const parsed = parseServerUrl(url);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});

const serverSchema = z
  .strictObject({
    name: name('server').optional(),     // default: HOST:PORT of the url
    url: serverUrl,
    weight: count(1).default(1),
  })
  .transform((s): ServerConfig => {
    const parsed = parseServerUrl(s.url) as Exclude<ReturnType<typeof parseServerUrl>, string>;   // checked by serverUrl
    return { name: s.name ?? `${parsed.host}:${parsed.port}`, url: s.url, ...parsed, weight: s.weight };
  });

const healthSchema = z.strictObject({
  check: z.enum(['websocket', 'http', 'tcp', 'none']).default('tcp'),
  path: httpPath().default('/'),
  interval: duration({ positive: true }).prefault('2s'),
  timeout: duration({ positive: true }).prefault('1s'),
  rise: count(1).default(2),
  fall: count(1).default(3),
});

const outlierSchema = z.strictObject({
  failures: count(1).default(5),
  ejection: duration({ positive: true }).prefault('10s'),
  max_ejected_percent: z.number().min(0).max(100).default(50),
});

const discoverSchema = z.strictObject({
  dns: z.string().min(1),
  port: port({ allowZero: false }),
  refresh: duration({ positive: true }).prefault('5s'),
  resolver: z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+)(:\d+)?$/, { error: 'expected HOST or HOST:PORT' }).optional(),
});

// How servers report load for custom-load. Kept as a record in PoolConfig; the defaults
// here are the documented ones.
const loadSchema = z.strictObject({
  source: z.enum(['http', 'snmp']).default('http'),
  path: httpPath().default('/load'),
  interval: duration({ positive: true }).prefault('1s'),
  stale_after: duration({ positive: true }).optional(),  // default: 3 x interval (src/pool/load-poller.ts)
  score: z.record(z.string(), z.number()).optional(),
  port: port({ allowZero: false }).optional(),          // snmp: default 161; http: the server's own port
  community: z.string().default('public'),
  oids: z.record(z.string(), z.string().regex(/^\d+(\.\d+)*$/, { error: 'expected a numeric OID such as 1.3.6.1.4.1.2021.10.1.3.1' })).optional(),
});   // source: snmp without oids is refused in checks.ts, so a bad sibling key cannot hide it

const rebalanceSchema = z.strictObject({
  tolerance: z.number().min(1).default(1.25),
  max_closes_per_second: z.number().positive().default(20),
});

export function poolSchema(ctx: SchemaContext) {
  return z.strictObject({
    algorithm: algorithmSchema(ctx).prefault('round-robin'),
    retries: count(0).default(2),
    health: healthSchema.prefault({}),
    outlier: outlierSchema.optional(),
    slow_start: duration().prefault('0s'),
    servers: z.array(serverSchema).min(1, { error: 'a pool needs at least one server (or use discover instead of servers)' }).optional(),
    discover: discoverSchema.optional(),
    load: loadSchema.optional(),
    rebalance: rebalanceSchema.optional(),
    max_handshakes_per_second: rate().optional(),
    drain: duration().optional(),
    send_proxy: z.enum(['v1', 'v2']).optional(),
    tls: z.strictObject({
      ca: filePath(ctx).optional(),
      servername: z.string().min(1).optional(),
      reject_unauthorized: z.boolean().default(true),
    }).optional(),
  });
}
