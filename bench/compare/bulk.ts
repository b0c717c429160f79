#!/usr/bin/env node
/**
 * npm run bench:bulk: server-to-client bulk throughput through each proxy, in one run. N clients
 * each ask a demo server for 64 KiB binary messages as fast as the connection takes them
 * (`flood:65536`) and read them all; after a 1 s warm-up, for `--seconds`, the bytes received
 * per second and the proxy's CPU per MiB (utime+stime from /proc). The proxies' configs are
 * bench:compare's.
 */

import { Command } from 'commander';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { clockTicks, parseStatTicks } from '../proc.js';
import { startFarm, startFloor, startHaproxy, startWslb, type Farm, type Target } from './peers.js';

const TARGETS = ['wslb', 'wslb-base', 'haproxy', 'floor-l7'] as const;
type TargetName = typeof TARGETS[number];

interface BulkOptions { clients: number[]; seconds: number; reps: number; targets: TargetName[]; base?: string }

const say = (s: string): void => { process.stderr.write(s + '\n'); };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid: number): number {
  return parseStatTicks(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')) / clockTicks();
}

async function start(name: TargetName, farm: Farm, dir: string, base: string | undefined): Promise<Target> {
  switch (name) {
    case 'wslb': return startWslb(farm, dir);
    case 'wslb-base':
      if (!base) throw new Error('wslb-base needs --base DIR (a built tree)');
      return startWslb(farm, dir, [], '', base, 'wslb-base');
    case 'haproxy': return startHaproxy(farm, dir);
    case 'floor-l7': return startFloor(farm, 'l7');
  }
}

/** One measurement: MiB/s received by the clients and the proxy's CPU ms per MiB. */
async function measure(t: Target, clients: number, seconds: number): Promise<{ mibPerSec: number; cpuMsPerMib: number }> {
  let bytes = 0;
  const socks: WebSocket[] = [];
  try {
    for (let i = 0; i < clients; i++) {
      const ws = new WebSocket(t.urls[i % t.urls.length]!);
      await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
      ws.on('message', (d: Buffer) => { bytes += d.length; });
      ws.on('error', () => undefined);
      socks.push(ws);
    }
    for (const ws of socks) ws.send('flood:65536');
    await sleep(1000);
    const pid = t.child!.proc.pid!;
    const b0 = bytes;
    const c0 = cpuSeconds(pid);
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const mib = (bytes - b0) / 1048576;
    const secs = (performance.now() - t0) / 1000;
    return { mibPerSec: mib / secs, cpuMsPerMib: ((cpuSeconds(pid) - c0) * 1000) / mib };
  } finally {
    for (const ws of socks) ws.terminate();
  }
}

async function main(): Promise<void> {
  const cmd = new Command('bench-bulk')
    .description('server-to-client bulk throughput and CPU per MiB through each proxy, in one run')
    .option('--clients <list>', 'comma-separated client counts', '1,8')
    .option('--seconds <n>', 'measured seconds per run', '5')
    .option('--reps <n>', 'repetitions', '2')
    .option('--targets <list>', `comma-separated subset of ${TARGETS.join(',')} (floor-l7: a reference, not a product)`, 'wslb,haproxy,floor-l7')
    .option('--base <dir>', 'a built tree (dist/) whose wslb runs as target wslb-base')
    .parse();
  const o = cmd.opts<{ clients: string; seconds: string; reps: string; targets: string; base?: string }>();
  const opts: BulkOptions = {
    clients: o.clients.split(',').map(Number),
    seconds: Number(o.seconds),
    reps: Number(o.reps),
    targets: o.targets.split(',') as TargetName[],
    ...(o.base ? { base: path.resolve(o.base) } : {}),
  };
  for (const t of opts.targets) if (!TARGETS.includes(t)) throw new Error(`unknown target ${t}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wslb-bulk-'));
  const farm = await startFarm();
  const rows: string[] = [];
  try {
    for (const clients of opts.clients) {
      for (let rep = 1; rep <= opts.reps; rep++) {
        for (const name of opts.targets) {
          const t = await start(name, farm, dir, opts.base);
          try {
            const r = await measure(t, clients, opts.seconds);
            const line = `| ${name} | ${clients} | ${rep} | ${r.mibPerSec.toFixed(0)} | ${r.cpuMsPerMib.toFixed(2)} |`;
            say(line);
            rows.push(line);
          } finally {
            await t.child?.stop();
          }
        }
      }
    }
  } finally {
    await farm.child.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(['| target | clients | rep | MiB/s received | proxy CPU ms per MiB |', '|---|---:|---:|---:|---:|', ...rows].join('\n') + '\n');
}

main().catch((err: unknown) => {
  say(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exitCode = 1;
});
