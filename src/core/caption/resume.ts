/**
 * Reading back an output file before appending to it: which images it already has, whether it was
 * written with this run's model and prompt, and repairing the one thing a killed run can leave behind,
 * a truncated last line.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { SmolVLMError } from '../errors.js';
import { parseStoredRecord, type RecordContext, type StoredRecord } from './records.js';

export interface ExistingOutput {
  /** file_name -> caption text of every record in the file. */
  done: Map<string, string>;
  /** The broken last line that was cut off (its 1-based number and length in bytes). */
  repaired?: { line: number; bytes: number };
}

const CHUNK_BYTES = 1 << 20;

function shorten(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function refuse(message: string): never {
  throw new SmolVLMError('USAGE', message);
}

function notJson(file: string, line: Line): never {
  return refuse(`${file}: line ${line.number} is not valid JSON; fix or remove it, or use another output file`);
}

/** One line of the file: where it starts and its bytes without the newline. */
interface Line {
  number: number;
  start: number;
  bytes: Buffer;
}

/** Calls `onLine` for each newline-terminated line; returns the unterminated tail, if any. */
async function scanLines(handle: FileHandle, onLine: (line: Line) => void): Promise<Line | undefined> {
  const buffer = Buffer.alloc(CHUNK_BYTES);
  let carry: Buffer[] = [];
  let carryStart = 0;
  let position = 0;
  let number = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    let from = 0;
    for (let newline = chunk.indexOf(10, from); newline !== -1; newline = chunk.indexOf(10, from)) {
      const bytes = Buffer.concat([...carry, chunk.subarray(from, newline)]);
      onLine({ number: ++number, start: carryStart, bytes });
      carry = [];
      carryStart = position + newline + 1;
      from = newline + 1;
    }
    if (from < bytesRead) carry.push(Buffer.from(chunk.subarray(from)));
    position += bytesRead;
  }
  return carry.length > 0 ? { number: number + 1, start: carryStart, bytes: Buffer.concat(carry) } : undefined;
}

function checkContext(file: string, record: StoredRecord, line: number, context: RecordContext): void {
  const retry = 'use another output file, or overwrite it to caption everything again';
  if (record.model !== context.model) {
    refuse(`${file} was written with the model ${JSON.stringify(record.model)} (line ${line}), not ${JSON.stringify(context.model)}: ${retry}`);
  }
  if (record.prompt !== context.prompt) {
    refuse(`${file} was written with another prompt (line ${line}: ${JSON.stringify(shorten(record.prompt))}): ${retry}`);
  }
}

/**
 * Reads the records of an existing output file (none when it does not exist). Refuses (USAGE) a file
 * written with another model or prompt, and a line that is not a record anywhere but at the end. A last
 * line without its newline or that is not JSON is what a killed writer leaves: the file is truncated to
 * the end of the line before it, and `repaired` says so.
 */
export async function readExistingOutput(file: string, context: RecordContext): Promise<ExistingOutput> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { done: new Map() };
    return refuse(`cannot use ${file} as the output file: ${(error as Error).message}`);
  }
  try {
    const done = new Map<string, string>();
    // A line that is not JSON: allowed only as the last one (a killed writer's); set by the callback.
    const seen: { broken?: Line } = {};
    const tail = await scanLines(handle, (line) => {
      const text = line.bytes.toString('utf8');
      if (text.trim() === '') return;
      if (seen.broken) notJson(file, seen.broken);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        seen.broken = line;
        return;
      }
      const record = parseStoredRecord(value);
      if (typeof record === 'string') refuse(`${file}: line ${line.number} is not a caption record (${record}); use another output file`);
      checkContext(file, record, line.number, context);
      done.set(record.fileName, record.text);
    });
    if (seen.broken && tail && tail.bytes.toString('utf8').trim() !== '') notJson(file, seen.broken);
    const cut = seen.broken ?? tail;
    if (!cut) return { done };
    const { size } = await handle.stat();
    await handle.truncate(cut.start);
    await handle.sync();
    return { done, repaired: { line: cut.number, bytes: size - cut.start } };
  } finally {
    await handle.close();
  }
}
