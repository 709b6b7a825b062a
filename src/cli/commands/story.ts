import { Command } from '@commander-js/extra-typings';
import { runOneShotCommand } from '../context.js';
import { EXIT_CODES_HELP } from '../errors.js';
import { answerOptionGroups, buildMessages, withOptions } from '../options.js';
import { storyPrompt } from '../prompts.js';

const HELP = `
All images go into one prompt, in the order given, with a request for a story that connects them.
With several images, tiling is off by default (each image costs one tile instead of up to 17);
--split turns it back on for more detail at a much higher token cost. Videos may be among them (with a
video model); each frame costs one tile.

Examples:
  $ smolvlm story fixtures/images/*.jpg
  $ smolvlm story --temperature 0.8 --seed 7 a.jpg b.jpg
  $ smolvlm story --prompt "Write a poem about these photos." a.jpg b.jpg

${EXIT_CODES_HELP}
`;

export function storyCommand() {
  return withOptions(
    new Command('story')
      .summary('tell one story that connects the images')
      .description('Write one story over all images, in order.')
      .argument('<images...>', 'image or video paths, URLs, data: URIs, or - for stdin')
      .option('-p, --prompt <text>', 'what to ask instead of a story'),
    ...answerOptionGroups(),
  )
    .addHelpText('after', HELP)
    .action((images, options) =>
      runOneShotCommand(options, async (ctx) => {
        const { assertSingleStdinSource, checkImages, readOutputFormat } = await import('../actions.js');
        assertSingleStdinSource(images);
        await checkImages(images, ctx.imageSource());
        const prompt = options.prompt ?? storyPrompt(images.length);
        const format = await readOutputFormat(options);
        const loaded = await ctx.loadModel(options);
        const defaults = { split: images.length > 1 ? false : undefined };
        await ctx.answer(loaded, { messages: buildMessages(options, images, prompt), prompt, settings: options, defaults, format });
      }),
    );
}
