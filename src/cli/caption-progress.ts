/**
 * What `smolvlm caption` shows on stderr: on a terminal a bar with the count, images per minute, the
 * ETA and the current file; in a pipe a status line every few seconds; nothing with --quiet. And the
 * one summary line at the end (a JSON object with --json: stdout is for records).
 */
import path from 'node:path';
import type { CaptionProgress, CaptionSummary } from '../index.js';
import { bar, formatDuration } from './progress.js';
import type { Renderer } from './render.js';

/** `35.2 images/min` (whole numbers from 100 up). */
export function formatRate(perMinute: number): string {
  const value = perMinute >= 100 ? String(Math.round(perMinute)) : perMinute.toFixed(1);
  return `${value} images/min`;
}

/** The current file as the user named it: relative to the working folder when inside it. */
export function displayPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

function counts(p: Pick<CaptionProgress, 'skipped' | 'failed'>): string {
  const parts: string[] = [];
  if (p.skipped > 0) parts.push(`${p.skipped} already done`);
  if (p.failed > 0) parts.push(`${p.failed} failed`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

function rateAndEta(p: CaptionProgress): string[] {
  const parts: string[] = [];
  if (p.imagesPerMinute > 0) parts.push(formatRate(p.imagesPerMinute));
  if (p.etaMs !== undefined && p.completed < p.total) parts.push(`ETA ${formatDuration(p.etaMs / 1000)}`);
  return parts;
}

/** The terminal line: `Captioning [#####-----] 120/1000 · 35.2 images/min · ETA 25m · photos/cat.jpg`, never wider than `columns`. */
export function progressBarLine(p: CaptionProgress, columns: number, cwd: string): string {
  const head = 'Captioning';
  const tail = [`${p.completed}/${p.total}${counts(p)}`, ...rateAndEta(p)].join(' · ');
  const file = p.current === undefined || p.completed >= p.total ? '' : ` · ${displayPath(p.current, cwd)}`;
  // 2 columns for the spinner glyph and its space, 1 spare so that the line never wraps.
  const max = columns - 3;
  const width = Math.min(30, max - head.length - tail.length - 3);
  const line = width >= 10 ? `${head} ${bar(p.total > 0 ? p.completed / p.total : 0, width)} ${tail}${file}` : `${head} ${tail}${file}`;
  return line.length > max ? `${line.slice(0, Math.max(0, max - 1))}…` : line;
}

/** The line printed in a pipe every few seconds. */
export function progressStatusLine(p: CaptionProgress): string {
  const percent = p.total > 0 ? ` (${Math.floor((p.completed / p.total) * 100)}%)` : '';
  return [`caption: ${p.completed}/${p.total}${percent}${counts(p)}`, ...rateAndEta(p)].join(', ');
}

/** `captioned 980, skipped 18 (already done), failed 2 · 35.2 images/min · 28m03s`. */
export function summaryLine(s: CaptionSummary): string {
  const head = `captioned ${s.captioned}, skipped ${s.skipped} (already done), failed ${s.failed}`;
  const line = `${head} · ${formatRate(s.imagesPerMinute)} · ${formatDuration(s.wallMs / 1000)}`;
  return s.interrupted ? `${line} · interrupted` : line;
}

/** The --json summary, snake_cased as the records are. */
export function summaryJson(s: CaptionSummary): Record<string, unknown> {
  return {
    summary: {
      total: s.total,
      captioned: s.captioned,
      skipped: s.skipped,
      failed: s.failed,
      images_per_minute: Math.round(s.imagesPerMinute * 10) / 10,
      wall_ms: Math.round(s.wallMs),
      interrupted: s.interrupted,
    },
  };
}

export interface CaptionProgressOptions {
  cwd: string;
  columns?: () => number | undefined;
  now?: () => number;
  /** Least milliseconds between two redraws of the bar (default 100). */
  redrawMs?: number;
  /** Least milliseconds between two status lines in a pipe (default 5000). */
  statusMs?: number;
}

/** Turns a run's progress into the bar or the status lines; pass `view.onProgress` to captionImages. */
export class CaptionProgressView {
  readonly #renderer: Renderer;
  readonly #options: CaptionProgressOptions;
  readonly #now: () => number;
  #lastDraw: number | undefined;
  #lastStatus: number | undefined;

  constructor(renderer: Renderer, options: CaptionProgressOptions) {
    this.#renderer = renderer;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  readonly onProgress = (progress: CaptionProgress): void => {
    if (this.#renderer.quiet) return;
    const now = this.#now();
    if (this.#renderer.interactive) {
      const last = progress.completed >= progress.total;
      if (this.#lastDraw !== undefined && now - this.#lastDraw < (this.#options.redrawMs ?? 100) && !last) return;
      this.#lastDraw = now;
      this.#renderer.spin(progressBarLine(progress, this.#options.columns?.() ?? 80, this.#options.cwd));
      return;
    }
    // In a pipe: the first line once work has been done, then every few seconds.
    this.#lastStatus ??= now;
    if (now - this.#lastStatus < (this.#options.statusMs ?? 5000)) return;
    this.#lastStatus = now;
    this.#renderer.note(progressStatusLine(progress));
  };

  /** Removes the bar (before the summary). */
  stop(): void {
    this.#renderer.stopSpinner();
  }
}
