/** --json FILE: every figure of the run and the merged encoded histograms. */

import fs from 'node:fs';
import path from 'node:path';
import type { BenchResult } from '../run.js';

export function writeJson(file: string, result: BenchResult | object): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
}

export function readJson(file: string): BenchResult {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResult;
}
