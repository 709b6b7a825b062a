/**
 * A clip's frame count, frame rate, duration and the time of every frame, read with ffmpeg itself (the
 * npm package ships no ffprobe).
 *
 * Why a packet scan: ffmpeg's `-i` banner rounds the frame rate to two decimals ("29.97 fps") and the
 * duration to centiseconds, and no container reliably stores a frame count (Matroska and WebM do not at
 * all), while sampling turns frame indices into timestamps, so an estimate could shift a frame by a
 * second. Copying the video stream to ffmpeg's `framecrc` muxer lists every packet's timestamps without
 * decoding anything (one line per frame; the file is read once). The numbers then follow torchcodec's
 * exact mode, the video backend transformers prefers: frames = packets, duration = last packet's end
 * minus first packet's start, fps = frames / duration. For a constant-rate MP4 this is also what PyAV's
 * `frames` and `average_rate` give (29.97 fps comes out as exactly 30000/1001).
 */
import { SmolVLMError } from '../errors.js';
import { type FfmpegBinary, resolveFfmpeg, runFfmpeg } from './ffmpeg.js';
import type { VideoTiming } from './sampling.js';

export interface VideoInfo extends VideoTiming {
  /** The file that was probed. */
  path: string;
  /** Coded size of the stream, and its codec, from the packet list's header (informational). */
  width: number;
  height: number;
  codec: string;
  /** Presentation time of each frame in seconds, in display order, on ffmpeg's input timeline (seek times). */
  frameTimes: Float64Array;
}

export interface ProbeOptions {
  binary?: FfmpegBinary;
  signal?: AbortSignal;
  /** Names the video in messages (default: the path). */
  label?: string;
}

/** ffmpeg prints AV_NOPTS_VALUE as INT64_MIN; anything this negative is "no timestamp". */
const NO_TIMESTAMP = -(2 ** 62);

interface PacketScan {
  timeBase: [number, number];
  pts: number[];
  ends: number[];
  width: number;
  height: number;
  codec: string;
}

/** Parses `framecrc` output incrementally: `#tb 0: 1/15360` headers, then `stream, dts, pts, duration, size, crc`. */
class FramecrcParser {
  readonly scan: PacketScan = { timeBase: [0, 1], pts: [], ends: [], width: 0, height: 0, codec: '' };
  #pending = '';

  push(chunk: Buffer): void {
    const text = this.#pending + chunk.toString('latin1');
    const lines = text.split('\n');
    this.#pending = lines.pop()!;
    for (const line of lines) this.#line(line);
  }

  end(): PacketScan {
    if (this.#pending) this.#line(this.#pending);
    this.#pending = '';
    return this.scan;
  }

  #line(line: string): void {
    if (line.startsWith('#')) {
      const header = /^#(\w+) 0: (.*)$/.exec(line.trim());
      if (!header) return;
      const [, key, value] = header as unknown as [string, string, string];
      if (key === 'tb') {
        const [num, den] = value.split('/').map(Number);
        if (num! > 0 && den! > 0) this.scan.timeBase = [num!, den!];
      } else if (key === 'dimensions') {
        const [w, h] = value.split('x').map(Number);
        this.scan.width = w ?? 0;
        this.scan.height = h ?? 0;
      } else if (key === 'codec_id') {
        this.scan.codec = value;
      }
      return;
    }
    const fields = line.split(',');
    if (fields.length < 5 || fields[0]!.trim() !== '0') return;
    const dts = Number(fields[1]);
    const ptsField = Number(fields[2]);
    const duration = Number(fields[3]);
    const pts = ptsField > NO_TIMESTAMP ? ptsField : dts;
    if (!(pts > NO_TIMESTAMP)) return;
    this.scan.pts.push(pts);
    this.scan.ends.push(pts + (duration > 0 ? duration : 0));
  }
}

function timingFromScan(scan: PacketScan, label: string): Pick<VideoInfo, 'frameCount' | 'fps' | 'duration' | 'frameTimes'> {
  const frameCount = scan.pts.length;
  if (frameCount === 0) throw new SmolVLMError('VIDEO_INVALID', `video ${JSON.stringify(label)} has no video frames`);
  const [num, den] = scan.timeBase;
  let first = Infinity;
  let end = -Infinity;
  for (let i = 0; i < frameCount; i++) {
    if (scan.pts[i]! < first) first = scan.pts[i]!;
    if (scan.ends[i]! > end) end = scan.ends[i]!;
  }
  const sorted = Float64Array.from(scan.pts).sort();
  // Ticks are integers, so one division each gives the correctly rounded value (as Python's Fraction would).
  const spanTicks = end - first;
  const frameTimes = sorted.map((pts) => (pts * num) / den);
  if (!(spanTicks > 0)) {
    // A single frame without a duration: one frame at its own time, the reference's fps fallback of 24.
    return { frameCount, fps: 24, duration: frameCount / 24, frameTimes };
  }
  return { frameCount, fps: (frameCount * den) / (spanTicks * num), duration: (spanTicks * num) / den, frameTimes };
}

/** Probes a video file (see the module comment). Throws VIDEO_INVALID when ffmpeg cannot read a video stream. */
export async function probeVideo(path: string, options: ProbeOptions = {}): Promise<VideoInfo> {
  const label = options.label ?? path;
  const parser = new FramecrcParser();
  const args = ['-v', 'error', '-i', path, '-map', '0:v:0', '-c', 'copy', '-f', 'framecrc', 'pipe:1'];
  await runFfmpeg(args, {
    binary: options.binary ?? resolveFfmpeg(),
    label,
    onStdout: (chunk) => parser.push(chunk),
    reason: (stderr) => (/Stream map '0:v:0' matches no streams/.test(stderr) ? 'it has no video stream' : undefined),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const scan = parser.end();
  return { path, width: scan.width, height: scan.height, codec: scan.codec, ...timingFromScan(scan, label) };
}
