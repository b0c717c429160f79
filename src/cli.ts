#!/usr/bin/env node
/** The wslb command line: run, check, demo; exit 0 ok, 1 runtime failure, 2 config or usage error. */

import { Command } from 'commander';
import { loadSource, readConfigSource } from './cluster/config-source.js';
import type { ConfigSource } from './cluster/protocol.js';
import { summarize } from './config/summary.js';
import { ConfigError, type Config } from './config/types.js';
import { createLogger } from './log.js';
import { Balancer } from './main.js';
import { handleSignals } from './signals.js';
import { startFarm } from './demo/farm.js';
import { defaultDeps } from './balancing/index.js';
import { checkModules } from './balancing/module.js';
import cluster from 'node:cluster';
import { runPrimary, workerCount } from './cluster/primary.js';
import { runWorker } from './cluster/worker.js';
import { instanceRole } from './cluster/instance-role.js';
import { closest } from './suggest.js';
import { VERSION } from './version.js';

const program = new Command('wslb')
  .description('Layer-7 WebSocket load balancer')
  .version(VERSION, '-V, --version', 'print the version')
  .showHelpAfterError()
  // Usage errors (unknown option, missing value) exit 2 like config errors; help and version exit 0.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

program.command('run', { isDefault: true })
  .description('run the balancer (the default command: `wslb -c FILE` runs it too)')
  .option('-c, --config <file>', 'configuration file', 'balancer.yaml')
  .action(async (opts: { config: string }) => { await run(opts.config); });

program.command('check')
  .description('validate a configuration file')
  .option('-c, --config <file>', 'configuration file', 'balancer.yaml')
  .action(async (opts: { config: string }) => {
    const { config } = loadOrExit(opts.config);
    // `{ module }` algorithms are imported and instantiated too, so a broken one fails here, not at start.
    const issues = await checkModules(config, defaultDeps);
    if (issues.length) fail(new ConfigError(issues));
    process.stdout.write(`${summarize(config)}\n`);
  });

program.command('demo')
  .description('start the demo farm (127.0.0.1:9001-9003) and the balancer with balancer.yaml')
  .option('-c, --config <file>', 'configuration file', 'balancer.yaml')
  .action(async (opts: { config: string }) => {
    const loaded = loadOrExit(opts.config);
    const farm = await startFarm({}).catch(fail);   // in the primary only: workers never parse the command line
    const b = await run(opts.config, loaded, () => farm.close());
    if (!b) return;   // workers > 1: the primary logs its admin address
    const proxy = b.addresses.find((a) => a.kind === 'proxy')!;
    const admin = b.addresses.find((a) => a.kind === 'admin')!;
    const host = proxy.address === '0.0.0.0' ? '127.0.0.1' : proxy.address;
    process.stderr.write(
      `\nwslb demo is up:\n` +
      `  balancer   ws://${host}:${proxy.port}/        (echo; try: node examples/ws-client.mjs ws://${host}:${proxy.port}/)\n` +
      `  room       ws://${host}:${proxy.port}/room    (ticks from the server you landed on)\n` +
      `  dashboard  http://${admin.address}:${admin.port}/\n` +
      `  status     http://${admin.address}:${admin.port}/status\n` +
      `  farm       ${farm.servers.map((s) => `ws://127.0.0.1:${s.port}`).join(' ')}\n` +
      `Ctrl-C stops everything.\n\n`);
  });

/** The config and the text + environment it came from (what the workers are sent). */
function loadOrExit(file: string): { config: Config; source: ConfigSource } {
  try {
    const source = readConfigSource(file);
    return { config: loadSource(source, { files: true }), source };
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const i of err.issues) process.stderr.write(`${i.file}:${i.line}:${i.col} ${i.path}: ${i.message}\n`);
      process.exit(2);
    }
    return fail(err);
  }
}

function fail(err: unknown): never {
  if (err instanceof ConfigError) {   // e.g. an algorithm module that does not load: exit 2 like any config error
    for (const i of err.issues) process.stderr.write(`${i.file}:${i.line}:${i.col} ${i.path}: ${i.message}\n`);
    process.exit(2);
  }
  const e = err as NodeJS.ErrnoException;
  const reason = e.code === 'EADDRINUSE' ? `address in use: ${(e as { address?: string }).address ?? ''}:${(e as { port?: number }).port ?? ''}`
    : e.code === 'ENOENT' ? `no such file: ${(e as { path?: string }).path ?? e.message}`
    : e.message ?? String(err);
  process.stderr.write(`wslb: ${reason}\n`);
  process.exit(1);
}

async function run(file: string, { config: loaded, source } = loadOrExit(file), onStopped?: () => Promise<void>): Promise<Balancer | null> {
  const log = createLogger(loaded.log.level);
  log.info({ version: VERSION, node: process.version, config: loaded.file, workers: workerCount(loaded.workers) }, 'starting');
  // workers > 1: this process is the primary (supervisor, admin); its workers run the config it sends them.
  if (workerCount(loaded.workers) > 1) {
    await runPrimary(loaded, log, source, onStopped).catch(fail);
    return null;
  }
  // `cluster:`: an instance sharing its tables with the others through Redis (src/cluster/instance-role.ts).
  const balancer = new Balancer(loaded, log, loaded.cluster ? { role: instanceRole(loaded.cluster, log) } : {});
  await balancer.start().catch(fail);
  handleSignals(balancer, log, onStopped);
  return balancer;
}

/**
 * `run` is the default command, so commander would hand a mistyped command (`wslb chek`) to
 * `run` as a stray argument ("too many arguments for 'run'"): name it as what it is instead.
 */
function refuseUnknownCommand(argv: readonly string[]): void {
  const first = argv[2];
  if (first === undefined || first.startsWith('-') || first === 'help') return;
  const names = program.commands.map((c) => c.name());
  if (names.includes(first)) return;
  const near = closest(first, names);
  const hint = near ? `; did you mean '${near}'?`
    : /\.ya?ml$/.test(first) ? `; to run with that file: wslb -c ${first}`
    : '';
  process.stderr.write(`wslb: unknown command '${first}'${hint}\ncommands: ${names.join(', ')} (wslb --help)\n`);
  process.exit(2);
}

if (cluster.isWorker) {
  // A worker because the primary forked it, whatever the file says now: it runs the config the primary sends.
  const slot = Number(process.env.WSLB_WORKER_SLOT);
  await runWorker(slot, (c) => createLogger(c.log.level).child({ worker: slot })).catch(fail);
} else {
  refuseUnknownCommand(process.argv);
  await program.parseAsync(process.argv);
}
