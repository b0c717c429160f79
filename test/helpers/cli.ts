/** Test helper: runs the compiled CLI (dist/, built by `npm test`'s pretest) as a child process and reads its JSON log lines. */

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/cli.js');
/** The CLI's TypeScript entry, for children run from the sources (`{ source: true }`). */
export const SOURCE_CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli.ts');

/**
 * The child's environment: tap's process tracking stays, its coverage is off. The child runs
 * dist/*.js, whose source-mapped coverage does not merge with the in-process ts coverage of the
 * same src files: it replaced it (every src file a CLI child loaded showed its functions as never run).
 */
function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...process.env, ...env, _TAPJS_PROCESSINFO_COVERAGE_: '0' };
}

/**
 * `{ source: true }`: the child runs src/cli.ts under the TypeScript loader this test runs under
 * (tap's ts-node, from execArgv), with coverage on. Its V8 coverage then has the same URLs and
 * the same transpiled text as the in-process coverage, and c8 merges the two per function (cluster
 * workers inherit the loader through cluster.fork's execArgv). Coverage is written at a normal
 * exit only: stop such a child with SIGTERM, not SIGKILL. Costs ~1-3 s of transpiling per process;
 * outside tap (no loader in execArgv) it falls back to dist/.
 */
export interface CliOptions { source?: boolean }

function command(args: string[], opts: CliOptions): { argv: string[]; coverage: boolean } {
  const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript') || a === '--enable-source-maps');
  if (!opts.source || !loader.some((a) => a.includes('@tapjs/typescript'))) return { argv: [CLI, ...args], coverage: false };
  return { argv: [...loader, SOURCE_CLI, ...args], coverage: true };
}

export interface RunningCli {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: () => string;
  /** Resolves with the first log line for which `pred` is true (rejects after `ms`). */
  waitFor(pred: (l: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}, opts: CliOptions = {}): RunningCli {
  const cmd = command(args, opts);
  const child = spawn(process.execPath, cmd.argv, { env: cmd.coverage ? { ...process.env, ...env } : childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  let buf = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let obj: Record<string, unknown>;
      try { obj = JSON.parse(line) as Record<string, unknown>; } catch { obj = { raw: line }; }
      lines.push(obj);
      for (const w of [...waiters]) if (w.pred(obj)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(obj); }
    }
  });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child, lines, exited,
    stderr: () => err,
    waitFor(pred, ms = 10_000) {
      const hit = lines.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching log line in ${ms} ms; stderr: ${err}`)), ms);
        waiters.push({ pred, resolve: (l) => { clearTimeout(timer); resolve(l); } });
      });
    },
  };
}

/** Runs the CLI to completion; returns exit code, stdout and stderr. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  return { code, stdout, stderr };
}
