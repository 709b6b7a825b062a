/**
 * The images and videos of one request, in prompt order. Each media part is read and told apart by
 * its bytes (an image argument that holds a video becomes a video), prepared, and the videos are
 * fitted to the context before anything is decoded. Their frames are decoded and encoded in the
 * encode step, one at a time.
 */
import { throwIfCancelled } from '../errors.js';
import type { ImageSourceOptions } from '../image/source.js';
import { contentParts, messageMedia, type ChatMessage, type ContentPart } from '../prompt.js';
import { usageError } from '../untyped.js';
import { readMediaSource } from '../video/source.js';
import type { ImageFeatures } from './features.js';
import { isPreparedImage, type ImageOptions, type PreparedImage } from './images.js';
import type { TokenizedPrompt, VideoUsage } from './types.js';
import { isPreparedVideo, type PreparedVideo, type VideoOptions, type VideoPreparer } from './videos.js';

/** What preparing media needs of the model. */
export interface MediaModel {
  readonly videos: VideoPreparer;
  readonly features: ImageFeatures;
  prepareImage(input: string | Uint8Array, options?: ImageOptions, source?: ImageSourceOptions): Promise<PreparedImage>;
  tokenize(messages: readonly ChatMessage[], images: readonly PreparedImage[]): TokenizedPrompt;
}

/** One image block (a picture's tiles, or one video frame) as the prompt orders them. */
export interface MediaBlock {
  key: string;
  tileCount: number;
}

/** The messages' videos in prompt order; each must be prepared already (SmolVLM.tokenize). */
export function messageVideos(messages: readonly ChatMessage[]): PreparedVideo[] {
  return messageMedia(messages).flatMap((part) => {
    if (part.type !== 'video') return [];
    if (!isPreparedVideo(part.video)) usageError('tokenize() needs prepared videos in the messages (SmolVLM.prepareVideo)');
    return [part.video];
  });
}

/** The image blocks of a prompt in order: an image's tiles as one block, a video's frames one block each. */
export function mediaBlocks(messages: readonly ChatMessage[], images: readonly PreparedImage[]): MediaBlock[] {
  let next = 0;
  return messageMedia(messages).flatMap((part): MediaBlock[] => {
    if (part.type === 'image') return images[next] ? [images[next++]!] : [];
    return isPreparedVideo(part.video) ? part.video.frameKeys.map((key) => ({ key, tileCount: 1 })) : [];
  });
}

/** The prepared media of one request, and the videos it read itself (temporary files to remove). */
export class RequestMedia {
  readonly images: PreparedImage[] = [];
  /** Prepared media by their part, in prompt order. */
  readonly #prepared: Array<PreparedImage | PreparedVideo> = [];
  readonly #owned: PreparedVideo[] = [];
  readonly #encodeMs = new Map<string, number>();

  constructor(
    readonly model: MediaModel,
    readonly options: VideoOptions = {},
  ) {}

  get videos(): PreparedVideo[] {
    return this.#prepared.filter(isPreparedVideo);
  }

  /** Reads and prepares every media part, in prompt order. */
  async prepare(messages: readonly ChatMessage[], image: ImageOptions | undefined, source: ImageSourceOptions): Promise<void> {
    for (const part of messageMedia(messages)) {
      throwIfCancelled(source.signal, 'generation');
      const input = part.type === 'image' ? part.image : part.video;
      if (isPreparedImage(input) || isPreparedVideo(input)) {
        this.#add(input);
        continue;
      }
      if (typeof input !== 'string' && !(input instanceof Uint8Array)) usageError('a media part must hold a path, URL, "-", bytes or a prepared image or video');
      const media = await readMediaSource(input, source);
      if (media.kind === 'image') {
        this.#add({ ...(await this.model.prepareImage(media.input, image, source)), label: media.label });
      } else {
        try {
          const video = await this.model.videos.prepare(media, this.options, source.signal);
          this.#owned.push(video);
          this.#add(video);
        } catch (error) {
          await media.dispose?.();
          throw error;
        }
      }
    }
  }

  /** The messages with each media part replaced by its prepared image or video (what tokenize renders). */
  messages(messages: readonly ChatMessage[]): ChatMessage[] {
    let next = 0;
    return messages.map((m) => {
      if (typeof m.content === 'string') return m;
      const content = contentParts(m).map((part): ContentPart => {
        if (part.type === 'text') return part;
        const prepared = this.#prepared[next++]!;
        return isPreparedVideo(prepared) ? { type: 'video', video: prepared } : { type: 'image', image: prepared };
      });
      return { ...m, content };
    });
  }

  /**
   * Checks each video against the context before anything is decoded: with `reservedTokens` kept for
   * the answer the whole prompt must fit, else CONTEXT_OVERFLOW with the numbers (or, with `fit`,
   * fewer frames). Videos are fitted in order, each with the ones before it as fitted.
   */
  fit(messages: readonly ChatMessage[], contextSize: number, reservedTokens: number): void {
    const { videos } = this.model;
    for (let i = 0; i < this.#prepared.length; i++) {
      const video = this.#prepared[i]!;
      if (!isPreparedVideo(video)) continue;
      const countPromptTokens = (frames: Parameters<VideoPreparer['withFrames']>[1]): number => {
        this.#prepared[i] = videos.withFrames(video, frames);
        return this.model.tokenize(this.messages(messages), this.images).ids.length;
      };
      try {
        this.#prepared[i] = videos.fit(video, { contextSize, reservedTokens, countPromptTokens }, this.options.fit ?? false);
      } catch (error) {
        this.#prepared[i] = video;
        throw error;
      }
    }
  }

  /**
   * The features of the videos' frames whose keys are in `wanted`: from the features cache, the others
   * decoded and encoded one frame at a time (progress told per frame).
   */
  async encodeFrames(wanted: ReadonlySet<string>, features: Map<string, Float32Array>, signal?: AbortSignal): Promise<void> {
    const { onProgress } = this.options;
    for (const video of this.videos) {
      // A video the prompt cache already holds (a follow-up turn) needs nothing.
      if (!video.frameKeys.some((key) => wanted.has(key))) continue;
      const started = performance.now();
      const frames = video.plan.frames.length;
      const missing = new Set(video.frameKeys.filter((key) => wanted.has(key) && !this.#fromCache(key, features)));
      let encoded = frames - missing.size;
      onProgress?.({ label: video.label, encoded, frames, ...(video.plan.reducedFrom !== undefined ? { reducedFrom: video.plan.reducedFrom } : {}) });
      for await (const { key, pixels } of this.model.videos.framePixels(video, missing, signal)) {
        features.set(key, await this.model.features.encodeFrame(key, pixels));
        onProgress?.({ label: video.label, encoded: ++encoded, frames });
      }
      this.#encodeMs.set(video.key, (this.#encodeMs.get(video.key) ?? 0) + performance.now() - started);
    }
  }

  /** What --verbose and --json report per video. */
  usage(videos: readonly PreparedVideo[]): VideoUsage[] {
    return videos.map((video) => ({
      label: video.label,
      frames: video.plan.frames.length,
      timestamps: [...video.plan.prompt.timestamps],
      duration: video.plan.info.duration,
      tokens: video.tokens,
      encodeMs: this.#encodeMs.get(video.key) ?? 0,
      ...(video.plan.reducedFrom !== undefined ? { reducedFrom: video.plan.reducedFrom } : {}),
    }));
  }

  /** Removes the temporary copies of videos this request read from stdin or downloads. */
  async dispose(): Promise<void> {
    await Promise.all(this.#owned.map((video) => video.dispose()));
  }

  #add(prepared: PreparedImage | PreparedVideo): void {
    this.#prepared.push(prepared);
    if (!isPreparedVideo(prepared)) this.images.push(prepared);
  }

  #fromCache(key: string, features: Map<string, Float32Array>): boolean {
    const cached = this.model.features.cached(key);
    if (cached) features.set(key, cached);
    return cached !== undefined;
  }
}
