/** The validated, defaulted, frozen configuration every other part reads (durations in ms, sizes in bytes). */

export interface ListenerConfig {
  readonly port: number;
  readonly host: string;
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca?: string };
  readonly proxy_protocol: boolean;
  readonly trusted_proxies: readonly string[];
  readonly http2: boolean;        // with tls: h2 offered by ALPN (WebSockets by extended CONNECT, plain HTTP)
}

export interface AdminConfig {
  readonly port: number;
  readonly host: string;
  readonly token: string;          // '' = no token
}

export interface Timeouts {
  readonly connect: number;
  readonly handshake: number;
  readonly idle: number;
  readonly fin: number;
  readonly http: number;
  readonly drain: number;
  readonly shutdown_grace: number;        // ms between the stop signal and the drain: /healthz 503, traffic still accepted
}

export interface Limits {
  readonly max_connections: number;
  readonly max_connections_per_ip: number;
  readonly handshakes_per_ip: number;     // tokens per second (bucket holds the same number)
  readonly max_header_bytes: number;
  readonly max_message_bytes: number;
  readonly max_buffered_bytes: number;
  readonly stall: number;                 // ms a direction may stay at max_buffered_bytes (extension); 0 = never
  readonly messages_per_second: number;   // per connection, client -> server data messages (bucket of that many); 0 = off
  readonly bytes_per_second: number;      // per connection, client -> server bytes (bucket of one second's worth); 0 = off
}

/** `algorithm: NAME` or `{ name: NAME, ...options }` or `{ module: PATH, ...options }`, normalized. */
export interface AlgorithmConfig {
  readonly name: string;                  // for a module: 'module'
  readonly module?: string;               // absolute path when name === 'module'
  readonly options: Readonly<Record<string, unknown>>;  // every key but name/module
}

export interface HealthConfig {
  readonly check: 'websocket' | 'http' | 'tcp' | 'none';
  readonly path: string;
  readonly interval: number;
  readonly timeout: number;
  readonly rise: number;
  readonly fall: number;
}

export interface ServerConfig {
  readonly name: string;
  readonly url: string;           // ws:// or wss://
  readonly host: string;          // from url
  readonly port: number;          // from url (default 80 / 443)
  readonly tls: boolean;          // wss://
  readonly weight: number;        // default 1
}

export interface PoolConfig {
  readonly name: string;
  readonly algorithm: AlgorithmConfig;        // default round-robin
  readonly retries: number;                   // default 2
  readonly health: HealthConfig;
  readonly outlier?: { readonly failures: number; readonly ejection: number; readonly max_ejected_percent: number };
  readonly slow_start: number;                // ms, 0 = off
  readonly servers: readonly ServerConfig[];
  readonly discover?: { readonly dns: string; readonly port: number; readonly refresh: number; readonly resolver?: string };
  readonly load?: Readonly<Record<string, unknown>>;
  readonly rebalance?: { readonly tolerance: number; readonly max_closes_per_second: number };
  readonly max_handshakes_per_second?: number;
  readonly drain?: number;
  readonly send_proxy?: 'v1' | 'v2';
  readonly tls?: { readonly ca?: string; readonly servername?: string; readonly reject_unauthorized: boolean };
}

export type AffinityConfig =
  | { readonly kind: 'cookie'; readonly cookie: string }
  | { readonly kind: 'engine.io' }
  | { readonly kind: 'sockjs' };

export interface RouteMatch {
  readonly host?: string;         // exact (lower-cased) or '*.suffix'
  readonly path?: string;         // prefix
  readonly transport?: 'websocket' | 'http' | 'any';   // absent = any; websocket: upgrades only, http: plain requests only
}

/** `routes[].auth.jwt`: tokens verified at the edge (src/auth/). */
export interface JwtAuthConfig {
  readonly keys?: string;                 // absolute path: a JWKS, a PEM public key or certificate, or an HMAC secret
  readonly jwks_url?: string;             // instead of keys: fetched, cached, refreshed
  readonly jwks_refresh: number;          // ms: a fetched set older than this is refetched in the background
  readonly jwks_cooldown: number;         // ms: fetches (unknown kid, failure, staleness) at most once per this
  readonly jwks_timeout: number;          // ms: one fetch, connect to last byte
  readonly algorithms?: readonly string[];  // accepted "alg" values; undefined: what the keys allow
  readonly issuer?: string;
  readonly audience?: string;
  readonly clock_skew: number;            // ms: a token is valid until exp + clock_skew (and from nbf - clock_skew)
  readonly from: readonly string[];       // 'header' | 'protocol' | 'query:NAME' | 'cookie:NAME', looked up in order
  readonly claims_to_headers: Readonly<Record<string, string>>;   // claim -> header sent to the server
  readonly close_on_expiry: boolean;
}

/** `routes[].auth.forward`: an HTTP service decides each handshake (like nginx auth_request). */
export interface ForwardAuthConfig {
  readonly url: string;                   // http:// or https://
  readonly copy: readonly string[];       // headers of its 2xx answer sent on to the server
  readonly timeout: number;               // ms
  readonly cache: number;                 // ms an answer is reused for the same credentials; 0 = never
  readonly concurrency: number;           // subrequests in flight at most (more wait, within their timeout)
}

/** Exactly one of the two. */
export interface AuthConfig {
  readonly jwt?: JwtAuthConfig;
  readonly forward?: ForwardAuthConfig;
}

export interface RouteConfig {
  readonly name: string;          // default: `route-<index>`
  readonly match: RouteMatch;
  readonly pool: string;          // validated to exist
  readonly algorithm?: AlgorithmConfig;   // override of the pool's
  readonly origins?: readonly string[];
  readonly allow_missing_origin: boolean; // default true
  readonly affinity?: AffinityConfig;
  readonly http: boolean;         // default false: plain HTTP on the route -> 426
  readonly auth?: AuthConfig;     // edge authentication before admission (src/auth/)
  /** The route's own client -> server rate limits; a key left out keeps limits.* */
  readonly limits?: { readonly messages_per_second?: number; readonly bytes_per_second?: number };
}

export interface Config {
  readonly file: string;                  // absolute path of the file it came from ('' when built in code)
  readonly listeners: readonly ListenerConfig[];
  readonly admin: AdminConfig;
  readonly timeouts: Timeouts;
  readonly limits: Limits;
  readonly pools: Readonly<Record<string, PoolConfig>>;
  readonly routes: readonly RouteConfig[];
  readonly log: { readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'; readonly access: boolean };
  readonly workers: number | 'auto';
  readonly cluster?: { readonly redis: string; readonly name: string };
}

/** One problem found in a config file, located at 1-based line:col. */
export interface ConfigIssue {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly path: string;          // dotted: pools.chat.algorithm
  readonly message: string;
}

export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function formatIssue(i: ConfigIssue): string {
  return `${i.file}:${i.line}:${i.col} ${i.path}: ${i.message}`;
}
