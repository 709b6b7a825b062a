/** Captioning many images: inputs, outputs, resume, the run, the prefetching reader and the remote captioner. */
export type {
  CaptionFailure,
  CaptionImage,
  CaptionOutput,
  CaptionProgress,
  CaptionRequest,
  CaptionResult,
  CaptionSummary,
  CaptionTimings,
  CaptionUsage,
  Captioner,
  ImageReader,
} from './types.js';
export {
  FILES_FROM_STDIN,
  collectImages,
  readFilesFrom,
  type CollectImagesOptions,
  type CollectedImages,
  type IgnoredInput,
} from './inputs.js';
export { CaptionRun, DEFAULT_PREFETCH, captionImages, type CaptionRunOptions } from './run.js';
export type { OutputOptions as CaptionOutputOptions } from './outputs.js';
export { DEFAULT_SIDECAR_EXTENSION, normaliseSidecarExtension, sidecarPath, writeFileAtomic } from './sidecar.js';
export { recordFileName, type RecordContext } from './records.js';
export { readExistingOutput, type ExistingOutput } from './resume.js';
export { DEFAULT_SYNC_INTERVAL_MS, JsonlFileWriter, JsonlStreamWriter, type JsonlFileOptions, type RecordSink } from './jsonl-writer.js';
export { fileImageReader, type FileReaderOptions } from './reader.js';
export { PrefetchingImageReader, type PrefetchReaderOptions } from './prefetch.js';
export { preparePixels, type PixelOptions, type PreparedPixels } from './prepare.js';
export {
  DEFAULT_REMOTE_CONCURRENCY,
  DEFAULT_REMOTE_RETRIES,
  DEFAULT_REMOTE_TIMEOUT_MS,
  RemoteCaptioner,
  chatCompletionsUrl,
  chatRequestBody,
  createRemoteCaptioner,
  type RemoteCaptionerOptions,
  type RemoteRetry,
} from './remote.js';
export {
  DEFAULT_CAPTION_BATCH,
  LocalCaptioner,
  createLocalCaptioner,
  batchedEngine,
  modelEngine,
  type CaptionEngine,
  type CaptionEngineFactory,
  type LocalCaptionerOptions,
} from './local.js';
export { backoffDelay, parseRetryAfter, type BackoffOptions } from './retry.js';
