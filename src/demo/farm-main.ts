/** Runnable entry for the demo farm alone: `node dist/src/demo/farm-main.js [--host H] [--ports 9001,9002,9003]`. */

import { pino } from 'pino';
import { startFarm } from './farm.js';

function parseArgs(argv: string[]): { host: string; ports: number[] } {
  let host = '127.0.0.1';
  let ports = [9001, 9002, 9003];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === '--host' && value !== undefined) {
      host = value;
      i++;
    } else if (arg === '--ports' && value !== undefined) {
      ports = value.split(',').map((p) => Number(p));
      if (ports.some((p) => !Number.isInteger(p) || p < 0 || p > 65535)) {
        throw new Error(`--ports: expected comma-separated port numbers, got "${value}"`);
      }
      i++;
    } else {
      throw new Error(`unknown argument "${arg}"; usage: farm-main [--host H] [--ports 9001,9002,9003]`);
    }
  }
  return { host, ports };
}

async function main(): Promise<void> {
  const log = pino({ base: undefined });
  let args: { host: string; ports: number[] };
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    log.error({ err: (err as Error).message }, 'bad arguments');
    process.exitCode = 2;
    return;
  }
  let farm;
  try {
    farm = await startFarm(args);
  } catch (err) {
    log.error({ err: (err as Error).message }, 'demo farm failed to start');
    process.exitCode = 1;
    return;
  }
  for (const s of farm.servers) {
    log.info({ server: s.name, url: `ws://${args.host}:${s.port}/`, room: `ws://${args.host}:${s.port}/room`,
      http: `http://${args.host}:${s.port}/` }, 'demo server listening');
  }
  const stop = (signal: string): void => {
    log.info({ signal }, 'demo farm stopping');
    farm.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();
