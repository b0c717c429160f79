/** Zod schema of the whole balancer.yaml, with every default in one place; output is Config minus `file`. */
import { isIP } from 'node:net';
import * as z from 'zod';
import { algorithmSchema, KNOWN_ALGORITHMS } from './algorithm.js';
import { authSchema } from './auth-schema.js';
import { count, duration, filePath, httpPath, name, port, rate, size, type SchemaContext } from './fields.js';
import { poolSchema } from './pool-schema.js';
import { byteRate, messageRate, routeLimitsSchema } from './traffic-limits.js';
import { parseOriginEntry } from '../edge/origin.js';
import type { AffinityConfig, PoolConfig, RouteConfig } from './types.js';

export { KNOWN_ALGORITHMS } from './algorithm.js';
export type { SchemaContext } from './fields.js';

const cidr = z.string().refine((s) => {
  const [addr = '', bits, extra] = s.split('/');
  const family = isIP(addr);
  if (!family || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}, { error: 'expected an IP address or CIDR block such as 10.0.0.0/8' });

function listenerSchema(ctx: SchemaContext) {
  return z.strictObject({
    port: port({ allowZero: true }),
    host: z.string().min(1).default('0.0.0.0'),
    tls: z.strictObject({ cert: filePath(ctx), key: filePath(ctx), ca: filePath(ctx).optional() }).optional(),
    proxy_protocol: z.boolean().default(false),
    trusted_proxies: z.array(cidr).default([]),
    // h2 and http/1.1 offered by ALPN on a TLS listener (checks.ts refuses it without tls).
    http2: z.boolean().default(false),
  });
}

const adminSchema = z.strictObject({
  port: port({ allowZero: true }).default(9090),
  host: z.string().min(1).default('127.0.0.1'),
  // A number is accepted because an unquoted ${TOKEN} holding digits is re-typed as one.
  token: z.union([z.string(), z.number()]).transform(String).default(''),
});

const timeoutsSchema = z.strictObject({
  connect: duration({ positive: true }).prefault('3s'),
  handshake: duration({ positive: true }).prefault('10s'),
  idle: duration({ positive: true }).prefault('1h'),
  fin: duration({ positive: true }).prefault('10s'),
  http: duration({ positive: true }).prefault('60s'),
  drain: duration().prefault('30s'),
  // After SIGTERM/SIGINT: /healthz answers 503 while traffic still flows, so an orchestrator's
  // readiness probe takes the instance out of rotation before the drain starts. 0s = drain at once.
  shutdown_grace: duration().prefault('0s'),
});

const limitsSchema = z.strictObject({
  max_connections: count(1).default(100000),
  max_connections_per_ip: count(1).default(1000),
  handshakes_per_ip: rate().prefault('50/s'),
  max_header_bytes: size().prefault('16KiB'),
  max_message_bytes: size().prefault('16MiB'),
  max_buffered_bytes: size().prefault('1MiB'),
  // A tunnel direction held at max_buffered_bytes this long closes with 1008; 0s = never.
  stall: duration().prefault('30s'),
  // Per connection, client -> server (src/tunnel/rate-limit.ts); 0 = off.
  messages_per_second: messageRate().default(0),
  bytes_per_second: byteRate().default(0),
});

const HOST_RE = /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;
const hostPattern = z.string().transform((h, ctx) => {
  const lower = h.toLowerCase();
  if (!HOST_RE.test(lower)) {
    ctx.addIssue({ code: 'custom', message: `invalid host "${h}": expected a host name (exact) or *.suffix` });
    return z.NEVER;
  }
  return lower;
});

// Origins are compared to the browser's Origin header, which is always scheme://host[:port]
// in lower case with default ports omitted: normalize to that form once, here (wildcards too).
const origin = z.string().transform((o, ctx) => {
  const parsed = parseOriginEntry(o);
  if ('error' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }
  return parsed.value;
});

const affinity = z
  .union([
    z.enum(['engine.io', 'sockjs']),
    z.strictObject({ cookie: z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, { error: 'not a valid cookie name' }) }),
  ], { error: () => 'expected engine.io, sockjs or { cookie: NAME }' })
  .transform((a): AffinityConfig => (typeof a === 'string' ? { kind: a } : { kind: 'cookie', cookie: a.cookie }));

function routeSchema(ctx: SchemaContext) {
  return z.strictObject({
    name: name('route').optional(),     // default: route-<index>
    match: z.strictObject({
      host: hostPattern.optional(),
      path: httpPath().optional(),
      // Upgrades and plain HTTP on one path may go to different pools and algorithms (two routes).
      transport: z.enum(['websocket', 'http', 'any']).optional(),
    }).prefault({}),
    pool: z.string(),
    algorithm: algorithmSchema(ctx).optional(),
    origins: z.array(origin).optional(),
    allow_missing_origin: z.boolean().default(true),
    affinity: affinity.optional(),
    http: z.boolean().default(false),
    auth: authSchema(ctx).optional(),
    limits: routeLimitsSchema.optional(),
  });
}

/**
 * The schema for a config file whose relative paths start at `ctx.baseDir`.
 * Cross-entry rules (route -> pool, unique names) live in checks.ts: zod skips
 * refinements on a value that already has issues, and those rules must always be reported.
 */
export function configSchema(ctx: SchemaContext) {
  return z.strictObject({
    listeners: z.array(listenerSchema(ctx)).min(1, { error: 'at least one listener is needed' }).prefault([{ port: 8080 }]),
    admin: adminSchema.prefault({}),
    timeouts: timeoutsSchema.prefault({}),
    limits: limitsSchema.prefault({}),
    // pools: {} and routes: [] are valid: the balancer then answers every request with 404.
    pools: z.record(name('pool'), poolSchema(ctx)).prefault({}).transform((pools) => {
      const out: Record<string, PoolConfig> = {};
      for (const [n, p] of Object.entries(pools)) out[n] = { name: n, ...p, servers: p.servers ?? [] };
      return out;
    }),
    routes: z.array(routeSchema(ctx)).prefault([]).transform((routes) =>
      routes.map((r, i): RouteConfig => ({ ...r, name: r.name ?? `route-${i}` }))),
    log: z.strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
      // One "access" line (info) per finished tunnel or plain-HTTP exchange (src/metrics/access-log.ts).
      access: z.boolean().default(false),
    }).prefault({}),
    workers: z.union([count(1), z.literal('auto')], { error: 'expected a number of workers (>= 1) or "auto"' }).default(1),
    cluster: z.strictObject({
      redis: z.string().regex(/^rediss?:\/\/\S+$/, { error: 'expected a redis:// or rediss:// URL' }),
      name: name('cluster').default('wslb'),
    }).optional(),
  });
}

export type ParsedConfig = z.output<ReturnType<typeof configSchema>>;

/** JSON Schema (draft 2020-12) of balancer.yaml as written by users, for editor completion. */
export function configJsonSchema(algorithms: readonly string[] = KNOWN_ALGORITHMS): Record<string, unknown> {
  const schema = configSchema({ baseDir: '.', algorithms });
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
