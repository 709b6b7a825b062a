/**
 * Image bytes -> 8-bit RGB or RGBA pixels, the way the Python reference loads them with PIL:
 * EXIF orientation applied, embedded ICC profiles ignored (stored values kept), greyscale and palette
 * expanded to RGB, 16-bit samples reduced to their high byte, alpha kept (not premultiplied).
 */
import type sharp from 'sharp';
import type { Metadata } from 'sharp';
import { sharpModule } from '../lazy-modules.js';
import { SmolVLMError } from '../errors.js';
import type { RawImage } from './types.js';

/** Default cap on width x height read from the header, checked before any pixel is decoded. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

export interface DecodeImageOptions {
  /** Names the image in error messages (a path, URL, "stdin"...). */
  label?: string;
  /** Refuse images whose header declares more pixels than this (decompression bombs). */
  maxPixels?: number;
}

type SharpOptions = NonNullable<Parameters<typeof sharp>[1]>;

function describe(label: string | undefined): string {
  return label ? `image ${JSON.stringify(label)}` : 'image';
}

function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.trim();
}

/** Widen 1 (grey) or 2 (grey + alpha) channel samples to RGB / RGBA. */
function expandGrey(src: ArrayLike<number>, pixels: number, hasAlpha: boolean, shift: number): Uint8Array {
  const inCh = hasAlpha ? 2 : 1;
  const outCh = hasAlpha ? 4 : 3;
  const out = new Uint8Array(pixels * outCh);
  for (let i = 0, s = 0, d = 0; i < pixels; i++, s += inCh, d += outCh) {
    const v = src[s]! >> shift;
    out[d] = v;
    out[d + 1] = v;
    out[d + 2] = v;
    if (hasAlpha) out[d + 3] = src[s + 1]! >> shift;
  }
  return out;
}

function asUint16(bytes: Buffer): Uint16Array {
  // Raw 16-bit output is in machine order (little endian on every platform Node supports).
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : Buffer.from(bytes);
  return new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.length >> 1);
}

function highBytes(src: Uint16Array): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! >> 8;
  return out;
}

export async function decodeImage(bytes: Uint8Array, options: DecodeImageOptions = {}): Promise<RawImage> {
  const name = describe(options.label);
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (bytes.length === 0) throw new SmolVLMError('IMAGE_INVALID', `cannot read ${name}: it is empty (0 bytes)`);

  const base: SharpOptions = {
    failOn: 'error',
    // Our own check below gives the better message; keep sharp's as a backstop on the same limit.
    limitInputPixels: Number.isFinite(maxPixels) && maxPixels > 0 ? Math.floor(maxPixels) : false,
    autoOrient: true,
  };

  let meta: Metadata;
  try {
    meta = await sharpModule()(bytes, { ...base, limitInputPixels: false }).metadata();
  } catch (error) {
    throw new SmolVLMError('IMAGE_INVALID', `cannot read ${name}: not a supported image (${reason(error)})`, { cause: error });
  }
  const width = meta.width;
  const height = meta.height;
  if (!width || !height) {
    throw new SmolVLMError('IMAGE_INVALID', `cannot read ${name}: its dimensions are unknown`);
  }
  if (width * height > maxPixels) {
    throw new SmolVLMError(
      'IMAGE_TOO_LARGE',
      `refusing ${name}: ${width}x${height} is ${(width * height / 1e6).toFixed(1)} megapixels, over the limit of ${(maxPixels / 1e6).toFixed(1)}`,
    );
  }

  const sixteenBit = meta.depth === 'ushort';
  const cmyk = meta.space === 'cmyk';

  try {
    // CMYK has no meaningful "stored RGB"; let libvips convert it through its (embedded or generic) profile.
    const pipeline = sharpModule()(bytes, { ...base, ignoreIcc: !cmyk });
    // Grey (with or without alpha) is widened to RGB(A) by libvips by replicating the sample.
    if (sixteenBit) {
      pipeline.toColourspace('rgb16').raw({ depth: 'ushort' });
    } else {
      pipeline.toColourspace('srgb').raw();
    }
    const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
    const pixels = info.width * info.height;
    const samples = sixteenBit ? asUint16(data) : data;
    let out: Uint8Array;
    let channels: 3 | 4;
    if (info.channels === 1 || info.channels === 2) {
      channels = info.channels === 2 ? 4 : 3;
      out = expandGrey(samples, pixels, info.channels === 2, sixteenBit ? 8 : 0);
    } else if (info.channels === 3 || info.channels === 4) {
      channels = info.channels;
      out = sixteenBit ? highBytes(samples as Uint16Array) : new Uint8Array(data.buffer, data.byteOffset, data.length);
    } else {
      throw new Error(`unsupported channel count ${info.channels}`);
    }
    if (out.length !== pixels * channels) throw new Error('decoded size does not match the header');
    return { width: info.width, height: info.height, channels, data: out };
  } catch (error) {
    if (error instanceof SmolVLMError) throw error;
    const why = reason(error);
    if (/pixel limit/i.test(why)) {
      throw new SmolVLMError('IMAGE_TOO_LARGE', `refusing ${name}: ${why} (${(maxPixels / 1e6).toFixed(1)} megapixels)`, { cause: error });
    }
    throw new SmolVLMError('IMAGE_INVALID', `cannot decode ${name}: the data is corrupt or truncated (${why})`, { cause: error });
  }
}
