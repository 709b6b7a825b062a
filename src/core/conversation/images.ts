/**
 * The conversation's images and videos: read and tiled (or probed and sampled) once when attached,
 * images kept with their bytes so that a change of the image settings (split, image size) re-tiles
 * them without reading them again; a change of the video settings (fps, max frames) samples a video
 * again without probing it again.
 */
import { throwIfCancelled } from '../errors.js';
import { readImageSource, resolveLocalPath, type ImageSourceOptions } from '../image/source.js';
import { isPreparedVideo, type ImageOptions, type PreparedImage, type PreparedVideo, type SmolVLM, type VideoOptions } from '../model.js';
import type { GenerationSettings } from '../settings.js';
import { readMediaSource } from '../video/source.js';

/** An image of the conversation: where it came from and how it was prepared. */
export interface ConversationImage {
  /** As given: a path, `file://` or http(s) URL, `data:` URI; `-` for stdin, '' for bytes. */
  readonly source: string;
  /** Absolute path when the image is a local file. */
  readonly path?: string;
  /** What to call it: the path as given, the URL, 'stdin', 'image bytes'. */
  readonly label: string;
  /** Prepared with the conversation's current image settings. */
  readonly prepared: PreparedImage;
}

/** A video of the conversation: where it came from and how it was sampled. */
export interface ConversationVideo {
  /** As given: a path, `file://` or http(s) URL, `data:` URI; '' for bytes. */
  readonly source: string;
  /** Absolute path when the video is a local file. */
  readonly path?: string;
  readonly label: string;
  /** Sampled with the conversation's current video settings. */
  readonly prepared: PreparedVideo;
}

/** An image or a video of the conversation (a video's `prepared` is a PreparedVideo). */
export type ConversationMedia = ConversationImage | ConversationVideo;

export function isConversationVideo(media: ConversationMedia): media is ConversationVideo {
  return isPreparedVideo(media.prepared);
}

/** An image or video argument: a path, URL, `data:` URI, `-`, bytes, or one the conversation (or another) has. */
export type ImageArgument = string | Uint8Array | ConversationMedia;

export interface ImageListing {
  image: ConversationMedia;
  /** Index into messages; undefined for an image waiting for the next message. */
  message?: number;
}

/** The settings that change how an image or video is prepared; they apply to all of a conversation's. */
export type ImageSettings = Pick<GenerationSettings, 'split' | 'imageSize' | 'fps' | 'maxFrames'>;

/** A ConversationImage with what re-tiling needs: its bytes and the image settings it was prepared with. */
export interface ImageEntry extends ConversationImage {
  prepared: PreparedImage;
  bytes: Uint8Array;
  optionsKey: string;
}

/** A ConversationVideo with the video settings it was sampled with. */
export interface VideoEntry extends ConversationVideo {
  prepared: PreparedVideo;
  optionsKey: string;
}

export type MediaEntry = ImageEntry | VideoEntry;

/** How an image is named in the conversation, whatever it was read from. */
interface ImageName {
  source: string;
  label: string;
}

/** The model's image options for the conversation's image settings. */
export function imageOptions(settings: ImageSettings): ImageOptions {
  const options: ImageOptions = {};
  if (settings.split !== undefined) options.doImageSplitting = settings.split;
  if (settings.imageSize !== undefined) options.longestEdge = settings.imageSize;
  return options;
}

/** The model's video options for the conversation's video settings. */
export function videoOptions(settings: ImageSettings): VideoOptions {
  const options: VideoOptions = {};
  if (settings.fps !== undefined) options.fps = settings.fps;
  if (settings.maxFrames !== undefined) options.maxFrames = settings.maxFrames;
  return options;
}

function optionsKey(settings: ImageSettings, video = false): string {
  if (video) return `${settings.fps ?? 'default'}:${settings.maxFrames ?? 'default'}`;
  return `${settings.split ?? 'default'}:${settings.imageSize ?? 'default'}`;
}

/** Reads and prepares the images of one conversation (its model, where its paths are resolved). */
export class ImagePreparer {
  readonly #model: SmolVLM;
  readonly #source: ImageSourceOptions;

  constructor(model: SmolVLM, source: ImageSourceOptions) {
    this.#model = model;
    this.#source = source;
  }

  /** Where image paths are resolved, `~`, download limits. */
  get sourceOptions(): ImageSourceOptions {
    return this.#source;
  }

  /**
   * Reads and tiles `sources` in order (errors name the image: IMAGE_NOT_FOUND, IMAGE_INVALID, …).
   * A ConversationImage among `known` is reused as it is; another one is prepared again.
   */
  async prepare(sources: readonly ImageArgument[], settings: ImageSettings, known: readonly MediaEntry[], signal?: AbortSignal): Promise<MediaEntry[]> {
    const entries: MediaEntry[] = [];
    for (const source of sources) {
      if (typeof source === 'string' || source instanceof Uint8Array) entries.push(await this.read(source, settings, signal));
      else entries.push(await this.#fromImage(source, settings, known, signal));
    }
    return entries;
  }

  /**
   * Reads one image or video (a path, URL, `data:` URI, `-`, or bytes; told apart by its bytes) and
   * tiles or samples it. `name` overrides how it is named (a transcript's image read again from its
   * absolute path keeps its source and label).
   */
  async read(given: string | Uint8Array, settings: ImageSettings, signal?: AbortSignal, name?: ImageName): Promise<MediaEntry> {
    const source = { ...this.#source, ...(signal ? { signal } : {}) };
    const media = await readMediaSource(given, source);
    const text = typeof given === 'string' ? given : '';
    if (media.kind === 'video') {
      const prepared = await this.#model.prepareVideoFile(media, videoOptions(settings), signal);
      const about = name ?? { source: text, label: media.label };
      return { ...about, ...(media.local ? { path: media.local } : {}), prepared: { ...prepared, label: about.label }, optionsKey: optionsKey(settings, true) };
    }
    const loaded = media.input instanceof Uint8Array ? { bytes: media.input, label: media.label, source: 'bytes' } : await readImageSource(media.input, source);
    const local = loaded.source === 'file' ? resolveLocalPath(text, this.#source) : undefined;
    return this.#entry(loaded.bytes, { ...(name ?? { source: text, label: loaded.label }), ...(local ? { path: local } : {}) }, settings);
  }

  /** Re-tiles the images and re-samples the videos prepared under other settings (changed since), in place. */
  async retile(entries: readonly MediaEntry[], settings: ImageSettings, signal?: AbortSignal): Promise<void> {
    for (const entry of entries) {
      const video = isVideoEntry(entry);
      const key = optionsKey(settings, video);
      if (entry.optionsKey === key) continue;
      throwIfCancelled(signal, 'generation');
      if (video) entry.prepared = { ...this.#model.resampleVideo(entry.prepared, videoOptions(settings)), label: entry.label };
      else entry.prepared = (await this.#entry(entry.bytes, entry, settings)).prepared;
      entry.optionsKey = key;
    }
  }

  async #fromImage(image: ConversationMedia, settings: ImageSettings, known: readonly MediaEntry[], signal: AbortSignal | undefined): Promise<MediaEntry> {
    const entry = known.find((e) => e === image || e.prepared === image.prepared);
    if (entry) return { ...entry };
    // An image of another conversation carries its bytes; one built by hand (or a video) is read again.
    const bytes = (image as Partial<ImageEntry>).bytes;
    if (bytes) return this.#entry(bytes, image, settings);
    return this.read(image.path ?? image.source, settings, signal, { source: image.source, label: image.label });
  }

  async #entry(bytes: Uint8Array, about: ImageName & { path?: string }, settings: ImageSettings): Promise<ImageEntry> {
    // The bytes were read already: messages about them name where they came from.
    const prepared = await this.#model.prepareImage(bytes, imageOptions(settings), { bytesLabel: about.label });
    return {
      source: about.source,
      label: about.label,
      ...(about.path !== undefined ? { path: about.path } : {}),
      prepared: { ...prepared, label: about.label },
      bytes,
      optionsKey: optionsKey(settings),
    };
  }
}

export function isVideoEntry(entry: MediaEntry): entry is VideoEntry {
  return isPreparedVideo(entry.prepared);
}

/** Every image and video of `messages` in prompt order, then the `pending` ones. */
export function listImages(messages: ReadonlyArray<{ images: readonly ConversationMedia[] }>, pending: readonly ConversationMedia[]): ImageListing[] {
  const listed: ImageListing[] = [];
  messages.forEach((m, index) => m.images.forEach((image) => listed.push({ image, message: index })));
  for (const image of pending) listed.push({ image });
  return listed;
}
