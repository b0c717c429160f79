/** The algorithm registry: YAML name -> factory. Adding an algorithm is one file and one line here. */

import type { AlgorithmConfig } from '../config/types.js';
import type { Balancer, BalancerDeps, BalancerFactory } from './balancer.js';
import { leastConnections } from './least-connections.js';
import { roundRobin } from './round-robin.js';

export const ALGORITHMS: Readonly<Record<string, BalancerFactory>> = {
  'round-robin': roundRobin,
  'least-connections': leastConnections,
};

export const defaultDeps: BalancerDeps = {
  random: Math.random,
  now: () => performance.now(),
};

export function createBalancer(cfg: AlgorithmConfig, deps: BalancerDeps = defaultDeps): Balancer {
  const factory = ALGORITHMS[cfg.name];
  if (!factory) {
    // Config validation lists every name it knows; algorithms it knows but this build does not
    // implement yet land here, at start, never at traffic time.
    throw new Error(`algorithm "${cfg.name}" is not implemented yet; available: ${Object.keys(ALGORITHMS).join(', ')}`);
  }
  return factory(cfg.options, deps);
}
