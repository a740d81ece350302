/**
 * Where the console keeps the configuration it edits.
 *
 * {@link FileConfigStore} saves atomically: the new text is written to `<file>.tmp`, fsync'd,
 * renamed over the file, and the directory is fsync'd so the rename itself is durable. A power
 * cut at any point leaves the old file or the new one, never a mix. Before the rename the
 * current file is copied (the same way) to `<file>.prev`, the configuration a bad change can be
 * rolled back to. The file is edited, not rewritten: what did not change (comments, key order,
 * settings left to their defaults) stays as it was (see `config-edit.ts`).
 * {@link MemoryConfigStore} does the same in memory, for the demo.
 *
 * @module
 */

import { readFile } from 'node:fs/promises';
import type { AgentConfig } from '../config/schema.js';
import { parseConfigText } from '../config/validate.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { editConfigText } from './config-edit.js';

/** The configuration the console reads, saves and rolls back. */
export interface ConfigStore {
  /** The file it lives in, or undefined in memory. */
  readonly file: string | undefined;
  /** The previous configuration, if one was replaced. */
  previous(): Promise<AgentConfig | undefined>;
  /** Saves `config`, keeping the one it replaces as the previous one. */
  save(config: AgentConfig): Promise<void>;
}

/** The configuration file of `courier agent -c <file>`. */
export class FileConfigStore implements ConfigStore {
  readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  get previousFile(): string {
    return `${this.file}.prev`;
  }

  async previous(): Promise<AgentConfig | undefined> {
    let text: string;
    try {
      text = await readFile(this.previousFile, 'utf8');
    } catch {
      return undefined;
    }
    // A .prev file that no longer validates (edited by hand) is no roll-back target.
    try {
      return parseConfigText(text, this.file);
    } catch {
      return undefined;
    }
  }

  async save(config: AgentConfig): Promise<void> {
    let current: string | undefined;
    try {
      current = await readFile(this.file, 'utf8');
    } catch {
      current = undefined;
    }
    if (current !== undefined) await writeFileAtomic(this.previousFile, current);
    await writeFileAtomic(this.file, editConfigText(current, config, this.file));
  }
}

/** A configuration kept in memory (the demo has no file). */
export class MemoryConfigStore implements ConfigStore {
  readonly file = undefined;
  #current: AgentConfig;
  #previous: AgentConfig | undefined;

  constructor(initial: AgentConfig) {
    this.#current = initial;
  }

  async previous(): Promise<AgentConfig | undefined> {
    return this.#previous;
  }

  async save(config: AgentConfig): Promise<void> {
    this.#previous = this.#current;
    this.#current = config;
  }
}
