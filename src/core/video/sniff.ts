/**
 * Video container sniffing from the first bytes, the counterpart of the image sniffer: a path's
 * extension and a server's Content-Type can lie, the container's signature does not.
 */

export type VideoFormat = 'mp4' | 'mov' | 'webm' | 'mkv' | 'avi' | 'mpegts';

/** Human names, in the order messages list them. */
export const VIDEO_FORMAT_NAMES: Readonly<Record<VideoFormat, string>> = {
  mp4: 'MP4',
  mov: 'QuickTime (MOV)',
  webm: 'WebM',
  mkv: 'Matroska (MKV)',
  avi: 'AVI',
  mpegts: 'MPEG-TS',
};

/** How many leading bytes `sniffVideoFormat` wants to see (three 192-byte M2TS packets fit). */
export const VIDEO_SNIFF_BYTES = 1024;

/** "MP4, QuickTime (MOV), WebM, Matroska (MKV), AVI or MPEG-TS" */
export function supportedVideoFormatList(): string {
  const names = Object.values(VIDEO_FORMAT_NAMES);
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end && i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function readU32BE(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

/** Brands that make the image sniffer claim an `ftyp` file as AVIF / HEIF; the two sniffers stay disjoint. */
const STILL_IMAGE_BRANDS = new Set(['avif', 'avis', 'heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs', 'mif1', 'mif2', 'msf1']);
/** Top-level atoms a QuickTime file without `ftyp` (older than 2001) starts with. */
const QUICKTIME_ATOMS = new Set(['moov', 'mdat', 'wide', 'free', 'skip', 'pnot']);

/** ISO base media (`ftyp` box): major brand `qt  ` is QuickTime, any other MP4 (incl. M4V and 3GP). */
function sniffIsoMedia(bytes: Uint8Array): VideoFormat | undefined {
  if (bytes.length < 12) return undefined;
  const type = ascii(bytes, 4, 8);
  if (type !== 'ftyp') return QUICKTIME_ATOMS.has(type) && readU32BE(bytes, 0) >= 8 ? 'mov' : undefined;
  const boxSize = readU32BE(bytes, 0);
  const end = Math.min(bytes.length, boxSize >= 16 ? boxSize : 16);
  const brands = [ascii(bytes, 8, 12)];
  for (let offset = 16; offset + 4 <= end; offset += 4) brands.push(ascii(bytes, offset, offset + 4));
  if (brands.some((brand) => STILL_IMAGE_BRANDS.has(brand))) return undefined;
  return brands[0] === 'qt  ' ? 'mov' : 'mp4';
}

/**
 * EBML header (1A 45 DF A3) then its DocType element (42 82, a size byte, the name): `webm` or
 * `matroska`. The size is an EBML varint; doc types are short, so the one-byte form is the only one used.
 */
function sniffEbml(bytes: Uint8Array): VideoFormat | undefined {
  if (bytes.length < 4 || bytes[0] !== 0x1a || bytes[1] !== 0x45 || bytes[2] !== 0xdf || bytes[3] !== 0xa3) return undefined;
  const limit = Math.min(bytes.length - 3, 64);
  for (let i = 4; i < limit; i++) {
    if (bytes[i] !== 0x42 || bytes[i + 1] !== 0x82) continue;
    const sizeByte = bytes[i + 2]!;
    if ((sizeByte & 0x80) === 0) continue;
    const docType = ascii(bytes, i + 3, i + 3 + (sizeByte & 0x7f));
    if (docType === 'webm') return 'webm';
    if (docType === 'matroska') return 'mkv';
  }
  return 'mkv'; // an EBML file without a readable doc type: Matroska is the only EBML video container
}

/** Transport stream: the 0x47 sync byte every 188 bytes (or 192 with M2TS's 4-byte timecode prefix). */
function sniffTransportStream(bytes: Uint8Array): VideoFormat | undefined {
  for (const [first, packet] of [[0, 188], [4, 192]] as const) {
    if (bytes.length < first + 2 * packet + 1) continue;
    let synced = true;
    for (let p = first; p < bytes.length && p < first + 3 * packet; p += packet) {
      if (bytes[p] !== 0x47) synced = false;
    }
    if (synced) return 'mpegts';
  }
  return undefined;
}

/**
 * The video container the bytes start with, or undefined when they are not one of the supported
 * containers (or are an image, which the image sniffer claims). Looks at up to `VIDEO_SNIFF_BYTES`
 * bytes; MPEG-TS needs at least three packets' worth (565 bytes) to be recognised.
 */
export function sniffVideoFormat(bytes: Uint8Array): VideoFormat | undefined {
  const iso = sniffIsoMedia(bytes);
  if (iso) return iso;
  const ebml = sniffEbml(bytes);
  if (ebml) return ebml;
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'AVI ') return 'avi';
  return sniffTransportStream(bytes);
}
