import { Command } from '@commander-js/extra-typings';
import { runOneShotCommand } from '../context.js';
import { EXIT_CODES_HELP, UsageError } from '../errors.js';
import { answerOptionGroups, buildMessages, withOptions } from '../options.js';

const HELP = `
The last argument is the question unless -q gives it; the arguments before it are images, all put
into one prompt in order. Without images it is a plain text chat with the language model. When the
question is not given and no image is read from stdin, the question is read from stdin.

Images: paths (~ expanded), file:// and http(s):// URLs, data: URIs, or - for stdin.
Videos (MP4, MOV, WebM, MKV, AVI, MPEG-TS) go wherever an image does, told apart by their bytes; they
need a video model (--model smolvlm2-256m or smolvlm2-500m). Frames are sampled as the model was trained
(1 per second, at most 64, with their timestamps in the prompt); --fps and --max-frames change that.

Examples:
  $ smolvlm ask fixtures/images/rocket.jpg "What is happening in this photo?"
  $ smolvlm ask before.png after.png "What changed between these two screenshots?"
  $ smolvlm ask -q "How many people are there?" https://example.com/crowd.jpg
  $ smolvlm ask "Write a haiku about autumn."
  $ echo "What colour is the car?" | smolvlm ask car.jpg
  $ smolvlm ask - "What is this?" < photo.jpg
  $ smolvlm ask clip.mp4 "What happens?" --model smolvlm2-256m
  $ smolvlm ask receipt.jpg "Read the total." --schema '{"type":"object","properties":{"total":{"type":"number"}},"required":["total"]}'

${EXIT_CODES_HELP}
`;

export function askCommand() {
  return withOptions(
    new Command('ask')
      .summary('ask a question about images or videos, or without them')
      .description('Ask a question about zero, one or several images or videos.')
      .argument('[images...]', 'images or videos, then the question (unless -q)')
      .option('-q, --question <text>', 'the question (then every argument is an image)'),
    ...answerOptionGroups(),
  )
    .addHelpText('after', HELP)
    .action((inputs, options) =>
      runOneShotCommand(options, async (ctx) => {
        const { assertSingleStdinSource, checkImages, isImageArgument, readOutputFormat, readStdinText, STDIN_SOURCE } = await import('../actions.js');
        let images = inputs;
        let question = options.question;
        if (question === undefined) {
          const last = inputs.at(-1);
          if (last !== undefined && !(await isImageArgument(last, ctx.io.cwd))) {
            question = last;
            images = inputs.slice(0, -1);
          }
        }
        assertSingleStdinSource(images);
        await checkImages(images, ctx.imageSource());
        if (question === undefined) {
          if (images.includes(STDIN_SOURCE)) {
            throw new UsageError('missing question: stdin carries the image ("-"), so give the question after the images or with -q');
          }
          if (ctx.io.stdin.isTTY) throw new UsageError('missing question: give it after the images, with -q, or on stdin');
          question = (await readStdinText(ctx.io.stdin, ctx.signal)).trim();
          if (question === '') throw new UsageError('missing question: give it after the images, with -q, or on stdin (stdin was empty)');
        }
        if (question.trim() === '') throw new UsageError('the question is empty');
        const format = await readOutputFormat(options);
        const loaded = await ctx.loadModel(options);
        await ctx.answer(loaded, { messages: buildMessages(options, images, question), prompt: question, settings: options, format });
      }),
    );
}
