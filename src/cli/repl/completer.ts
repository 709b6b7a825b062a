/**
 * Tab completion for the chat prompt (readline's `completer`): slash commands, the words `/set` and
 * `/show` take, and file paths after /image, /load, /save and in messages (a path being typed or
 * dragged in). Readline shows the candidates and fills in their common prefix.
 */
import { readdirSync, type Dirent } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { COMMANDS, SET_WORDS, SHOW_TOPICS } from './commands.js';
import { SETTINGS } from './settings.js';

/** readline's completer result: the candidates, and the part of the line they replace. */
export type Completion = [candidates: string[], replaced: string];

export interface CompleterOptions {
  /** Relative paths are completed from here. */
  cwd: string;
  /** What `~` stands for (the user's home by default). */
  home?: string;
}

const PATH_COMMANDS = new Set(['image', 'load', 'save']);

/** The candidates of the word at the end of `line`. */
export function completeLine(line: string, options: CompleterOptions): Completion {
  const command = /^\s*\/(\S*)$/.exec(line);
  if (command) return startingWith(commandWords(), `/${command[1]}`);
  const args = /^\s*\/(\S+)\s+(.*)$/.exec(line);
  if (args) {
    const name = args[1]!.toLowerCase();
    const rest = args[2]!;
    if (name === 'set') return completeSet(rest);
    if (name === 'show') return /\s/.test(rest) ? [[], rest] : startingWith(SHOW_TOPICS, rest);
    if (PATH_COMMANDS.has(name)) return completePath(rest, options);
  }
  // A message: complete the last word when it is a path being typed.
  const lastWord = /(?:^|[^\\])\s((?:[^\s]|\\\s)*)$/.exec(` ${line}`)?.[1] ?? '';
  if (/^(~|\.{1,2})?\//.test(lastWord)) return completePath(lastWord, options);
  return [[], line];
}

function commandWords(): string[] {
  return COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])]).map((name) => `/${name}`);
}

function startingWith(words: readonly string[], prefix: string): Completion {
  const lower = prefix.toLowerCase();
  return [words.filter((w) => w.toLowerCase().startsWith(lower)), prefix];
}

/** `/set <param>` (the settings table's names and Ollama's words), `/set parameter <param>`. */
function completeSet(rest: string): Completion {
  const names = SETTINGS.map((s) => s.name);
  const words = rest.split(/\s+/);
  if (words.length === 1) return startingWith([...names, ...SET_WORDS], rest);
  if (words.length === 2 && words[0]!.toLowerCase() === 'parameter') return startingWith(names, words[1]!);
  return [[], rest];
}

/** Files and folders whose path starts with `typed` (spaces escaped as `\ `, folders ending in `/`). */
export function completePath(typed: string, options: CompleterOptions): Completion {
  const plain = typed.replace(/\\(.)/g, '$1');
  const slash = plain.lastIndexOf('/');
  const dirPart = slash === -1 ? '' : plain.slice(0, slash + 1);
  const base = plain.slice(slash + 1);
  const home = options.home ?? os.homedir();
  const expanded = dirPart.startsWith('~/') ? path.join(home, dirPart.slice(2)) : dirPart;
  let entries: Dirent[];
  try {
    entries = readdirSync(path.resolve(options.cwd, expanded || '.'), { withFileTypes: true });
  } catch {
    return [[], typed];
  }
  const candidates = entries
    .filter((e) => e.name.startsWith(base) && (base.startsWith('.') || !e.name.startsWith('.')))
    .map((e) => `${dirPart}${e.name}${e.isDirectory() ? '/' : ''}`.replace(/ /g, '\\ '))
    .sort();
  return [candidates, typed];
}
