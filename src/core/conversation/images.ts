/**
 * The conversation's images: read and tiled once when attached, and kept with their bytes so that
 * a change of the image settings (split, image size) re-tiles them without reading them again.
 */
import { SmolVLMError, throwIfCancelled } from '../errors.js';
import { readImageSource, resolveLocalPath, type ImageSourceOptions } from '../image/source.js';
import type { ImageOptions, PreparedImage, SmolVLM } from '../model.js';
import type { GenerationSettings } from '../settings.js';

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

export type ImageArgument = string | Uint8Array | ConversationImage;

export interface ImageListing {
  image: ConversationImage;
  /** Index into messages; undefined for an image waiting for the next message. */
  message?: number;
}

/** The settings that change how an image is prepared; they apply to every image of a conversation. */
export type ImageSettings = Pick<GenerationSettings, 'split' | 'imageSize'>;

/** A ConversationImage with what re-tiling needs: its bytes and the image settings it was prepared with. */
export interface ImageEntry extends ConversationImage {
  prepared: PreparedImage;
  bytes: Uint8Array;
  optionsKey: string;
}

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

function optionsKey(settings: ImageSettings): string {
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
  async prepare(sources: readonly ImageArgument[], settings: ImageSettings, known: readonly ImageEntry[], signal?: AbortSignal): Promise<ImageEntry[]> {
    const entries: ImageEntry[] = [];
    for (const source of sources) {
      if (typeof source === 'string' || source instanceof Uint8Array) entries.push(await this.read(source, settings, signal));
      else entries.push(await this.#fromImage(source, settings, known, signal));
    }
    return entries;
  }

  /**
   * Reads one image (a path, URL, `data:` URI, `-`, or bytes) and tiles it. `name` overrides how it
   * is named (a transcript's image read again from its absolute path keeps its source and label).
   */
  async read(given: string | Uint8Array, settings: ImageSettings, signal?: AbortSignal, name?: ImageName): Promise<ImageEntry> {
    const loaded = await readImageSource(given, { ...this.#source, ...(signal ? { signal } : {}) });
    const text = typeof given === 'string' ? given : '';
    const local = loaded.source === 'file' ? resolveLocalPath(text, this.#source) : undefined;
    return this.#entry(loaded.bytes, { ...(name ?? { source: text, label: loaded.label }), ...(local ? { path: local } : {}) }, settings);
  }

  /** Re-tiles the entries prepared under other image settings (changed since), in place. */
  async retile(entries: readonly ImageEntry[], settings: ImageSettings, signal?: AbortSignal): Promise<void> {
    const key = optionsKey(settings);
    for (const entry of entries) {
      if (entry.optionsKey === key) continue;
      throwIfCancelled(signal, 'generation');
      const fresh = await this.#entry(entry.bytes, entry, settings);
      entry.prepared = fresh.prepared;
      entry.optionsKey = key;
    }
  }

  async #fromImage(image: ConversationImage, settings: ImageSettings, known: readonly ImageEntry[], signal: AbortSignal | undefined): Promise<ImageEntry> {
    const entry = known.find((e) => e === image || e.prepared === image.prepared);
    if (entry) return { ...entry };
    // An image of another conversation carries its bytes; one built by hand is read again.
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

/** Every image of `messages` in prompt order, then the `pending` ones. */
export function listImages(messages: ReadonlyArray<{ images: readonly ConversationImage[] }>, pending: readonly ConversationImage[]): ImageListing[] {
  const listed: ImageListing[] = [];
  messages.forEach((m, index) => m.images.forEach((image) => listed.push({ image, message: index })));
  for (const image of pending) listed.push({ image });
  return listed;
}
