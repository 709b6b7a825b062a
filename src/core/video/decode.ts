/**
 * Decoding only the sampled frames. Each frame is one short ffmpeg run that seeks to it (`-ss` before
 * `-i`: the demuxer jumps to the keyframe before, ffmpeg decodes from there and drops what precedes the
 * seek point) and writes that single frame to stdout as 8-bit RGB. The seek point is the midpoint
 * between the wanted frame's time and the previous frame's, both from the probe's packet list, so
 * rounding of the seek time cannot land on a neighbour. ffmpeg's `showinfo` reports the time of the
 * frame it delivered; when that is not the wanted frame (some demuxers, MPEG-TS among them, cannot
 * seek to a keyframe before the point and deliver a later frame or none), the frame is taken by
 * number instead, decoding from the start up to it. Nothing after the frame is decoded and only one
 * frame is in memory at a time (plus the next, decoded while the caller works on this one).
 *
 * The frame comes as PPM (`P6 <w> <h> 255`, then raw rgb24): the same bytes as `-f rawvideo -pix_fmt
 * rgb24`, but the header states the size, so a rotated clip (ffmpeg turns it upright) or an odd sample
 * aspect cannot misalign the pixels.
 */
import { SmolVLMError } from '../errors.js';
import type { RawImage } from '../image/types.js';
import { type FfmpegBinary, resolveFfmpeg, runFfmpeg } from './ffmpeg.js';
import type { VideoInfo } from './probe.js';

export interface DecodedFrame {
  /** Index of the frame in the stream (display order). */
  index: number;
  image: RawImage;
}

export interface DecodeFramesOptions {
  binary?: FfmpegBinary;
  signal?: AbortSignal;
  label?: string;
}

/** Collects one PPM image from stdout chunks. */
class PpmReader {
  #chunks: Buffer[] = [];
  #length = 0;

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The image, or a message saying why the bytes are not one binary 8-bit PPM. */
  image(): RawImage | string {
    const bytes = Buffer.concat(this.#chunks, this.#length);
    // "P6", whitespace, width, whitespace, height, whitespace, maxval, one whitespace byte, samples.
    const header = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(bytes.subarray(0, 64).toString('latin1'));
    if (!header) return bytes.length === 0 ? 'ffmpeg produced no frame' : 'ffmpeg produced no PPM frame';
    const width = Number(header[1]);
    const height = Number(header[2]);
    if (Number(header[3]) !== 255) return `unexpected PPM maxval ${header[3]}`;
    const start = header[0].length;
    const size = width * height * 3;
    if (width < 1 || height < 1 || bytes.length < start + size) return `truncated frame (${bytes.length - start} of ${size} bytes)`;
    return { width, height, channels: 3, data: new Uint8Array(bytes.buffer, bytes.byteOffset + start, size) };
  }
}

/** Seconds to pass to `-ss` for a frame: halfway from the previous frame, or none for the first. */
export function seekTime(frameTimes: Float64Array, index: number): number | undefined {
  if (index <= 0) return undefined;
  const time = (frameTimes[index - 1]! + frameTimes[index]!) / 2;
  return time > 0 ? time : undefined;
}

interface DeliveredFrame {
  image: RawImage;
  /** Time ffmpeg's `showinfo` gave the frame (seconds on its output timeline), if it printed one. */
  time: number | undefined;
}

/** One ffmpeg run: `-ss` (if any), the video stream through `filter`, the first frame out as PPM. */
async function deliverFrame(info: VideoInfo, seek: number | undefined, filter: string, options: DecodeFramesOptions): Promise<DeliveredFrame | string> {
  const reader = new PpmReader();
  const args = [
    '-v', 'info', '-nostats',
    ...(seek !== undefined ? ['-ss', seek.toFixed(6)] : []),
    '-i', info.path,
    '-map', '0:v:0', '-vf', filter, '-frames:v', '1',
    '-f', 'image2pipe', '-c:v', 'ppm', '-pix_fmt', 'rgb24', 'pipe:1',
  ];
  const stderr = await runFfmpeg(args, {
    binary: options.binary ?? resolveFfmpeg(),
    label: options.label ?? info.path,
    onStdout: (chunk) => reader.push(chunk),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const image = reader.image();
  if (typeof image === 'string') return image;
  const shown = /\bpts_time:\s*(-?[0-9.e+-]+)/.exec(stderr);
  return { image, time: shown ? Number(shown[1]) : undefined };
}

/** Half the distance to the nearest neighbouring frame: a delivered time closer than this is this frame. */
function tolerance(frameTimes: Float64Array, index: number): number {
  const before = index > 0 ? frameTimes[index]! - frameTimes[index - 1]! : Infinity;
  const after = index + 1 < frameTimes.length ? frameTimes[index + 1]! - frameTimes[index]! : Infinity;
  const gap = Math.min(before, after);
  return Number.isFinite(gap) && gap > 0 ? gap / 2 : 0.5;
}

/** Decodes the frame at `index` (display order) of a probed video as 8-bit RGB. */
export async function decodeVideoFrame(info: VideoInfo, index: number, options: DecodeFramesOptions = {}): Promise<RawImage> {
  const label = options.label ?? info.path;
  if (!Number.isInteger(index) || index < 0 || index >= info.frameCount) {
    throw new RangeError(`decodeVideoFrame: frame ${index} is outside 0..${info.frameCount - 1}`);
  }
  const seek = seekTime(info.frameTimes, index);
  if (seek !== undefined) {
    const sought = await deliverFrame(info, seek, 'showinfo', options);
    // After an input seek ffmpeg's timeline starts at the seek point.
    const expected = info.frameTimes[index]! - seek;
    if (typeof sought !== 'string' && sought.time !== undefined && Math.abs(sought.time - expected) < tolerance(info.frameTimes, index)) {
      return sought.image;
    }
  }
  // By number: decodes from the start, and the select filter counts frames in display order.
  const counted = await deliverFrame(info, undefined, `select=eq(n\\,${index}),showinfo`, options);
  if (typeof counted === 'string') throw new SmolVLMError('VIDEO_INVALID', `cannot decode frame ${index} of video ${JSON.stringify(label)}: ${counted}`);
  return counted.image;
}

/**
 * The given frames in order, one at a time; the next frame is decoded while the caller processes the
 * current one. Stopping early (break, or the signal) cancels the decode in flight.
 */
export async function* decodeVideoFrames(info: VideoInfo, indices: readonly number[], options: DecodeFramesOptions = {}): AsyncGenerator<DecodedFrame> {
  const controller = new AbortController();
  const forward = (): void => controller.abort();
  options.signal?.addEventListener('abort', forward, { once: true });
  const decode = (i: number): Promise<RawImage> => {
    const pending = decodeVideoFrame(info, indices[i]!, { ...options, signal: controller.signal });
    pending.catch(() => {}); // awaited below; this only keeps an abandoned prefetch from being "unhandled"
    return pending;
  };
  try {
    let next = indices.length > 0 ? decode(0) : undefined;
    for (let i = 0; i < indices.length; i++) {
      const image = await next!;
      next = i + 1 < indices.length ? decode(i + 1) : undefined;
      yield { index: indices[i]!, image };
    }
  } catch (error) {
    if (options.signal?.aborted) throw new SmolVLMError('ABORTED', 'cancelled', { cause: error });
    throw error;
  } finally {
    controller.abort();
    options.signal?.removeEventListener('abort', forward);
  }
}
