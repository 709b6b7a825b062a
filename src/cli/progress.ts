/**
 * Download progress on stderr, the same for every command that may fetch a model (describe, ask, story,
 * chat, pull). On a terminal: the spinner line becomes a bar with bytes, speed and ETA over all files to
 * download. In a pipe: a plain line per finished file (and per wait or resume). --quiet: nothing.
 */
import { formatBytes, type DownloadProgress } from '../index.js';
import type { Renderer } from './render.js';

/** Sizes as the command line shows them: one decimal kept, so that a progress line or a column does not change width. */
export const formatSize = (bytes: number): string => formatBytes(bytes, { fixed: true });

/** Seconds -> "42s", "3m05s", "2h07m". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `[####------]`: `fraction` of `width` filled. */
export function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

function counter(event: DownloadProgress): string {
  return event.totalFiles > 1 ? ` (${event.fileIndex + 1}/${event.totalFiles})` : '';
}

/** The line shown in a pipe for an event, or undefined when the event gets none there. */
export function formatProgressLine(event: DownloadProgress): string | undefined {
  switch (event.phase) {
    case 'waiting':
      return `waiting for another process downloading ${event.repo} ${event.file}`;
    case 'done':
      return `downloaded ${event.repo} ${event.file}${counter(event)}, ${formatSize(event.total)}`;
    case 'found':
      return `found ${event.repo} ${event.file}${counter(event)} in the cache: another process downloaded it`;
    default:
      return undefined;
  }
}

/** Speed over the last few seconds, from samples of bytes received by this process. */
class RateMeter {
  readonly #samples: { t: number; bytes: number }[] = [];
  constructor(private readonly windowMs = 5000) {}

  add(t: number, bytes: number): void {
    this.#samples.push({ t, bytes });
    while (this.#samples.length > 2 && t - this.#samples[1]!.t > this.windowMs) this.#samples.shift();
  }

  /** Bytes per second, or undefined before there is half a second of data. */
  get rate(): number | undefined {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || !last || last.t - first.t < 500) return undefined;
    return ((last.bytes - first.bytes) * 1000) / (last.t - first.t);
  }
}

export interface ProgressViewOptions {
  /** Terminal width for the bar line (default 80). */
  columns?: () => number | undefined;
  now?: () => number;
  /** Least milliseconds between two redraws of the bar (default 100). */
  redrawMs?: number;
}

/** What a download did, for a closing summary. */
export interface DownloadSummary {
  files: number;
  /** Bytes received by this process (resumed bytes excluded). */
  bytes: number;
  ms: number;
}

/**
 * Turns the hub's progress events into output through the command's Renderer. Pass `view.onProgress` as the
 * `onProgress` option of resolveModelSource / pullModel.
 */
export class DownloadProgressView {
  readonly #renderer: Renderer;
  readonly #columns: () => number | undefined;
  readonly #now: () => number;
  readonly #redrawMs: number;
  readonly #rate = new RateMeter();
  #started: number | undefined;
  #lastDraw = 0;
  #files = 0;
  /** Bytes received in this process: per file, downloaded minus what was resumed. */
  #received = 0;
  #currentFile = '';
  #currentBase = 0;
  #currentDone = 0;
  #lastPhase: DownloadProgress['phase'] | undefined;

  constructor(renderer: Renderer, options: ProgressViewOptions = {}) {
    this.#renderer = renderer;
    this.#columns = options.columns ?? (() => undefined);
    this.#now = options.now ?? Date.now;
    this.#redrawMs = options.redrawMs ?? 100;
  }

  readonly onProgress = (event: DownloadProgress): void => {
    const now = this.#now();
    this.#started ??= now;
    // a new file, or the first bytes after waiting on another process (which may have left a partial file)
    if (event.file !== this.#currentFile || this.#lastPhase === 'waiting') {
      this.#currentFile = event.file;
      this.#currentBase = event.resumedFrom;
      this.#currentDone = 0;
      if (event.phase === 'downloading' && event.resumedFrom > 0 && !this.#renderer.interactive) {
        this.#renderer.note(`resuming ${event.repo} ${event.file} at ${formatSize(event.resumedFrom)} of ${formatSize(event.total)}`);
      }
    }
    if (event.phase === 'downloading') {
      const got = Math.max(0, event.downloaded - this.#currentBase);
      this.#received += got - this.#currentDone;
      this.#currentDone = got;
    }
    if (event.phase === 'done') {
      // the last bytes of a file whose final chunk had no event of its own (not after waiting: then another process got them)
      if (this.#lastPhase === 'downloading') this.#received += Math.max(0, event.total - this.#currentBase - this.#currentDone);
      this.#files++;
      this.#currentFile = '';
    }
    this.#lastPhase = event.phase;
    this.#rate.add(now, this.#received);

    if (!this.#renderer.interactive) {
      const line = formatProgressLine(event);
      if (line !== undefined) this.#renderer.note(line);
      return;
    }
    const last = event.phase === 'done' && event.fileIndex === event.totalFiles - 1;
    if (event.phase === 'downloading' && now - this.#lastDraw < this.#redrawMs && !last) return;
    this.#lastDraw = now;
    this.#renderer.spin(this.barLine(event));
  };

  /** The terminal line: `Downloading org/name [####----] 45% 12.3 MiB / 27.0 MiB, 5.1 MiB/s, ETA 3s (3/7) onnx/x.onnx`. */
  barLine(event: DownloadProgress): string {
    if (event.phase === 'waiting') return `Waiting for another process downloading ${event.repo} ${event.file}`;
    const columns = this.#columns() ?? 80;
    const total = event.overallTotal;
    const done = event.overallDownloaded;
    const percent = total > 0 ? `${String(Math.floor((done / total) * 100)).padStart(3)}%` : '';
    const rate = this.#rate.rate;
    const speed = rate !== undefined ? `, ${formatSize(rate)}/s` : '';
    const eta = rate !== undefined && rate > 0 && total > done ? `, ETA ${formatDuration((total - done) / rate)}` : '';
    const head = `Downloading ${event.repo}`;
    const tail = `${percent} ${formatSize(done)} / ${formatSize(total)}${speed}${eta}`;
    const file = `${counter(event)} ${event.file}`;
    // 2 columns for the spinner glyph and its space, 1 spare so that the line never wraps
    const max = columns - 3;
    const withBar = (suffix: string): string | undefined => {
      const width = Math.min(30, max - head.length - tail.length - suffix.length - 4);
      return width < 10 ? undefined : `${head} ${bar(total > 0 ? done / total : 0, width)} ${tail}${suffix}`;
    };
    const line = withBar(file) ?? withBar('') ?? `${head}${tail}`;
    return line.length > max ? `${line.slice(0, Math.max(0, max - 1))}…` : line;
  }

  /** Files downloaded, bytes received and time spent so far. */
  summary(): DownloadSummary {
    return { files: this.#files, bytes: this.#received, ms: this.#started === undefined ? 0 : this.#now() - this.#started };
  }
}
