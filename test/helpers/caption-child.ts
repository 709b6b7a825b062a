/**
 * A caption run in a child process, for the kill -9 tests: captions every image listed in argv[4..]
 * with the fake captioner into the output file argv[2] (and sidecars), `argv[3]` ms per image.
 * Prints `started` once the output is open, and the summary as JSON at the end.
 */
import { captionImages } from '../../src/core/caption/run.js';
import { fakeCaptioner } from './fake-captioner.js';

const [output, delay, ...images] = process.argv.slice(2);
let announced = false;
const run = captionImages(images, {
  captioner: fakeCaptioner({ concurrency: 2, delayMs: Number(delay) }),
  prompt: 'Describe the image.',
  output,
  sidecar: true,
  onProgress: () => {
    if (!announced) process.stdout.write('started\n');
    announced = true;
  },
});
for await (const result of run) void result;
process.stdout.write(`${JSON.stringify(run.summary())}\n`);
