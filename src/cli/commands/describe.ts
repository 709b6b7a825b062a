import { Command } from '@commander-js/extra-typings';
import { runOneShotCommand } from '../context.js';
import { EXIT_CODES_HELP } from '../errors.js';
import { answerOptionGroups, buildMessages, withOptions } from '../options.js';
import { DESCRIBE_PROMPT } from '../prompts.js';

const HELP = `
Each image is described on its own; the model is loaded once for all of them. With several images
each answer comes under a "==> image <==" header (on stderr when stdout is not a terminal), or as
one JSON object per line with --json. An image that cannot be read is reported and skipped (exit 1).

Images: paths (~ expanded), file:// and http(s):// URLs, data: URIs, or - for stdin.
Videos (MP4, MOV, WebM, MKV, AVI, MPEG-TS) go wherever an image does, told apart by their bytes; they
need a video model (--model smolvlm2-256m or smolvlm2-500m). Frames are sampled as the model was trained
(1 per second, at most 64, with their timestamps in the prompt); --fps and --max-frames change that.

Examples:
  $ smolvlm describe fixtures/images/cat.jpg
  $ smolvlm describe --prompt "What animals are in this picture?" zoo.png
  $ curl -s https://example.com/cat.jpg | smolvlm describe -
  $ find . -name '*.jpg' | xargs smolvlm describe --json > captions.jsonl
  $ smolvlm describe --schema photo.schema.json --json *.jpg | jq -c .data

${EXIT_CODES_HELP}
`;

export function describeCommand() {
  return withOptions(
    new Command('describe')
      .summary('describe each image on its own')
      .description('Describe images, each on its own, with the model\'s usual prompt.')
      .argument('<images...>', 'image or video paths, URLs, data: URIs, or - for stdin')
      .option('-p, --prompt <text>', 'what to ask about each image', DESCRIBE_PROMPT),
    ...answerOptionGroups(),
  )
    .addHelpText('after', HELP)
    .action((images, options) =>
      runOneShotCommand(options, async (ctx) => {
        const { assertSingleStdinSource, checkImages, isImageError, readOutputFormat, sourceLabel } = await import('../actions.js');
        assertSingleStdinSource(images);
        const format = await readOutputFormat(options);
        const usable = await checkImages(images, ctx.imageSource(), (error, image) => ctx.fail(error, { image: sourceLabel(image) }));
        if (usable.length === 0) return;
        const loaded = await ctx.loadModel(options);
        for (const image of usable) {
          if (ctx.interrupted) break;
          const label = sourceLabel(image);
          if (images.length > 1) ctx.renderer.header(label);
          try {
            await ctx.answer(loaded, { messages: buildMessages(options, [image], options.prompt), prompt: options.prompt, settings: options, format });
          } catch (error) {
            if (ctx.interrupted || !isImageError(error)) throw error;
            ctx.fail(error, { image: label });
          }
        }
      }),
    );
}
