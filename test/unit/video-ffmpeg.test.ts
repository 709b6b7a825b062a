import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { openSync, readFileSync, readSync, closeSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  decodeVideoFrame,
  decodeVideoFrames,
  preprocessVideoFrame,
  probeVideo,
  resizeVideoFrame,
  resolveFfmpeg,
  sampleFrames,
  sniffVideoFormat,
  VIDEO_SNIFF_BYTES,
  videoProcessorOptionsFromConfig,
  writeTempVideo,
  type VideoFormat,
  type VideoInfo,
} from '../../src/core/video/index.js';
import { clipDir, LOSSLESS_RGB, makeClip, type ClipSpec } from '../helpers/video-clips.js';
import { skipUnlessShared } from '../helpers/shared.js';
import { smolvlm2ReferenceDir, videoGolden } from '../helpers/video-golden.js';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Every frame of a clip, decoded in one sequential pass (what PyAV and torchcodec index into). */
function allFrames(file: string, frameBytes: number): Buffer[] {
  const run = spawnSync(resolveFfmpeg().path, ['-v', 'error', '-i', file, '-map', '0:v:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    maxBuffer: 1 << 28,
  });
  assert.equal(run.status, 0, String(run.stderr));
  const frames: Buffer[] = [];
  for (let o = 0; o + frameBytes <= run.stdout.length; o += frameBytes) frames.push(run.stdout.subarray(o, o + frameBytes));
  return frames;
}

function head(file: string): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const buffer = new Uint8Array(VIDEO_SNIFF_BYTES);
    return buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0));
  } finally {
    closeSync(fd);
  }
}

/** H.264 with B-frames (display order differs from decode order) and a keyframe every 12 frames, so seeks land mid-stream. */
const H264_BFRAMES = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '12', '-bf', '3'];

const CONTAINERS: { spec: ClipSpec; format: VideoFormat; frames: number; fps: number }[] = [
  { spec: { name: 'c.mp4', rate: '30', seconds: 3, codec: H264_BFRAMES }, format: 'mp4', frames: 90, fps: 30 },
  { spec: { name: 'c.mov', rate: '12', seconds: 3 }, format: 'mov', frames: 36, fps: 12 },
  { spec: { name: 'c.webm', rate: '10', seconds: 3, codec: ['-c:v', 'libvpx', '-b:v', '200k'] }, format: 'webm', frames: 30, fps: 10 },
  { spec: { name: 'c.mkv', rate: '25', seconds: 3, codec: H264_BFRAMES }, format: 'mkv', frames: 75, fps: 25 },
  { spec: { name: 'c.avi', rate: '15', seconds: 3, codec: ['-c:v', 'mjpeg', '-q:v', '3'] }, format: 'avi', frames: 45, fps: 15 },
  { spec: { name: 'c.ts', rate: '25', seconds: 3, codec: H264_BFRAMES }, format: 'mpegts', frames: 75, fps: 25 },
];

let clips: ReturnType<typeof clipDir>;
before(() => {
  clips = clipDir();
});
after(() => clips.dispose());

describe('containers: sniffed, probed, and the sampled frames decoded by seeking equal a sequential decode', () => {
  for (const c of CONTAINERS) {
    test(`${c.format} (${c.spec.name})`, async () => {
      const file = makeClip(clips.dir, c.spec);
      assert.equal(sniffVideoFormat(head(file)), c.format);
      const info = await probeVideo(file);
      assert.equal(info.frameCount, c.frames);
      assert.ok(Math.abs(info.fps - c.fps) < 1e-9, `fps ${info.fps}`);
      assert.ok(Math.abs(info.duration - c.frames / c.fps) < 1e-9, `duration ${info.duration}`);
      assert.deepEqual([info.width, info.height], [64, 48]);
      const reference = allFrames(file, 64 * 48 * 3);
      assert.equal(reference.length, c.frames);
      const indices = sampleFrames(info, { fps: 1, maxFrames: 64 }).map((f) => f.index);
      for (const index of [...indices, 1, Math.floor(c.frames / 2) + 1]) {
        const frame = await decodeVideoFrame(info, index);
        assert.deepEqual([frame.width, frame.height, frame.channels], [64, 48, 3]);
        assert.ok(Buffer.from(frame.data).equals(reference[index]!), `frame ${index} differs from the sequential decode`);
      }
    });
  }
});

describe('golden clips: probe metadata, indices and stamps equal transformers', () => {
  const made = new Map<string, VideoInfo>();
  for (const golden of videoGolden.clips) {
    test(`${golden.clip.name} ${JSON.stringify(golden.sampling)}`, async () => {
      let info = made.get(golden.clip.name);
      if (!info) {
        info = await probeVideo(makeClip(clips.dir, { name: golden.clip.name, rate: golden.clip.rate, seconds: golden.clip.seconds }));
        made.set(golden.clip.name, info);
      }
      assert.deepEqual({ frameCount: info.frameCount, fps: info.fps, duration: info.duration }, golden.metadata);
      const frames = sampleFrames(info, golden.sampling);
      assert.deepEqual(
        frames.map((f) => f.index),
        golden.indices,
      );
      assert.deepEqual(
        frames.map((f) => f.timestamp),
        golden.timestamps,
      );
    });
  }

  test('7 fps, 100 s: the first, a middle and the last sampled frame decode to the sequential decode', async () => {
    const info = made.get('7fps-100s.mp4') ?? (await probeVideo(makeClip(clips.dir, { name: '7fps-100s.mp4', rate: '7', seconds: 100 })));
    const reference = allFrames(info.path, 64 * 48 * 3);
    const indices = sampleFrames(info, { fps: 1, maxFrames: 64 }).map((f) => f.index);
    for (const index of [indices[0]!, indices[31]!, indices.at(-1)!]) {
      assert.ok(Buffer.from((await decodeVideoFrame(info, index)).data).equals(reference[index]!), `frame ${index}`);
    }
  });
});

describe('decodeVideoFrames', () => {
  test('yields the frames in order and stops cleanly when aborted', async () => {
    const info = await probeVideo(makeClip(clips.dir, { name: 'gen.mp4', rate: '30', seconds: 3 }));
    const reference = allFrames(info.path, 64 * 48 * 3);
    const got: number[] = [];
    for await (const frame of decodeVideoFrames(info, [0, 44, 89])) {
      got.push(frame.index);
      assert.ok(Buffer.from(frame.image.data).equals(reference[frame.index]!));
    }
    assert.deepEqual(got, [0, 44, 89]);

    const controller = new AbortController();
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const frame of decodeVideoFrames(info, [0, 44, 89], { signal: controller.signal })) {
        seen.push(frame.index);
        controller.abort();
      }
    }, (error: Error & { code?: string }) => error.code === 'ABORTED');
    assert.deepEqual(seen, [0]);
  });
});

describe('frame pixels (lossless 96x54 testsrc, frame 19) against Pillow and transformers', { skip: skipUnlessShared(smolvlm2ReferenceDir) }, () => {
  const config = () => JSON.parse(readFileSync(path.join(smolvlm2ReferenceDir, 'preprocessor_config.json'), 'utf8')) as unknown;
  /**
   * SHA-256 of the 512x512 RGB frame from Pillow 12.3 on the same decoded frame (PyAV's decode has the
   * same SHA-256 as ours): `resize((512, 288), K).resize((512, 512), K)`, and with `(2048, 1152)` first.
   */
  const DECODED = '42b695bfa327a7c8adfee589f502cbda610f0ed1dfce2c1a8367f04c64a43235';
  const PILLOW_LANCZOS_512 = 'b0aeb2364edb85067a56899b72d099d8a12b6c45b95bbb6420431f90840aa569';
  const PILLOW_BICUBIC_512 = 'c6717de199b6d041a13be2184073f1efd13e9b41c885b966e99403abce59b062';
  const PILLOW_LANCZOS_2048 = '299e2b380d753f269992418cdf28b11c07e08995d1e9750c37a1f2d55cd86e1f';
  /**
   * transformers 5.18 SmolVLMVideoProcessor (torchvision 0.28, its default: `size` 2048 first, tensor
   * Lanczos) on that frame: pixel_values * 127.5 + 127.5 at rows and columns 8, 40, ..., 488, per channel.
   */
  const TRANSFORMERS_GRID = Buffer.from(
    'AAD7//v/BAD7/wQA8gD7/wAA+/37/wQA+/8EAPsA+/8AAPsA+/8EAPv/BAD7+vv/AAD9APv/BAD7/wQA+//7/wAA5gD7/wQA+/8EAPv/+/8AAAYA+/8EAPv/BAD5/f//AAAAAPv/BAD7/wQAAAD//wAAAAD7/wQA+/8EAAAA//8AAAAA+/8EAPv/BAAAAP//AAAAAPv/BAD7/wQABwb//wAAAAD7/wQA+/8EAPX5//8AAAAA9PkFBPv/Cwb7//77BwAAAAAAOJv3///////HZAcAAgACAjeW9//9/f//yWkAAP8L//8BAPz/AAD7S/7/AAD77vv/BAD7/wQA+wD7/wAAAAAEAAAA+////w3///8AAAACBAAAAPv///8E////AAAA/wQAAAD7////BAX//wAAAP8EAAAA+////wQA//8AABX/BAAAAPv///8EAP//AAD5/wQAAAD7////BAD7/wAA+/8EAAAA+////wQA//8AAPv/BAAAAPv///8EAP//AAD7/wQAAAD7////BAD//wAA+/8EAAAA+////wQA//8AAPv/BAAAAPv///8EAP//Bgb//gcBAAD0+fn5BwX7/////+iLKQAAAAAAE3rc///9/f3ohygAAAICAhp21f//AAAA9gAAAAD/////AKL//wAAABEEAAAA+////wT///8AAAAA/////wQAAAAK////AAAAAv////8EAAAAAP///wAAAP//////BAAAAAAF//8AAAD//////wQAAAAAAP//AAAV//////8EAAAAAAD//wAA+f//////BAAAAAAA+/8AAPv//////wQAAAAAAP//AAD7//////8EAAAAAAD//wAA+///////BAAAAAAA//8AAPv//////wQAAAAAAP//AAD7//////8EAAAAAAD//wAC////////CwUCAAAA9PkAWbz///////+sSgAAAAAAAFa1///////9pkcAAAACAgAAAPT/////AAAAAAC0//8AAAAR/////wQAAAAA////',
    'base64',
  );

  test('the decoded frame, both resizes per kernel, and the tensor within one level of transformers', async () => {
    const info = await probeVideo(makeClip(clips.dir, { name: 'pix.mkv', rate: '10', seconds: 2, size: '96x54', codec: LOSSLESS_RGB }));
    const frame = await decodeVideoFrame(info, 19);
    assert.equal(sha256(frame.data), DECODED);

    const lanczos = videoProcessorOptionsFromConfig(config())!;
    assert.deepEqual([lanczos.longestEdge, lanczos.frameSize, lanczos.resample], [512, 512, 'lanczos']);
    assert.equal(sha256(resizeVideoFrame(frame, lanczos).data), PILLOW_LANCZOS_512);
    assert.equal(sha256(resizeVideoFrame(frame, videoProcessorOptionsFromConfig(config(), { resample: 'bicubic' })!).data), PILLOW_BICUBIC_512);
    const likeTransformers = videoProcessorOptionsFromConfig(config(), { sizeOverridesVideoSize: true })!;
    assert.equal(likeTransformers.longestEdge, 2048);
    assert.equal(sha256(resizeVideoFrame(frame, likeTransformers).data), PILLOW_LANCZOS_2048);

    const pixels = preprocessVideoFrame(frame, likeTransformers);
    assert.equal(pixels.length, 3 * 512 * 512);
    let worst = 0;
    for (let c = 0; c < 3; c++) {
      for (let gy = 0; gy < 16; gy++) {
        for (let gx = 0; gx < 16; gx++) {
          const level = pixels[c * 512 * 512 + (8 + 32 * gy) * 512 + 8 + 32 * gx]! * 127.5 + 127.5;
          worst = Math.max(worst, Math.abs(level - TRANSFORMERS_GRID[c * 256 + gy * 16 + gx]!));
        }
      }
    }
    assert.ok(worst <= 1 + 1e-4, `max difference ${worst} levels`);
  });
});

describe('errors', () => {
  test('a missing ffmpeg is VIDEO_DECODER_MISSING, naming SMOLVLM_FFMPEG', async () => {
    const binary = resolveFfmpeg({ SMOLVLM_FFMPEG: path.join(clips.dir, 'no-such-ffmpeg') });
    assert.equal(binary.source, 'env');
    await assert.rejects(probeVideo(path.join(clips.dir, 'x.mp4'), { binary }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'VIDEO_DECODER_MISSING');
      assert.match(error.message, /SMOLVLM_FFMPEG=.*no-such-ffmpeg does not exist/);
      return true;
    });
  });

  test('text and audio-only files are VIDEO_INVALID with a reason', async () => {
    const text = path.join(clips.dir, 'notes.mp4');
    writeFileSync(text, 'not a video at all\n');
    await assert.rejects(probeVideo(text, { label: 'notes.mp4' }), (error: Error & { code?: string }) => error.code === 'VIDEO_INVALID' && /"notes\.mp4"/.test(error.message));
    const audio = path.join(clips.dir, 'tone.wav');
    const run = spawnSync(resolveFfmpeg().path, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=duration=1', audio]);
    assert.equal(run.status, 0);
    await assert.rejects(probeVideo(audio), /cannot read video ".*tone\.wav": it has no video stream$/);
  });

  test('bytes from stdin or a download go to a private temporary file that is removed afterwards', async () => {
    const temp = await writeTempVideo(new Uint8Array([1, 2, 3]), 'mp4');
    assert.ok(temp.path.endsWith('input.mp4'));
    assert.deepEqual([...readFileSync(temp.path)], [1, 2, 3]);
    await temp.dispose();
    assert.throws(() => readFileSync(temp.path), /ENOENT/);
  });
});
