import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { SmolVLMError } from '../../src/core/errors.js';
import { decodeImage, type RawImage } from '../../src/core/image/index.js';

// --- a minimal PNG writer, so that the stored samples are known independently of any decoder ---

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  out.set(body, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}

/** An 8-bit RGB PNG of `pixels`, with the given extra chunks (e.g. iCCP) before the image data. */
function rgbPng(width: number, height: number, pixels: Uint8Array, extra: Buffer[] = [], headerSize?: [number, number]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(headerSize?.[0] ?? width, 0);
  ihdr.writeUInt32BE(headerSize?.[1] ?? height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const rows = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) rows.set(pixels.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra,
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** The chunks of a PNG file of the given type, verbatim. */
function pngChunks(png: Buffer, type: string): Buffer[] {
  const found: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === type) found.push(png.subarray(at, at + 12 + length));
    at += 12 + length;
  }
  return found;
}

async function rejectsWith(promise: Promise<unknown>, code: string, mention?: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof SmolVLMError, `expected a SmolVLMError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (mention) assert.ok(error.message.includes(mention), `message should name ${mention}: ${error.message}`);
    return true;
  });
}

function pixel(image: RawImage, x: number, y: number): number[] {
  const at = (y * image.width + x) * image.channels;
  return [...image.data.subarray(at, at + image.channels)];
}

function near(actual: number[], expected: number[], tolerance: number): boolean {
  return actual.length === expected.length && actual.every((v, i) => Math.abs(v - expected[i]!) <= tolerance);
}

describe('decodeImage', () => {
  test('RGB PNG: exact stored samples', async () => {
    const pixels = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 29) % 256);
    const png = rgbPng(5, 3, pixels);
    assert.deepEqual(await decodeImage(png), { width: 5, height: 3, channels: 3, data: pixels });
    // A plain Uint8Array (not a Buffer) is read as encoded bytes too.
    assert.deepEqual(await decodeImage(new Uint8Array(png)), { width: 5, height: 3, channels: 3, data: pixels });
  });

  test('EXIF orientation 6 is applied (stored landscape, decoded portrait)', async () => {
    // Stored 64x32: top half red, bottom half blue. Orientation 6 = rotate 90 degrees clockwise to display,
    // so the stored top ends up on the right.
    const jpeg = await sharp({ create: { width: 64, height: 32, channels: 3, background: { r: 0, g: 0, b: 255 } } })
      .composite([{ input: { create: { width: 64, height: 16, channels: 3, background: { r: 255, g: 0, b: 0 } } }, top: 0, left: 0 }])
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    assert.equal((await sharp(jpeg).metadata()).orientation, 6);
    const image = await decodeImage(jpeg);
    assert.equal(image.width, 32);
    assert.equal(image.height, 64);
    assert.ok(near(pixel(image, 2, 32), [0, 0, 255], 8), `left is blue: ${pixel(image, 2, 32)}`);
    assert.ok(near(pixel(image, 29, 32), [255, 0, 0], 8), `right is red: ${pixel(image, 29, 32)}`);
  });

  test('all eight EXIF orientations give what PIL.ImageOps.exif_transpose gives', async () => {
    // Stored 3x2, pixel ids   0 1 2 / 3 4 5   (lossless PNG, so ids survive exactly).
    // PIL: 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90.
    const expected: Record<number, { size: [number, number]; ids: number[] }> = {
      1: { size: [3, 2], ids: [0, 1, 2, 3, 4, 5] },
      2: { size: [3, 2], ids: [2, 1, 0, 5, 4, 3] },
      3: { size: [3, 2], ids: [5, 4, 3, 2, 1, 0] },
      4: { size: [3, 2], ids: [3, 4, 5, 0, 1, 2] },
      5: { size: [2, 3], ids: [0, 3, 1, 4, 2, 5] },
      6: { size: [2, 3], ids: [3, 0, 4, 1, 5, 2] },
      7: { size: [2, 3], ids: [5, 2, 4, 1, 3, 0] },
      8: { size: [2, 3], ids: [2, 5, 1, 4, 0, 3] },
    };
    const stored = Uint8Array.from({ length: 6 * 3 }, (_, i) => Math.floor(i / 3) * 40 + (i % 3));
    for (let orientation = 1; orientation <= 8; orientation++) {
      const png = await sharp(stored, { raw: { width: 3, height: 2, channels: 3 } }).withMetadata({ orientation }).png().toBuffer();
      assert.equal((await sharp(png).metadata()).orientation, orientation);
      const image = await decodeImage(png);
      const ids: number[] = [];
      for (let i = 0; i < image.data.length; i += 3) {
        ids.push(image.data[i]! / 40);
        assert.deepEqual([image.data[i + 1]! - image.data[i]!, image.data[i + 2]! - image.data[i]!], [1, 2]);
      }
      assert.deepEqual({ size: [image.width, image.height], ids }, expected[orientation], `orientation ${orientation}`);
    }
  });

  test('RGBA keeps its alpha and the stored colour under it (not premultiplied)', async () => {
    const data = new Uint8Array(4 * 2 * 4);
    data.set([255, 0, 255, 0, 10, 20, 30, 255, 200, 100, 50, 128, 0, 0, 0, 1]);
    const png = await sharp(data, { raw: { width: 4, height: 2, channels: 4 } }).png().toBuffer();
    const image = await decodeImage(png);
    assert.equal(image.channels, 4);
    assert.deepEqual([...image.data], [...data]);
  });

  test('greyscale becomes RGB with equal channels', async () => {
    const grey = Uint8Array.from({ length: 16 * 16 }, (_, i) => i);
    const png = await sharp(grey, { raw: { width: 16, height: 16, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    assert.equal((await sharp(png).metadata()).channels, 1);
    const image = await decodeImage(png);
    assert.equal(image.channels, 3);
    assert.deepEqual([...image.data], [...grey].flatMap((v) => [v, v, v]));

    const jpeg = await sharp(grey, { raw: { width: 16, height: 16, channels: 1 } }).toColourspace('b-w').jpeg().toBuffer();
    assert.equal((await sharp(jpeg).metadata()).space, 'b-w');
    const fromJpeg = await decodeImage(jpeg);
    assert.equal(fromJpeg.channels, 3);
    for (let i = 0; i < fromJpeg.data.length; i += 3) {
      assert.equal(fromJpeg.data[i], fromJpeg.data[i + 1]);
      assert.equal(fromJpeg.data[i], fromJpeg.data[i + 2]);
    }
  });

  test('greyscale with alpha becomes RGBA', async () => {
    const la = Uint8Array.from([0, 255, 100, 128, 255, 0, 50, 10]);
    const png = await sharp(la, { raw: { width: 2, height: 2, channels: 2 } }).toColourspace('b-w').png().toBuffer();
    assert.equal((await sharp(png).metadata()).channels, 2);
    const image = await decodeImage(png);
    assert.equal(image.channels, 4);
    assert.deepEqual([...image.data], [0, 0, 0, 255, 100, 100, 100, 128, 255, 255, 255, 0, 50, 50, 50, 10]);
  });

  test('16-bit greyscale (with alpha) keeps the high bytes', async () => {
    const samples = Uint16Array.from([0x00ff, 0xffff, 0x1280, 0x80ff, 0xfe01, 0x0000, 0x7fff, 0x0100]);
    const png = await sharp(samples, { raw: { width: 2, height: 2, channels: 2 } }).toColourspace('grey16').png().toBuffer();
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.space, meta.channels, meta.depth], ['grey16', 2, 'ushort']);
    const image = await decodeImage(png);
    assert.equal(image.channels, 4);
    assert.deepEqual([...image.data], [0, 0, 0, 0xff, 0x12, 0x12, 0x12, 0x80, 0xfe, 0xfe, 0xfe, 0, 0x7f, 0x7f, 0x7f, 1]);
  });

  test('palette PNG is expanded through its palette', async () => {
    const colours = [[200, 10, 30], [10, 200, 90], [5, 5, 250], [123, 45, 67]];
    const rgb = Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => colours[Math.floor(i / 3) % 4]![i % 3]!);
    const png = await sharp(rgb, { raw: { width: 8, height: 8, channels: 3 } }).png({ palette: true, colours: 4, dither: 0 }).toBuffer();
    assert.equal((await sharp(png).metadata()).isPalette, true);
    const image = await decodeImage(png);
    assert.equal(image.channels, 3);
    assert.deepEqual([...image.data], [...rgb]);
  });

  test('16-bit PNG keeps the high byte of each sample (no rounding)', async () => {
    const samples = Uint16Array.from({ length: 4 * 3 * 3 }, (_, i) => ((i * 37) % 256) * 256 + 0xff - (i % 3) * 0x70);
    const png = await sharp(samples, { raw: { width: 4, height: 3, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    assert.equal((await sharp(png).metadata()).depth, 'ushort');
    const image = await decodeImage(png);
    assert.equal(image.channels, 3);
    assert.deepEqual([...image.data], [...samples].map((v) => v >> 8));
  });

  test('an embedded (Display P3) ICC profile is not applied', async () => {
    const p3 = await sharp({ create: { width: 2, height: 2, channels: 3, background: { r: 250, g: 20, b: 20 } } })
      .withIccProfile('p3')
      .png()
      .toBuffer();
    const iccp = pngChunks(p3, 'iCCP');
    assert.equal(iccp.length, 1);
    const stored = Uint8Array.from({ length: 3 * 2 * 3 }, (_, i) => [250, 20, 20][i % 3]!);
    const png = rgbPng(3, 2, stored, iccp);
    assert.equal((await sharp(png).metadata()).hasProfile, true);
    // sharp on its own would convert to sRGB: the profile really changes the values...
    const converted = await sharp(png).raw().toBuffer();
    assert.notDeepEqual([...converted], [...stored]);
    // ...but PIL (and so the reference) keeps what is stored.
    const image = await decodeImage(png);
    assert.deepEqual([...image.data], [...stored]);
  });

  test('CMYK JPEG decodes to RGB with plausible colours', async () => {
    const red = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 220, g: 30, b: 40 } } }).png().toBuffer();
    const cmyk = await sharp(red).toColourspace('cmyk').jpeg().toBuffer();
    assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
    const image = await decodeImage(cmyk);
    assert.equal(image.channels, 3);
    assert.equal(image.width, 16);
    const [r, g, b] = pixel(image, 8, 8);
    assert.ok(r! > 150 && g! < 90 && b! < 90, `still red: ${[r, g, b]}`);
  });

  test('empty input is IMAGE_INVALID and names the image', async () => {
    await rejectsWith(decodeImage(new Uint8Array(0), { label: 'empty.png' }), 'IMAGE_INVALID', 'empty.png');
  });

  test('bytes that are not an image are IMAGE_INVALID', async () => {
    await rejectsWith(decodeImage(Buffer.from('<html>not an image</html>'), { label: 'page.jpg' }), 'IMAGE_INVALID', 'page.jpg');
  });

  test('a truncated JPEG is IMAGE_INVALID', async () => {
    const noisy = Uint8Array.from({ length: 128 * 128 * 3 }, (_, i) => (Math.imul(i, 2654435761) >>> 24) & 0xff);
    const jpeg = await sharp(noisy, { raw: { width: 128, height: 128, channels: 3 } }).jpeg().toBuffer();
    await decodeImage(jpeg); // the whole file is fine
    await rejectsWith(decodeImage(jpeg.subarray(0, jpeg.length >> 1), { label: 'cut.jpg' }), 'IMAGE_INVALID', 'cut.jpg');
  });

  test('a truncated PNG is IMAGE_INVALID', async () => {
    const noisy = Uint8Array.from({ length: 64 * 64 * 3 }, (_, i) => (Math.imul(i, 2654435761) >>> 24) & 0xff);
    const png = rgbPng(64, 64, noisy);
    await rejectsWith(decodeImage(png.subarray(0, png.length >> 1), { label: 'cut.png' }), 'IMAGE_INVALID', 'cut.png');
  });

  test('a decompression bomb is refused from its header (IMAGE_TOO_LARGE)', async () => {
    // Claims 20000 x 20000 (400 megapixels) but carries almost no data: refused before decoding.
    const bomb = rgbPng(1, 1, new Uint8Array(3), [], [20000, 20000]);
    await rejectsWith(decodeImage(bomb, { label: 'bomb.png' }), 'IMAGE_TOO_LARGE', 'bomb.png');
  });

  test('maxPixels sets the limit', async () => {
    const png = rgbPng(100, 100, new Uint8Array(100 * 100 * 3));
    await rejectsWith(decodeImage(png, { label: 'big.png', maxPixels: 5000 }), 'IMAGE_TOO_LARGE', 'big.png');
    const image = await decodeImage(png, { maxPixels: 10_000 });
    assert.equal(image.width, 100);
  });
});
