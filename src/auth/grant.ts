/** What a route's `auth` granted one request (verified token claims, when the token expires), kept beside the request object for the steps that run after it: the `claim:NAME` hash key and close_on_expiry. */

/** The outcome of a successful authentication, attached to the request it was decided for. */
export interface Grant {
  /** The verified JWT payload; empty for `forward` auth. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Epoch ms at which the grant ends (`exp` + clock_skew), when the token has an `exp` and the route closes on expiry. */
  readonly closeAt?: number | undefined;
}

// Keyed by the request object itself: nothing to clean up, it goes with the request.
const grants = new WeakMap<object, Grant>();

export function setGrant(req: object, grant: Grant): void {
  grants.set(req, grant);
}

export function grantOf(req: object): Grant | undefined {
  return grants.get(req);
}

/**
 * The claim `name` as a hash key: strings as they are, numbers and booleans as text, anything
 * else as JSON; undefined when the request has no verified token or the claim is absent or empty.
 */
export function claimKey(req: object, name: string): string | undefined {
  const v = grants.get(req)?.claims[name];
  if (v === undefined || v === null || v === '') return undefined;
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}
