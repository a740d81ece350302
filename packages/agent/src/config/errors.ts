/**
 * The configuration error: every problem of a configuration, each named by its path.
 *
 * @module
 */

import { AgentError, AgentErrorCode } from '../errors.js';

/** One problem of a configuration. */
export interface ConfigIssue {
  /** Where, e.g. `topics[3].qos`; `(root)` for the file as a whole. */
  readonly path: string;
  /** What is wrong, e.g. `must be 0, 1 or 2`. */
  readonly message: string;
}

/**
 * A configuration was refused. The agent never starts on part of a configuration: it reports
 * every issue at once so that the installer can fix the file in one go.
 */
export class ConfigError extends AgentError {
  /** Every problem found, in the order of the file where possible. */
  readonly issues: readonly ConfigIssue[];
  /** The file the configuration came from, if any. */
  readonly file: string | undefined;

  constructor(issues: readonly ConfigIssue[], file?: string) {
    const where = file === undefined ? 'configuration' : `configuration ${file}`;
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(
      AgentErrorCode.CONFIG,
      `invalid ${where} (${count}):\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
    );
    this.issues = issues;
    this.file = file;
  }

  /** The issues as `path: message` lines. */
  lines(): string[] {
    return this.issues.map((i) => `${i.path}: ${i.message}`);
  }
}

/** Renders a path as people write it: `['topics', 3, 'qos']` → `topics[3].qos`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}
