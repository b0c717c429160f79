/** The edge's one authentication step (`routes[].auth`): runs after the Origin check and before admission, for upgrades and plain HTTP alike, and either edits the request for the server or names the refusal. */

import type { RouteConfig } from '../config/types.js';
import type { ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { expiries, type Expirable } from './expiry.js';
import { ForwardAuth, type ForwardVerdict } from './forward.js';
import { grantOf, setGrant } from './grant.js';
import { JwtVerifier, type JwtVerdict } from './jwt.js';
import { addHeader, dropHeaders, headerSafe, type EditableRequest } from './request-edit.js';
import { findToken, parseSources, stripProtocolTokens, type TokenSource } from './token-source.js';

/** A refusal: the error code (its status from the error table) and the headers that go with it. */
export interface AuthRefusal {
  readonly code: ErrorCode;
  readonly headers: [string, string][];
  /** Why, for the debug log: "no token", "expired", the auth service's status... */
  readonly why: string;
}

/** What the step knows of the connection besides the request. */
export interface AuthContext {
  /** A WebSocket upgrade (the `protocol` token source applies) rather than a plain HTTP request. */
  readonly upgrade: boolean;
  readonly tls: boolean;
  /** The immediate peer's address (X-Forwarded-For for the forward service). */
  readonly peer: string;
}

type Request = EditableRequest & { readonly method?: string | undefined };
export type AuthDone = (refusal: AuthRefusal | null) => void;

const bearer = (): [string, string][] => [['WWW-Authenticate', 'Bearer']];
const retry = (): [string, string][] => [['Retry-After', '1']];

/** One route's auth, built from its config when the config is applied (keys read, agent made). */
class RouteAuth {
  readonly #log: Logger;
  readonly #route: string;
  readonly #broken: string | null = null;
  readonly #jwt: JwtVerifier | null = null;
  readonly #forward: ForwardAuth | null = null;
  readonly #sources: readonly TokenSource[] = [];
  readonly #stripProtocol: boolean = false;
  readonly #claimHeaders: readonly (readonly [string, string])[] = [];
  readonly #drop: ReadonlySet<string>;
  readonly #closeOnExpiry: boolean = false;

  constructor(route: RouteConfig, log: Logger) {
    this.#log = log;
    this.#route = route.name;
    const { jwt, forward } = route.auth!;
    try {
      if (jwt) {
        this.#jwt = new JwtVerifier(jwt, log);
        this.#sources = parseSources(jwt.from);
        this.#stripProtocol = jwt.from.includes('protocol');
        this.#claimHeaders = Object.entries(jwt.claims_to_headers);
        this.#closeOnExpiry = jwt.close_on_expiry;
      } else if (forward) {
        this.#forward = new ForwardAuth(forward);
      }
    } catch (err) {
      // The config loader read these keys a moment ago; a file that broke since fails closed, loudly.
      this.#broken = (err as Error).message;
      log.error({ route: route.name, reason: this.#broken }, 'auth keys unusable: every request on this route gets 503');
    }
    const names = jwt ? Object.values(jwt.claims_to_headers) : forward?.copy ?? [];
    this.#drop = new Set(names.map((n) => n.toLowerCase()));
  }

  run(req: Request, ctx: AuthContext, done: AuthDone): void {
    if (this.#broken !== null) return done({ code: 'WSLB_ERR_AUTH_UNAVAILABLE', headers: retry(), why: this.#broken });
    if (this.#jwt) {
      const found = findToken(this.#sources, req, ctx.upgrade);
      if (found === null) return this.#refuse(done, { code: 'WSLB_ERR_AUTH', headers: bearer(), why: 'no token' });
      const v = this.#jwt.verify(found.token);
      if (v instanceof Promise) v.then((r) => this.#afterJwt(req, ctx, r, done), (err: unknown) => this.#failed(done, err));
      else this.#afterJwt(req, ctx, v, done);
      return;
    }
    const v = this.#forward!.check(req, ctx);
    if (v instanceof Promise) v.then((r) => this.#afterForward(req, r, done), (err: unknown) => this.#failed(done, err));
    else this.#afterForward(req, v, done);
  }

  #afterJwt(req: Request, ctx: AuthContext, v: JwtVerdict, done: AuthDone): void {
    if (!v.ok) return this.#refuse(done, { code: v.code, headers: v.code === 'WSLB_ERR_AUTH' ? bearer() : retry(), why: v.why });
    dropHeaders(req, this.#drop);
    for (const [claim, header] of this.#claimHeaders) {
      const text = claimText(v.claims[claim]);
      if (text !== undefined && headerSafe(text)) addHeader(req, header, text);
    }
    if (this.#stripProtocol && ctx.upgrade) stripProtocolTokens(req);
    setGrant(req, { claims: v.claims, closeAt: this.#closeOnExpiry ? v.expiresAt : undefined });
    this.#pass(done);
  }

  #afterForward(req: Request, v: ForwardVerdict, done: AuthDone): void {
    if (!v.ok) return this.#refuse(done, { code: v.code, headers: v.headers.map(([k, x]) => [k, x]), why: v.why });
    dropHeaders(req, this.#drop);
    for (const [name, value] of v.copy) addHeader(req, name, value);
    setGrant(req, { claims: {} });
    this.#pass(done);
  }

  #refuse(done: AuthDone, refusal: AuthRefusal): void {
    this.#log.debug({ route: this.#route, code: refusal.code, why: refusal.why }, 'auth refused');
    this.#call(done, refusal);
  }

  #pass(done: AuthDone): void {
    this.#call(done, null);
  }

  #failed(done: AuthDone, err: unknown): void {
    this.#log.error({ err, route: this.#route }, 'auth check failed');
    this.#call(done, { code: 'WSLB_ERR_AUTH_UNAVAILABLE', headers: retry(), why: 'internal error' });
  }

  /**
   * A throw from the continuation is the caller's bug; after an asynchronous answer it would
   * surface as an unhandled rejection (a crash), so it is logged here instead.
   */
  #call(done: AuthDone, refusal: AuthRefusal | null): void {
    try {
      done(refusal);
    } catch (err) {
      this.#log.error({ err, route: this.#route }, 'request failed after auth');
    }
  }
}

/** A claim as header text: strings as they are, numbers and booleans as text, lists joined with ", ", other values as JSON. */
function claimText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.join(', ');
  return JSON.stringify(v);
}

// One RouteAuth per route config object: a reload brings new config objects, hence new keys.
const built = new WeakMap<RouteConfig, RouteAuth>();
let lastLog: Logger | null = null;

/**
 * Builds the auth of every route that has one, when a config is applied (start, reload): key
 * files are read then, and a `jwks_url` starts its first fetch (nothing waits for it).
 */
export function prepareAuth(routes: readonly RouteConfig[], log: Logger): void {
  lastLog = log;
  for (const r of routes) if (r.auth !== undefined && !built.has(r)) built.set(r, new RouteAuth(r, log));
}

/** Whether `route` authenticates its requests at all. */
export function routeHasAuth(route: RouteConfig): boolean {
  return route.auth !== undefined;
}

/**
 * Runs `route`'s auth on `req` (which must then be the object forwarded): `done(null)` when it
 * passes, the request's headers edited for the server (claims_to_headers or copied headers set,
 * client headers of those names dropped, `bearer.*` subprotocol entries removed) and its grant
 * attached; `done(refusal)` otherwise. `done` runs synchronously when the answer is known at once
 * (a cached token), later otherwise: the caller checks that its client is still there.
 */
export function authorize(route: RouteConfig, req: Request, ctx: AuthContext, done: AuthDone): void {
  let a = built.get(route);
  if (a === undefined) {
    if (lastLog === null) throw new Error('prepareAuth was not called for this config');
    built.set(route, (a = new RouteAuth(route, lastLog)));
  }
  a.run(req, ctx, done);
}

/** close_on_expiry: closes `tunnel` with 1008 when the token that opened it expires (no-op for other requests). */
export function closeOnExpiry(req: object, tunnel: Expirable): void {
  const at = grantOf(req)?.closeAt;
  if (at !== undefined) expiries.add(tunnel, at);
}
