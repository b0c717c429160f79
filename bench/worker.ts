/** A wslb-bench generator process: runs one share of a scenario, driven by the parent over IPC (protocol.ts). */

import type { FromWorker, ToWorker, WorkerJob } from './protocol.js';
import { SCENARIO_WORKERS } from './scenarios/index.js';
import type { ScenarioWorker } from './scenarios/scenario.js';
import { Stats } from './stats.js';

const send = (m: FromWorker): void => {
  if (process.connected) process.send!(m);
};

const stats = new Stats();
let scenario: ScenarioWorker | null = null;
let ticker: NodeJS.Timeout | null = null;

async function onJob(job: WorkerJob): Promise<void> {
  scenario = SCENARIO_WORKERS[job.opts.scenario](job, stats);
  scenario.onExhausted = () => send({ type: 'exhausted' });
  ticker = setInterval(() => send({ type: 'tick', tick: stats.takeTick(scenario!.open) }), 1000);
  await scenario.setup();
  send({ type: 'ready', open: scenario.open });
}

async function onStop(): Promise<void> {
  stats.phase = 'drain';
  await scenario?.stop();
  if (ticker) clearInterval(ticker);
  send({ type: 'tick', tick: stats.takeTick(scenario?.open ?? 0) });
  send({ type: 'done', final: stats.final(scenario?.open ?? 0) });
  scenario?.close();
}

function fatal(err: unknown): void {
  send({ type: 'fatal', message: (err as Error).message ?? String(err) });
  setTimeout(() => process.exit(1), 100);
}

process.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'job': onJob(m.job).catch(fatal); break;
    case 'go': stats.phase = m.measure ? 'measure' : 'warmup'; scenario?.start(); break;
    case 'measure': stats.phase = 'measure'; break;
    case 'stop': onStop().catch(fatal); break;
    case 'exit': scenario?.close(); setTimeout(() => process.exit(0), 50); break;
  }
});
// The parent is gone: do not linger holding connections.
process.on('disconnect', () => process.exit(0));
process.on('uncaughtException', fatal);
