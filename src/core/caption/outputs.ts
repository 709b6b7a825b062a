/**
 * A run's outputs opened together: the JSONL output file (resumed or overwritten), the errors file,
 * stdout when no output is named, and the sidecar extension; plus what they say is already done.
 */
import { mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { SmolVLMError } from '../errors.js';
import { JsonlFileWriter, JsonlStreamWriter, type RecordSink } from './jsonl-writer.js';
import type { RecordContext } from './records.js';
import { readExistingOutput } from './resume.js';
import { DEFAULT_SIDECAR_EXTENSION, normaliseSidecarExtension } from './sidecar.js';

export interface OutputOptions {
  /** JSON-lines output file; resumed unless `overwrite`. */
  output?: string;
  /** Write `<stem><ext>` beside each image: true for `.txt`, or the extension. */
  sidecar?: boolean | string;
  /** JSON lines of failed images; emptied at the start of each run (failed images are retried). */
  errors?: string;
  /** Caption everything again: empties the output file and rewrites sidecars. */
  overwrite?: boolean;
  /** Where records go when neither `output` nor `sidecar` is given (default process.stdout). */
  stdout?: Writable;
  /** Base of relative `file_name`s on stdout, and of relative output paths (default process.cwd()). */
  cwd?: string;
  syncIntervalMs?: number;
}

export interface OpenOutputs {
  /** Captioned images' records: the output file or stdout; undefined with sidecars only. */
  records?: RecordSink;
  errors?: RecordSink;
  /** With a `.`; undefined without sidecars. */
  sidecarExtension?: string;
  /** Folders `file_name` is relative to (the output file's, as given and real; or the cwd for stdout). */
  bases: string[];
  /** file_name -> text of the records already in the output file (empty with `overwrite`). */
  done: Map<string, string>;
  /** Whether `done` comes from an output file (so a missing record means "not done"). */
  resumable: boolean;
  close(): Promise<void>;
}

async function folderForms(folder: string): Promise<string[]> {
  const real = await realpath(folder).catch(() => folder);
  return real === folder ? [folder] : [folder, real];
}

function sidecarExtensionOf(sidecar: OutputOptions['sidecar']): string | undefined {
  if (sidecar === undefined || sidecar === false) return undefined;
  return sidecar === true ? DEFAULT_SIDECAR_EXTENSION : normaliseSidecarExtension(sidecar);
}

async function ensureFolder(file: string): Promise<void> {
  try {
    await mkdir(path.dirname(file), { recursive: true });
  } catch (error) {
    throw new SmolVLMError('USAGE', `cannot create the folder of ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Opens everything a run writes to. Resuming reads the output file first (refusing one written with
 * another model or prompt, repairing a truncated last line: `onNotice` says so).
 */
export async function openOutputs(options: OutputOptions, context: RecordContext, onNotice: (message: string) => void): Promise<OpenOutputs> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const output = options.output === undefined ? undefined : path.resolve(cwd, options.output);
  const errorsFile = options.errors === undefined ? undefined : path.resolve(cwd, options.errors);
  if (output !== undefined && output === errorsFile) throw new SmolVLMError('USAGE', `the output and errors files must differ (both are ${options.output})`);
  const sidecarExtension = sidecarExtensionOf(options.sidecar);
  let done = new Map<string, string>();
  const sinks: RecordSink[] = [];
  const opened = async <T extends RecordSink>(sink: Promise<T>): Promise<T> => {
    const value = await sink;
    sinks.push(value);
    return value;
  };
  const close = async () => {
    const results = await Promise.allSettled(sinks.map((sink) => sink.close()));
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
  };
  try {
    let records: RecordSink | undefined;
    let bases = await folderForms(cwd);
    if (output !== undefined) {
      await ensureFolder(output);
      if (!options.overwrite) {
        const existing = await readExistingOutput(output, context);
        done = existing.done;
        if (existing.repaired) onNotice(`${output}: removed a truncated last line (line ${existing.repaired.line}, ${existing.repaired.bytes} bytes) left by an interrupted run`);
      }
      records = await opened(JsonlFileWriter.open(output, { truncate: options.overwrite, syncIntervalMs: options.syncIntervalMs }));
      bases = await folderForms(path.dirname(output));
    } else if (sidecarExtension === undefined) {
      records = await opened(Promise.resolve(new JsonlStreamWriter(options.stdout ?? process.stdout)));
    }
    let errors: RecordSink | undefined;
    if (errorsFile !== undefined) {
      await ensureFolder(errorsFile);
      errors = await opened(JsonlFileWriter.open(errorsFile, { truncate: true, syncIntervalMs: options.syncIntervalMs }));
    }
    return { records, errors, sidecarExtension, bases, done, resumable: output !== undefined, close };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}
