/** The generator processes of one run: forked children (ulimit -n is per process), spoken to over IPC. */

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromWorker, ToWorker } from './protocol.js';

// Under the test runner this module is TypeScript loaded through a loader that the child
// inherits with execArgv; compiled, it is worker.js next to this file.
const WORKER = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url));

export class WorkerPool {
  readonly #children: ChildProcess[] = [];
  readonly #exited: Promise<void>[] = [];

  constructor(n: number, onMessage: (index: number, m: FromWorker) => void, onExit: (index: number, code: number | null) => void) {
    for (let i = 0; i < n; i++) {
      const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
      child.on('message', (m: FromWorker) => onMessage(i, m));
      this.#exited.push(new Promise((resolve) => child.once('exit', (code) => { onExit(i, code); resolve(); })));
      child.on('error', () => undefined);
      this.#children.push(child);
    }
  }

  get size(): number {
    return this.#children.length;
  }

  get pids(): number[] {
    return this.#children.map((c) => c.pid!);
  }

  send(index: number, m: ToWorker): void {
    const c = this.#children[index]!;
    if (c.connected) c.send(m);
  }

  broadcast(m: ToWorker): void {
    for (let i = 0; i < this.#children.length; i++) this.send(i, m);
  }

  /** Asks every child to exit, killing those still there after `ms`. */
  async close(ms = 3000): Promise<void> {
    this.broadcast({ type: 'exit' });
    const timer = setTimeout(() => { for (const c of this.#children) if (c.exitCode === null) c.kill('SIGKILL'); }, ms);
    await Promise.all(this.#exited);
    clearTimeout(timer);
  }
}
