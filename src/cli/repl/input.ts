/** Turning typed lines into messages and commands: `"""` blocks, `/command args`. */

const FENCE = '"""';

/**
 * Collects `"""` multi-line messages, as Ollama reads them: a line starting with `"""` opens a
 * block (text after the quotes is its first line); the block ends at a line ending with `"""`
 * (text before the quotes is its last line). `"""one line"""` is a block of one line.
 */
export class MessageAssembler {
  #lines: string[] | undefined;

  /** True inside an unfinished block. */
  get open(): boolean {
    return this.#lines !== undefined;
  }

  /** Whether `line` opens a block (only meaningful when no block is open). */
  static opens(line: string): boolean {
    return line.trimStart().startsWith(FENCE);
  }

  /** Feeds one line; returns the whole message when the block is complete, else undefined. */
  push(line: string): string | undefined {
    if (this.#lines === undefined) {
      const rest = line.trimStart().slice(FENCE.length);
      this.#lines = [];
      if (rest.trimEnd().endsWith(FENCE)) return this.#finish(rest.trimEnd().slice(0, -FENCE.length));
      if (rest.trim() !== '') this.#lines.push(rest);
      return undefined;
    }
    if (line.trimEnd().endsWith(FENCE)) return this.#finish(line.trimEnd().slice(0, -FENCE.length));
    this.#lines.push(line);
    return undefined;
  }

  /** Ends an unfinished block (end of input): its text so far, or undefined when no block is open. */
  flush(): string | undefined {
    if (this.#lines === undefined) return undefined;
    return this.#finish('');
  }

  reset(): void {
    this.#lines = undefined;
  }

  #finish(last: string): string {
    const lines = this.#lines ?? [];
    if (last.trim() !== '') lines.push(last);
    this.#lines = undefined;
    return trimBlankLines(lines).join('\n');
  }
}

function trimBlankLines(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && lines[start]!.trim() === '') start++;
  while (end > start && lines[end - 1]!.trim() === '') end--;
  return lines.slice(start, end);
}

export interface CommandLine {
  /** Lower case, without the slash. */
  name: string;
  /** The rest of the line, trimmed. */
  args: string;
}

/**
 * A line is a command when it starts with `/` followed by a word of letters (`/set top_k 5`,
 * `/?`). A line starting with an absolute path (`/home/me/cat.jpg what is this?`, a dragged-in
 * file) is a message: its first word has another `/` or a dot.
 */
export function parseCommandLine(line: string): CommandLine | undefined {
  const match = /^\s*\/(\S*)(?:\s+([\s\S]*))?$/.exec(line);
  if (!match) return undefined;
  const word = match[1]!;
  if (word !== '?' && !/^[A-Za-z][\w-]*$/.test(word)) return undefined;
  return { name: word.toLowerCase(), args: (match[2] ?? '').trim() };
}

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
