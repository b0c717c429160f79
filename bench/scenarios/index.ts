/** Scenario name -> generator-side factory. */

import type { ScenarioName } from '../options.js';
import { broadcastWorker } from './broadcast.js';
import { echoWorker } from './echo.js';
import { floodWorker } from './flood.js';
import { handshakeWorker } from './handshake.js';
import { idleWorker } from './idle.js';
import { rateWorker } from './rate.js';
import type { ScenarioFactory } from './scenario.js';

export const SCENARIO_WORKERS: Record<ScenarioName, ScenarioFactory> = {
  echo: echoWorker,
  rate: rateWorker,
  handshake: handshakeWorker,
  idle: idleWorker,
  broadcast: broadcastWorker,
  flood: floodWorker,
};
