import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkSamplingOptions,
  formatFrameTimestamp,
  linspaceUniqueInts,
  roundHalfEven,
  sampleFrameIndices,
  sampleFrames,
} from '../../src/core/video/index.js';
import { videoGolden } from '../helpers/video-golden.js';

describe('Python number semantics', () => {
  test('round() rounds half to even', () => {
    assert.deepEqual([0.5, 1.5, 2.5, 3.5, -0.5, 2.4999, 2.5001, 64.0306].map(roundHalfEven), [0, 2, 2, 4, 0, 2, 3, 64]);
  });

  test('np.unique(np.linspace(a, b, n, dtype=int))', () => {
    assert.deepEqual(linspaceUniqueInts(0, 89, 3), [0, 44, 89]);
    assert.deepEqual(linspaceUniqueInts(0, 59, 2), [0, 59]);
    assert.deepEqual(linspaceUniqueInts(7, 7, 5), [7]);
    assert.deepEqual(linspaceUniqueInts(0, 3, 8), [0, 1, 2, 3]); // more points than indices: duplicates go
    assert.deepEqual(linspaceUniqueInts(5, 9, 1), [5]);
  });

  test('MM:SS of a frame time, minutes not wrapped into hours', () => {
    assert.equal(formatFrameTimestamp(0), '00:00');
    assert.equal(formatFrameTimestamp(1.4666), '00:01');
    assert.equal(formatFrameTimestamp(59.999), '00:59');
    assert.equal(formatFrameTimestamp(60), '01:00');
    assert.equal(formatFrameTimestamp(3725.5), '62:05');
  });
});

describe('sampleFrames: the reference rule', () => {
  test('desired = max(1, min(round(fps * duration), max_frames)), half to even', () => {
    assert.equal(sampleFrameIndices({ frameCount: 60, fps: 24, duration: 2.5 }, { fps: 1, maxFrames: 64 }).length, 2);
    assert.equal(sampleFrameIndices({ frameCount: 84, fps: 24, duration: 3.5 }, { fps: 1, maxFrames: 64 }).length, 4);
    assert.deepEqual(sampleFrameIndices({ frameCount: 5, fps: 30, duration: 1 / 6 }, { fps: 1, maxFrames: 64 }), [0]);
    assert.equal(sampleFrameIndices({ frameCount: 7000, fps: 7, duration: 1000 }, { fps: 1, maxFrames: 64 }).length, 64);
  });

  test('skips one second at each end only when duration - 2 > max_frames * fps', () => {
    // 66 s: 64 > 64 is false, so the clip is sampled from its first frame to its last.
    assert.deepEqual(sampleFrameIndices({ frameCount: 660, fps: 10, duration: 66 }, { fps: 1, maxFrames: 64 }).slice(0, 1), [0]);
    assert.equal(sampleFrameIndices({ frameCount: 660, fps: 10, duration: 66 }, { fps: 1, maxFrames: 64 }).at(-1), 659);
    // 66.1 s: the ends go: int(1 * fps) .. int(frames - fps).
    const skipped = sampleFrameIndices({ frameCount: 661, fps: 10, duration: 66.1 }, { fps: 1, maxFrames: 64 });
    assert.equal(skipped[0], 10);
    assert.equal(skipped.at(-1), 651);
  });

  test('a one-frame clip gives its frame', () => {
    assert.deepEqual(sampleFrames({ frameCount: 1, fps: 24, duration: 1 / 24 }, { fps: 1, maxFrames: 64 }), [{ index: 0, time: 0, timestamp: '00:00' }]);
  });

  test('bad options and metadata are refused', () => {
    assert.throws(() => checkSamplingOptions({ fps: 0, maxFrames: 64 }), /positive number of frames per second/);
    assert.throws(() => checkSamplingOptions({ fps: 1, maxFrames: 2.5 }), /positive integer/);
    assert.throws(() => sampleFrames({ frameCount: 0, fps: 30, duration: 0 }, { fps: 1, maxFrames: 64 }), /no usable frame count/);
  });

  for (const golden of videoGolden.clips) {
    test(`golden: ${golden.clip.name} (${golden.metadata.frameCount} frames at ${golden.metadata.fps} fps), ${JSON.stringify(golden.sampling)}`, () => {
      const frames = sampleFrames(golden.metadata, golden.sampling);
      assert.deepEqual(
        frames.map((f) => f.index),
        golden.indices,
      );
      assert.deepEqual(
        frames.map((f) => f.timestamp),
        golden.timestamps,
      );
      for (const f of frames) assert.equal(f.time, f.index / golden.metadata.fps);
    });
  }
});
