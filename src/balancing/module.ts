/** `{ module: ./file.js, ...options }`: a user's algorithm, imported at start (or by `wslb check`), validated, and given frozen server views. */

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import { locate, formatPath, type DataPath } from '../config/locate.js';
import { ConfigError, type AlgorithmConfig, type Config, type ConfigIssue } from '../config/types.js';
import type { AlgorithmModuleFactory, AlgorithmNeeds, Balancer, BalancerDeps, PickContext, ServerView } from './balancer.js';
import { parseKeySpec } from './hash-key.js';

type Instance = ReturnType<AlgorithmModuleFactory>;

// Imported factories by absolute path. Node caches ES modules anyway (an edited file is not
// re-read before a restart); keeping the factory lets a reload rebuild balancers synchronously.
const factories = new Map<string, AlgorithmModuleFactory>();

async function importFactory(file: string): Promise<AlgorithmModuleFactory> {
  const known = factories.get(file);
  if (known) return known;
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (e) {
    throw new Error(`cannot load algorithm module ${file}: ${(e as Error).message}`);
  }
  if (typeof mod.default !== 'function') {
    throw new Error(`algorithm module ${file} must default-export a factory (options, { random, now }) => ({ name, pick })`);
  }
  factories.set(file, mod.default as AlgorithmModuleFactory);
  return mod.default as AlgorithmModuleFactory;
}

/** Calls the factory with the options and checks it returned `{ name, pick }`; throws an Error saying what is wrong. */
function instantiate(factory: AlgorithmModuleFactory, file: string, options: Readonly<Record<string, unknown>>, deps: BalancerDeps): Instance {
  let inst: unknown;
  try {
    inst = factory(options, { random: deps.random, now: deps.now });
  } catch (e) {
    throw new Error(`algorithm module ${file}: the factory threw: ${(e as Error).message}`);
  }
  const i = inst as Partial<Instance> | null;
  if (typeof i !== 'object' || i === null || typeof i.name !== 'string' || !i.name || typeof i.pick !== 'function') {
    throw new Error(`algorithm module ${file}: the factory must return { name: string, pick(ctx) }`);
  }
  return i as Instance;
}

/** Imports the file (once per process), calls its default export with the options and validates the result. */
export async function instantiateModule(file: string, options: Readonly<Record<string, unknown>>, deps: BalancerDeps): Promise<Instance> {
  return instantiate(await importFactory(file), file, options, deps);
}

/** A Balancer whose module is imported by `start()`; it picks nothing (503) before that, which Runtime.start rules out. */
class ModuleBalancer implements Balancer {
  readonly #cfg: AlgorithmConfig;
  readonly #deps: BalancerDeps;
  #inner: Instance | null = null;

  constructor(cfg: AlgorithmConfig, deps: BalancerDeps) {
    this.#cfg = cfg;
    this.#deps = deps;
    // Already imported (a reload): ready at once, so no handshake meets an unloaded module.
    const factory = factories.get(cfg.module!);
    if (factory) {
      try { this.#inner = instantiate(factory, cfg.module!, cfg.options, deps); } catch { /* start() reports it */ }
    }
  }

  get name(): string {
    return this.#inner?.name ?? 'module';
  }

  async start(): Promise<void> {
    this.#inner ??= await instantiateModule(this.#cfg.module!, this.#cfg.options, this.#deps);
  }

  pick<S extends ServerView>(ctx: PickContext<S>): S | undefined {
    if (!this.#inner) return undefined;
    // Frozen copies, so user code cannot change the counters the rest of the balancer relies on.
    const views = ctx.servers.map((s): ServerView => Object.freeze({
      name: s.name, url: s.url, weight: s.weight, active: s.active,
      bandwidth: s.bandwidth, rtt: s.rtt, load: s.load, loadStale: s.loadStale ?? false,
    }));
    const chosen = this.#inner.pick({ servers: views, ...(ctx.key !== undefined ? { key: ctx.key } : {}), clientAddress: ctx.clientAddress });
    if (chosen === undefined || chosen === null) return undefined;
    const i = views.indexOf(chosen);
    if (i === -1) throw new Error(`algorithm module "${this.name}" returned something that is not one of ctx.servers`);
    return ctx.servers[i];
  }

  close(): void {
    this.#inner?.close?.();
  }
}

export function moduleBalancer(cfg: AlgorithmConfig, deps: BalancerDeps): Balancer {
  return new ModuleBalancer(cfg, deps);
}

/** A module gets `ctx.key` when its options name one (`key: query:room`); wslb cannot know what else it reads. */
export function moduleNeeds(options: Readonly<Record<string, unknown>>): AlgorithmNeeds {
  return typeof options['key'] === 'string' ? { key: parseKeySpec(options['key']) } : {};
}

/** A balancer and where its algorithm is written in the config (for error locations). */
export interface BalancerEntry { readonly balancer: Balancer; readonly path: DataPath }

/** Runs every balancer's `start()`; failures become one ConfigError located at each `module:` key. */
export async function startBalancers(config: Config, entries: readonly BalancerEntry[]): Promise<void> {
  const issues: ConfigIssue[] = [];
  for (const e of entries) {
    try {
      await e.balancer.start?.();
    } catch (err) {
      issues.push(locateIn(config.file, [...e.path, 'module'], (err as Error).message));
    }
  }
  if (issues.length) throw new ConfigError(issues);
}

/** For `wslb check`: imports and instantiates every module the config names; returns what is wrong. */
export async function checkModules(config: Config, deps: BalancerDeps): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  const entries: [DataPath, AlgorithmConfig | undefined][] = [
    ...Object.values(config.pools).map((p): [DataPath, AlgorithmConfig] => [['pools', p.name, 'algorithm'], p.algorithm]),
    ...config.routes.map((r, i): [DataPath, AlgorithmConfig | undefined] => [['routes', i, 'algorithm'], r.algorithm]),
  ];
  for (const [path, cfg] of entries) {
    if (cfg?.name !== 'module') continue;
    try {
      (await instantiateModule(cfg.module!, cfg.options, deps)).close?.();
    } catch (err) {
      issues.push(locateIn(config.file, [...path, 'module'], (err as Error).message));
    }
  }
  return issues;
}

/** Re-reads the config file to place an issue found after loading; 1:1 when the file is not readable (a config built in code). */
function locateIn(file: string, path: DataPath, message: string): ConfigIssue {
  let line = 1;
  let col = 1;
  try {
    const lc = new LineCounter();
    const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter: lc });
    ({ line, col } = locate(doc, lc, path));
  } catch { /* keep 1:1 */ }
  return { file, line, col, path: formatPath(path), message };
}
