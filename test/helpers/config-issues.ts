/** Test helper: the located issues a config load refuses with (a ConfigError), for the config tests. */

import { ConfigError, type ConfigIssue } from '../../src/config/types.js';

/**
 * Runs `load` and returns the issues of the ConfigError it throws; any other error is rethrown.
 * A load that succeeds gives `[]`, or throws when `expectError` says it must be refused.
 */
export function configIssues(load: () => unknown, opts: { expectError?: boolean } = {}): readonly ConfigIssue[] {
  try {
    load();
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  if (opts.expectError) throw new Error('expected a ConfigError');
  return [];
}
