/** A run's counts, rate and ETA, for progress reports and the closing summary. */
import type { CaptionProgress, CaptionResult, CaptionSummary } from './types.js';

export class RunTally {
  #total: number;
  readonly #onProgress: ((progress: CaptionProgress) => void) | undefined;
  #captioned = 0;
  #skipped = 0;
  #failed = 0;
  #startedAt: number | undefined;
  /** When the first caption began: the rate leaves out the time spent skipping done images. */
  #firstCaptionAt: number | undefined;
  #endedAt: number | undefined;
  #current: string | undefined;

  constructor(total: number, onProgress?: (progress: CaptionProgress) => void) {
    this.#total = total;
    this.#onProgress = onProgress;
  }

  /** The number of images once duplicates are gone. */
  setTotal(total: number): void {
    this.#total = total;
  }

  start(): void {
    this.#startedAt ??= performance.now();
  }

  finish(): void {
    this.#endedAt ??= performance.now();
  }

  /** An image went to the captioner. */
  begin(path: string): void {
    this.#firstCaptionAt ??= performance.now();
    this.#current = path;
    this.#report();
  }

  add(result: CaptionResult): void {
    if (result.status === 'done') this.#captioned++;
    else if (result.status === 'skipped') this.#skipped++;
    else this.#failed++;
    this.#report();
  }

  #now(): number {
    return this.#endedAt ?? performance.now();
  }

  progress(): CaptionProgress {
    const now = this.#now();
    const completed = this.#captioned + this.#skipped + this.#failed;
    const captionMs = this.#firstCaptionAt === undefined ? 0 : now - this.#firstCaptionAt;
    const imagesPerMinute = captionMs > 0 ? (this.#captioned * 60_000) / captionMs : 0;
    // Failed images take time too; the ETA counts every image that went through the captioner.
    const worked = this.#captioned + this.#failed;
    const etaMs = worked > 0 && captionMs > 0 ? ((this.#total - completed) * captionMs) / worked : undefined;
    return {
      total: this.#total,
      completed,
      captioned: this.#captioned,
      skipped: this.#skipped,
      failed: this.#failed,
      elapsedMs: this.#startedAt === undefined ? 0 : now - this.#startedAt,
      imagesPerMinute,
      etaMs,
      current: this.#current,
    };
  }

  summary(interrupted: boolean): CaptionSummary {
    const now = this.#now();
    const wallMs = this.#startedAt === undefined ? 0 : now - this.#startedAt;
    // The same rate as the progress reports: from the first caption on (loading a model and skipping done images left out).
    const captionMs = this.#firstCaptionAt === undefined ? 0 : now - this.#firstCaptionAt;
    return {
      total: this.#total,
      captioned: this.#captioned,
      skipped: this.#skipped,
      failed: this.#failed,
      imagesPerMinute: captionMs > 0 ? (this.#captioned * 60_000) / captionMs : 0,
      wallMs,
      interrupted,
    };
  }

  #report(): void {
    this.#onProgress?.(this.progress());
  }
}
