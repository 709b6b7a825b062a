/**
 * Image format sniffing from magic numbers. Servers and file names lie (an HTML error page served
 * as `image/jpeg`, a `.png` that is really a WebP); the first bytes do not.
 */
import { sniffVideoFormat, VIDEO_FORMAT_NAMES } from '../video/sniff.js';

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'heif' | 'tiff' | 'bmp';

/** Human names, in the order messages list them. */
export const IMAGE_FORMAT_NAMES: Readonly<Record<ImageFormat, string>> = {
  jpeg: 'JPEG',
  png: 'PNG',
  webp: 'WebP',
  gif: 'GIF',
  avif: 'AVIF',
  heif: 'HEIF',
  tiff: 'TIFF',
  bmp: 'BMP',
};

/** "JPEG, PNG, WebP, GIF, AVIF, HEIF, TIFF or BMP" */
export function supportedFormatList(): string {
  const names = Object.values(IMAGE_FORMAT_NAMES);
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs', 'mif1', 'mif2', 'msf1']);
/** BITMAPCOREHEADER, OS/2 v2 (short), INFO, V2, V3, OS/2 v2, V4, V5. */
const BMP_DIB_HEADER_SIZES = new Set([12, 16, 40, 52, 56, 64, 108, 124]);

function ascii(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end && i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function startsWith(bytes: Uint8Array, signature: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + signature.length) return false;
  for (let i = 0; i < signature.length; i++) if (bytes[offset + i] !== signature[i]) return false;
  return true;
}

function readU32BE(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

function readU32LE(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}

/** ISO-BMFF `ftyp` box: AVIF / HEIF still images (not MP4 / MOV video, which share the box). */
function sniffFtyp(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length < 16 || ascii(bytes, 4, 8) !== 'ftyp') return undefined;
  const boxSize = readU32BE(bytes, 0);
  const end = Math.min(bytes.length, boxSize >= 16 ? boxSize : 16);
  const brands = [ascii(bytes, 8, 12)];
  for (let offset = 16; offset + 4 <= end; offset += 4) brands.push(ascii(bytes, offset, offset + 4));
  if (brands.some((brand) => AVIF_BRANDS.has(brand))) return 'avif';
  if (brands.some((brand) => HEIF_BRANDS.has(brand))) return 'heif';
  return undefined;
}

/**
 * The image format the bytes start with, or undefined when they are not one of the supported
 * formats. Looks only at the first few dozen bytes; a truncated image still sniffs as its format
 * (decoding reports the damage).
 */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'webp';
  const gif = ascii(bytes, 0, 6);
  if (gif === 'GIF87a' || gif === 'GIF89a') return 'gif';
  const ftyp = sniffFtyp(bytes);
  if (ftyp) return ftyp;
  // Classic TIFF (42) and BigTIFF (43), little- and big-endian.
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (startsWith(bytes, [0x49, 0x49, 0x2b, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2b])) return 'tiff';
  // "BM" alone is too weak (any text starting "BM"); require a known DIB header size.
  if (bytes.length >= 18 && bytes[0] === 0x42 && bytes[1] === 0x4d && BMP_DIB_HEADER_SIZES.has(readU32LE(bytes, 14))) {
    return 'bmp';
  }
  return undefined;
}

/**
 * A short phrase saying what non-image bytes look like, for error messages ("an HTML page",
 * "a PDF document", "text"), or undefined when there is nothing useful to say.
 */
export function describeNonImage(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return 'nothing (0 bytes)';
  let start = 0;
  if (startsWith(bytes, [0xef, 0xbb, 0xbf])) start = 3; // UTF-8 BOM
  while (start < bytes.length && (bytes[start] === 0x20 || (bytes[start]! >= 0x09 && bytes[start]! <= 0x0d))) start++;
  const head = ascii(bytes, start, start + 1024).toLowerCase();
  if (head.startsWith('<!doctype html') || head.startsWith('<html') || /<(html|head|body|title)[\s>]/.test(head)) {
    return 'an HTML page';
  }
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) {
    return 'an SVG drawing (vector images are not supported; convert it to PNG)';
  }
  if (head.startsWith('<?xml') || head.startsWith('<')) return 'XML or markup text';
  if (head.startsWith('%pdf-')) return 'a PDF document';
  if (startsWith(bytes, [0xff, 0x0a]) || startsWith(bytes, [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20])) {
    return 'a JPEG XL image (not supported; convert it to PNG or JPEG)';
  }
  const video = sniffVideoFormat(bytes);
  if (video) return `a video (${VIDEO_FORMAT_NAMES[video]})`;
  if (bytes.length >= 12 && ascii(bytes, 4, 8) === 'ftyp') return 'an MP4/QuickTime video or other ISO media file';
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) return 'a ZIP archive';
  if (startsWith(bytes, [0x1f, 0x8b])) return 'gzip-compressed data';
  if (head.startsWith('{') || head.startsWith('[')) return 'JSON or other text';
  const sample = bytes.subarray(start, start + 512);
  let printable = 0;
  for (const b of sample) if (b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b !== 0x7f)) printable++;
  if (sample.length > 0 && printable === sample.length) return 'text';
  return undefined;
}
