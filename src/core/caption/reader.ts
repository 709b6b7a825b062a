/** The plain image reader: bytes and their sniffed format, nothing decoded (remote captioners send the bytes). */
import { readImageSource } from '../image/source.js';
import type { CaptionImage, ImageReader } from './types.js';

export interface FileReaderOptions {
  /** Byte cap per image (default: the image loader's, 50 MiB). */
  maxBytes?: number;
}

/** Reads each image with the library's image loader: IMAGE_NOT_FOUND / IMAGE_INVALID / IMAGE_TOO_LARGE errors. */
export function fileImageReader(options: FileReaderOptions = {}): ImageReader {
  return {
    async read(path: string, signal: AbortSignal): Promise<CaptionImage> {
      const { bytes, format } = await readImageSource(path, { signal, maxBytes: options.maxBytes });
      return { path, bytes, format };
    },
  };
}
