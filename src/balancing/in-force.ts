/**
 * The algorithm instances a runtime has in force, across reloads: a route-level algorithm whose
 * route, pool and config did not change keeps its instance (and so its state: round-robin
 * position, a module's own tables), as a pool-level one does (src/pool/pool.ts); every instance
 * that leaves use (replaced, or its route or pool removed) is closed, once.
 */

import type { AlgorithmConfig } from '../config/types.js';
import type { Balancer } from './balancer.js';
import { createBalancer, sameAlgorithm } from './index.js';

interface RouteAlgorithm { readonly pool: string; readonly config: AlgorithmConfig; readonly balancer: Balancer }

export class AlgorithmsInForce {
  readonly #create: (cfg: AlgorithmConfig) => Balancer;
  #routes = new Map<string, RouteAlgorithm>();
  #building: Map<string, RouteAlgorithm> | null = null;
  #inForce = new Set<Balancer>();

  constructor(create: (cfg: AlgorithmConfig) => Balancer = (cfg) => createBalancer(cfg)) {
    this.#create = create;
  }

  /** The instance for route `route` (on pool `pool`) with its own `config`: the running one when all three are unchanged. */
  route(route: string, pool: string, config: AlgorithmConfig): Balancer {
    const built = (this.#building ??= new Map());
    const prev = this.#routes.get(route);
    const balancer = prev && prev.pool === pool && sameAlgorithm(prev.config, config) ? prev.balancer : this.#create(config);
    built.set(route, { pool, config, balancer });
    return balancer;
  }

  /**
   * Ends a build: `inForce` is every instance now used (pools' and routes'). Those of the
   * previous build not among them are closed; route instances not asked for by this build are forgotten.
   */
  commit(inForce: Iterable<Balancer>): void {
    const next = new Set(inForce);
    for (const b of this.#inForce) if (!next.has(b)) b.close?.();
    this.#inForce = next;
    this.#routes = this.#building ?? new Map();
    this.#building = null;
  }

  /** Closes every instance in force (the runtime stops). */
  close(): void {
    for (const b of this.#inForce) b.close?.();
    this.#inForce = new Set();
    this.#routes.clear();
  }
}
