/** The REPL's persistent input history: `$XDG_STATE_HOME/smolvlm/history`, else `~/.local/state/smolvlm/history`. */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const HISTORY_SIZE = 1000;

export function historyFile(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  const base = state && path.isAbsolute(state) ? state : path.join(env.HOME || os.homedir(), '.local', 'state');
  return path.join(base, 'smolvlm', 'history');
}

/**
 * One line per entry, oldest first on disk. Failures to read or write are not errors: a REPL without
 * history still works.
 */
export class History {
  #last: string | undefined;

  constructor(readonly file: string) {}

  /** Entries newest first (what readline's `history` option takes); trims the file when it grew large. */
  load(): string[] {
    let lines: string[];
    try {
      lines = readFileSync(this.file, 'utf8').split('\n').filter((l) => l !== '');
    } catch {
      return [];
    }
    if (lines.length > 2 * HISTORY_SIZE) {
      lines = lines.slice(-HISTORY_SIZE);
      try {
        writeFileSync(this.file, `${lines.join('\n')}\n`, { mode: 0o600 });
      } catch {
        // keep going without trimming
      }
    }
    const recent = lines.slice(-HISTORY_SIZE);
    this.#last = recent.at(-1);
    return recent.reverse();
  }

  /** Appends a line (not blank ones, not a repeat of the previous one, not ones typed with a leading space). */
  add(line: string): void {
    if (line.trim() === '' || line.startsWith(' ') || line === this.#last || line.includes('\n')) return;
    this.#last = line;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      appendFileSync(this.file, `${line}\n`, { mode: 0o600 });
    } catch {
      // a read-only home is no reason to stop chatting
    }
  }
}
