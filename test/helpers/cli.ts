/** Test helper: runs the compiled CLI (dist/, built by `npm test`'s pretest) as a child process and reads its JSON log lines. */

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/cli.js');

/**
 * The child's environment: tap's process tracking stays; its coverage is off unless asked for
 * (`{ coverage: true }`). A child's coverage of dist/*.js is mapped back to src/*.ts through the
 * source maps and merges with the in-process coverage of the same files (c8 reports per source
 * line): measured on a quiet checkout, test/admin alone against test/admin + test/cluster with
 * coverage on, no in-process file lost a covered line or function. Two things do break it:
 * a dist/ older than src/ (run `npx tsc -p tsconfig.json` first, as `npm test` does), and another
 * tap run in the same checkout at the same time (both use .tap/coverage). Coverage is written at
 * a normal exit only: stop such a child with SIGTERM and wait, not SIGKILL.
 */
export interface CliOptions { coverage?: boolean }

function childEnv(env: NodeJS.ProcessEnv, opts: CliOptions = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...env, ...(opts.coverage ? {} : { _TAPJS_PROCESSINFO_COVERAGE_: '0' }) };
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
  const child = spawn(process.execPath, [CLI, ...args], { env: childEnv(env, opts), stdio: ['ignore', 'pipe', 'pipe'] });
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
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runScript(CLI, args, env);
}

/** Runs a Node script (a built bin) to completion, coverage off; returns exit code, stdout and stderr. */
export async function runScript(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [script, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  return { code, stdout, stderr };
}
