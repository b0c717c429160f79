/** Zod schema of `routes[].auth` (jwt or forward), with its defaults; rules across its keys are in auth-checks.ts, key files in auth-files.ts. */
import * as z from 'zod';
import { JWS_ALGORITHMS } from '../auth/keys.js';
import { count, duration, filePath, type SchemaContext } from './fields.js';
import type { AuthConfig } from './types.js';

/** A header field name (RFC 9110 token). */
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Headers the balancer itself writes or that frame the request: no claim or copied header may take their name. */
const RESERVED_HEADERS = new Set([
  'host', 'connection', 'upgrade', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding',
  'content-length', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host',
]);

const headerName = z.string().superRefine((n, ctx) => {
  const lower = n.toLowerCase();
  if (!TOKEN_RE.test(n)) ctx.addIssue({ code: 'custom', message: `"${n}" is not a valid header name` });
  else if (RESERVED_HEADERS.has(lower) || lower.startsWith('sec-websocket-')) {
    ctx.addIssue({ code: 'custom', message: `"${n}" is set by the balancer or the WebSocket handshake; pick another header name` });
  }
});

const httpUrl = (what: string) => z.string().superRefine((u, ctx) => {
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    ctx.addIssue({ code: 'custom', message: `invalid ${what} "${u}": expected http://HOST[:PORT]/PATH or https://...` });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: `${what} must start with http:// or https://, got "${u}"` });
  else if (url.username || url.password) ctx.addIssue({ code: 'custom', message: `${what} must not hold credentials` });
});

const algorithm = z.string().superRefine((a, ctx) => {
  if ((JWS_ALGORITHMS as readonly string[]).includes(a)) return;
  const none = a.toLowerCase() === 'none';
  ctx.addIssue({ code: 'custom', message: none ? 'alg "none" (unsigned tokens) is never accepted' : `unknown JWS algorithm "${a}"; expected one of ${JWS_ALGORITHMS.join(', ')}` });
});

/** `from` entries: header, protocol, query:NAME, cookie:NAME (src/auth/token-source.ts). */
const FROM_RE = /^(header|protocol|(query|cookie):[^\s:]+)$/;
const tokenSource = z.string().regex(FROM_RE, { error: 'expected header, protocol, query:NAME or cookie:NAME' });

function jwtSchema(ctx: SchemaContext) {
  return z.strictObject({
    keys: filePath(ctx).optional(),
    jwks_url: httpUrl('jwks_url').optional(),
    jwks_refresh: duration({ positive: true }).prefault('10m'),
    jwks_cooldown: duration().prefault('30s'),
    jwks_timeout: duration({ positive: true }).prefault('3s'),
    algorithms: z.array(algorithm).min(1).optional(),
    issuer: z.string().min(1).optional(),
    audience: z.string().min(1).optional(),
    clock_skew: duration().prefault('0s'),
    // A browser cannot set headers: its token comes in a subprotocol entry. Query and cookie are opt-in.
    from: z.array(tokenSource).min(1).default(['header', 'protocol']),
    claims_to_headers: z.record(z.string().min(1), headerName).default({}),
    close_on_expiry: z.boolean().default(false),
  });
}

const forwardSchema = z.strictObject({
  url: httpUrl('url'),
  copy: z.array(headerName).default([]),
  timeout: duration({ positive: true }).prefault('1s'),
  cache: duration().prefault('0s'),
  concurrency: count(1).default(64),
});

/** `auth: { jwt: {...} }` or `auth: { forward: {...} }` (one of them: auth-checks.ts says so). */
export function authSchema(ctx: SchemaContext) {
  return z.strictObject({
    jwt: jwtSchema(ctx).optional(),
    forward: forwardSchema.optional(),
  }).transform((a): AuthConfig => a);
}
