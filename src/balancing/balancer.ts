/** The interface every balancing algorithm implements: pick one of the ready servers, reading state only. */

/** What an algorithm may read of a server (STYLE habit 2: counters live on the Server, algorithms only read). */
export interface ServerView {
  readonly name: string;
  readonly url: string;
  readonly weight: number;
  readonly active: number;
  readonly bandwidth: number;
  readonly rtt: number;
  readonly load: number;
}

export interface PickContext<S extends ServerView = ServerView> {
  /** Ready servers only, in config order. Never empty when pick is called. */
  readonly servers: readonly S[];
  /** The hash key, when the route's algorithm names one and the request carries it. */
  readonly key?: string;
  readonly clientAddress: string;
}

export interface Balancer {
  readonly name: string;
  /** Returns one element of ctx.servers, or undefined for "none" (503). */
  pick<S extends ServerView>(ctx: PickContext<S>): S | undefined;
}

export interface BalancerDeps {
  /** Uniform in [0, 1). */
  readonly random: () => number;
  /** Milliseconds, monotonic. */
  readonly now: () => number;
}

export type BalancerFactory = (options: Readonly<Record<string, unknown>>, deps: BalancerDeps) => Balancer;
