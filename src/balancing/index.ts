/** The algorithm registry: YAML name -> factory. Adding an algorithm is one file and one line here. */

import type { AlgorithmConfig } from '../config/types.js';
import type { Balancer, BalancerDeps, BalancerFactory } from './balancer.js';
import { customLoad } from './custom-load.js';
import { hash } from './hash.js';
import { leastBandwidth } from './least-bandwidth.js';
import { leastConnections } from './least-connections.js';
import { leastResponseTime } from './least-response-time.js';
import { moduleBalancer } from './module.js';
import { p2c } from './p2c.js';
import { randomAlgorithm } from './random.js';
import { roundRobin } from './round-robin.js';

export const ALGORITHMS: Readonly<Record<string, BalancerFactory>> = {
  'round-robin': roundRobin,
  'least-connections': leastConnections,
  'least-bandwidth': leastBandwidth,
  'least-response-time': leastResponseTime,
  'hash': hash,
  'p2c': p2c,
  'random': randomAlgorithm,
  'custom-load': customLoad,
};

export const defaultDeps: BalancerDeps = {
  random: Math.random,
  now: () => performance.now(),
};

/** Builds the algorithm a config names; `{ module }` gives a balancer that imports its file in `start()`. */
export function createBalancer(cfg: AlgorithmConfig, deps: BalancerDeps = defaultDeps): Balancer {
  if (cfg.name === 'module') return moduleBalancer(cfg, deps);
  const factory = ALGORITHMS[cfg.name];
  if (!factory) {
    // Config validation lists every name it knows, so this is a programming error, raised at start.
    throw new Error(`unknown algorithm "${cfg.name}"; available: ${Object.keys(ALGORITHMS).join(', ')}`);
  }
  return factory(cfg.options, { ...deps, create: (c) => createBalancer(c, deps) });
}
