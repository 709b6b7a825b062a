/** End-to-end: videos through the built binary on the tiny-video fixture (clips made with the bundled ffmpeg). */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { runCli } from '../helpers/cli.js';
import { clipDir, makeClip } from '../helpers/video-clips.js';
import { smallContextVideoModel } from '../helpers/video-model.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-cli-video-'));
const clips = clipDir();
let videoModel = '';
let plainModel = '';
let smallModel = '';
let clip = '';

before(async () => {
  videoModel = await ensureFixtureModel('tiny-video');
  plainModel = await ensureFixtureModel('tiny');
  smallModel = await smallContextVideoModel(path.join(tmp, 'small'), 200);
  clip = makeClip(clips.dir, { name: 'clip.mp4', rate: '10', seconds: 5 });
});
after(() => {
  clips.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

interface VideoJson {
  label: string;
  frames: number;
  timestamps: string[];
  tokens: number;
  encode_ms: number;
  reduced_from?: number;
}

const json = (stdout: string) => JSON.parse(stdout) as { text: string; videos: VideoJson[]; usage: { prompt_tokens: number; video_tokens: number } };

describe('smolvlm ask with a video', () => {
  test('ask clip.mp4 "What happens?" --json: frames, timestamps, tokens and encode time', async () => {
    const run = await runCli(['ask', clip, 'What happens?', '--json', '--model', videoModel, '-n', '4']);
    assert.equal(run.code, 0, run.stderr);
    const answer = json(run.stdout);
    assert.equal(typeof answer.text, 'string');
    const [video] = answer.videos;
    assert.deepEqual([video!.label, video!.frames, video!.timestamps], [clip, 5, ['00:00', '00:01', '00:02', '00:03', '00:04']]);
    assert.ok(video!.encode_ms > 0);
    assert.equal(answer.usage.video_tokens, video!.tokens);
    assert.ok(answer.usage.prompt_tokens > video!.tokens);
  });

  test('--verbose names the frames and their timestamps; a video from stdin; --fps', async () => {
    const run = await runCli(['ask', '-', 'What happens?', '--verbose', '--fps', '0.5', '--model', videoModel, '-n', '2'], { stdin: readFileSync(clip) });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /video stdin: 2 frames at 00:00 00:04, \d+ tokens, encode \d+ ms/);
  });

  test('a model without video_sampling refuses in one line naming it and the video models (exit 2)', async () => {
    const run = await runCli(['ask', clip, 'What happens?', '--model', plainModel]);
    assert.equal(run.code, 2);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /^smolvlm: error: .*tiny cannot read video .*smolvlm2-256m \(HuggingFaceTB\/SmolVLM2-256M-Video-Instruct\) or smolvlm2-500m \(HuggingFaceTB\/SmolVLM2-500M-Video-Instruct\)\n$/);
  });

  test('a clip too long for the context is refused before encoding, with the numbers (exit 1)', async () => {
    const run = await runCli(['ask', clip, 'What happens?', '--model', smallModel, '-n', '100', '--json']);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    const { error } = JSON.parse(run.stderr) as { error: { code: string; message: string } };
    assert.equal(error.code, 'CONTEXT_OVERFLOW');
    assert.match(error.message, /with 5 frames .* the prompt takes \d+ tokens, and with 100 kept for the answer that exceeds the 200-token context; at most \d frames? would fit/);
  });

  test('--fit samples it down and says so', async () => {
    const run = await runCli(['ask', clip, 'What happens?', '--model', smallModel, '-n', '100', '--fit', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const [video] = json(run.stdout).videos;
    assert.equal(video!.reduced_from, 5);
    assert.ok(video!.frames < 5);
    assert.match(run.stderr, new RegExp(`^video ${clip.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: sampled ${video!.frames} of 5 frames to fit the context \\(--fit\\)\n$`));
  });
});

describe('smolvlm chat with a video', () => {
  test('/video attaches a clip to the next message; /images lists its frames', async () => {
    const input = `/video ${clip}\nWhat happens?\n/images\n`;
    const run = await runCli(['chat', '--model', videoModel, '-n', '2'], { stdin: input, cwd: tmp });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /attached clip\.mp4 \(video, 5 frames, \d+ tokens\) to your next message/);
    assert.match(run.stderr, /1\. clip\.mp4 \(video, 5 frames, \d+ tokens\) \[message 1\]\ntotal: 1 video, 5 frames, \d+ tokens/);
    assert.equal(run.stdout.split('\n').length, 2, 'one answer line');
  });

  test('a clip named in a message is attached to it', async () => {
    const run = await runCli(['chat', '--model', videoModel, '-n', '2', '--max-frames', '2'], { stdin: `What happens in ${clip}?\n/images\n`, cwd: tmp });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /1\. clip\.mp4 \(video, 2 frames, \d+ tokens\) \[message 1\]/);
  });
});
