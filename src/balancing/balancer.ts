/** The interface every balancing algorithm implements: pick one of the ready servers, reading state only. */

import type { AlgorithmConfig } from '../config/types.js';
import type { KeySpec } from './hash-key.js';

/** What an algorithm may read of a server (counters live on the Server; algorithms only read them and keep no copies). */
export interface ServerView {
  readonly name: string;
  readonly url: string;
  readonly weight: number;
  readonly active: number;
  /** EWMA of bytes per second, both directions (src/pool/bandwidth.ts); farm-wide (summed over workers and instances) in a cluster. */
  readonly bandwidth: number;
  /** EWMA of response time in ms: upgrade latency and health-check round trips (src/pool/rtt.ts), in a cluster the mean over the processes that measured it; 0 = not measured yet. */
  readonly rtt: number;
  /** Last reported load score (custom-load); lower is better. */
  readonly load: number;
  /** True when the pool polls load and this server's report is missing, failed or older than `stale_after`. */
  readonly loadStale?: boolean;
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
  /** Optional: runs once before the first pick (a user module is imported here); a throw stops the start. */
  start?(): Promise<void>;
  /** Optional: runs when the balancer stops. */
  close?(): void;
}

export interface BalancerDeps {
  /** Uniform in [0, 1). */
  readonly random: () => number;
  /** Milliseconds, monotonic. */
  readonly now: () => number;
  /** Builds another algorithm by config with the same deps (hash uses it for its fallback); set by the registry. */
  readonly create?: (cfg: AlgorithmConfig) => Balancer;
}

export type BalancerFactory = (options: Readonly<Record<string, unknown>>, deps: BalancerDeps) => Balancer;

/**
 * What an algorithm reads that someone else must provide: a per-request key, or a figure the
 * pool measures off the hot path. Declared from the algorithm's options by its registry entry
 * (src/balancing/index.ts), so pools and routes set them up without knowing algorithm names.
 */
export interface AlgorithmNeeds {
  /** Where `ctx.key` is read from, per request. */
  readonly key?: KeySpec | undefined;
  /** Reads `bandwidth` with this EWMA time constant (ms): the pool's sampler runs with it. */
  readonly bandwidthWindowMs?: number | undefined;
  /** Reads `load`: the pool polls load reports even without a `load:` block. */
  readonly loadReports?: boolean | undefined;
}

/** Reads an algorithm's needs from its options; `of` gives another algorithm's (hash's fallback). */
export type NeedsOf = (options: Readonly<Record<string, unknown>>, of: (cfg: AlgorithmConfig) => AlgorithmNeeds) => AlgorithmNeeds;

/** A registry entry: how to build the algorithm, and what it needs (nothing when absent). */
export interface AlgorithmEntry {
  readonly create: BalancerFactory;
  readonly needs?: NeedsOf;
}

/**
 * The type for authors of `{ module: ./file.js }` algorithms: the module's default export.
 * `options` are the keys written next to `module:` in balancer.yaml; `pick` receives frozen
 * copies of the ready servers (so it cannot change their counters) and returns one of them,
 * or undefined for "none" (the client gets 503). See examples/algorithm-module.js.
 */
export type AlgorithmModuleFactory = (
  options: Readonly<Record<string, unknown>>,
  deps: { readonly random: () => number; readonly now: () => number },
) => {
  readonly name: string;
  pick(ctx: PickContext<ServerView>): ServerView | undefined;
  close?(): void;
};
