/** The config a process tree runs, as the primary read it: the file's text and the environment it was interpolated with, so every worker loads exactly what the primary validated. */

import { readFileSync } from 'node:fs';
import { loadConfigText, type LoadOptions } from '../config/load.js';
import { ConfigError, type Config } from '../config/types.js';
import type { ConfigSource } from './protocol.js';

/** Reads the file once; an unreadable file is a ConfigError like any other (exit code 2, refused reload). */
export function readConfigSource(file: string, env: NodeJS.ProcessEnv = process.env): ConfigSource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError([{ file, line: 1, col: 1, path: '(file)', message: `cannot read config file: ${err.code ?? err.message}` }]);
  }
  // A snapshot: what ${VAR} meant when the text was read, whatever the receiving process's environment says.
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) vars[k] = v;
  return { text, file, env: vars };
}

/** The Config of a source; the same text and environment give the same Config (and the same file:line:col in errors) in any process. */
export function loadSource(src: ConfigSource, opts: LoadOptions = {}): Config {
  return loadConfigText(src.text, src.file, src.env, opts);
}
