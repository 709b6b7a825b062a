import { Command } from '@commander-js/extra-typings';
import { runCommand } from '../context.js';
import { EXIT_CODES_HELP, UsageError } from '../errors.js';
import { formatOptions, generationOptions, generationSettings, imageOptions, modelOptions, outputOptions, videoOptions, withOptions } from '../options.js';

const HELP = `
An interactive conversation that keeps the model's state between turns: a follow-up question
about the same image does not pay for the image again. Images given here go with the first message.
Videos work like images with a video model (--model smolvlm2-256m); a clip that does not fit the
context is refused with the numbers (/set max_frames lowers it).

In a message, image and video files are recognised by name (quoted or not, "\\ " escapes, ~, file://,
or dragged into the terminal). """ starts a multi-line message. Type /help in the chat for the
commands: /image /video /images /clear /system /set /show /stats /retry /save /load /help /exit.

Input history: $XDG_STATE_HOME/smolvlm/history (default ~/.local/state/smolvlm/history).

Not a terminal: each line (or """ block) of stdin is a message, answers go to stdout and
everything else to stderr; commands work the same.

Examples:
  $ smolvlm chat fixtures/images/coffee.jpg
  $ smolvlm chat --temperature 0.7 --system "Answer in French."
  $ printf 'What is this?\\nWhat colour is it?\\n' | smolvlm chat photo.jpg
  $ smolvlm chat --schema '{"type":"object","properties":{"tags":{"type":"array","items":{"type":"string"}}}}'

${EXIT_CODES_HELP}
`;

export function chatCommand() {
  return withOptions(
    new Command('chat')
      .summary('chat about images, keeping the conversation in memory')
      .description('An interactive conversation, with images or without.')
      .argument('[images...]', 'images for the first message: paths, file:// or http(s):// URLs, data: URIs'),
    modelOptions,
    generationOptions,
    imageOptions,
    videoOptions({ fit: false }),
    formatOptions,
    outputOptions(),
  )
    .addHelpText('after', HELP)
    .action((images, options) =>
      runCommand(options, async (ctx) => {
        const { ChatSession, checkImages, Conversation, describeImage, History, historyFile, readOutputFormat, runPiped, runTerminal, STDIN_SOURCE } = await import('../actions.js');
        if (images.includes(STDIN_SOURCE)) throw new UsageError('chat reads messages from stdin, so "-" cannot be an image; pass image files or URLs');
        const { io } = ctx;
        const format = await readOutputFormat(options);
        await checkImages(images, { cwd: io.cwd });
        // The decoder warms up at load: the first answer comes sooner, and nobody waits on the load.
        const loaded = await ctx.loadModel(options, { warmUp: true });
        const conversation = new Conversation(loaded.model, {
          modelName: loaded.name,
          ...(options.system !== undefined ? { system: options.system } : {}),
          // An undefined setting means the default, so the options pass through as they are.
          settings: generationSettings(options),
          imageSource: { cwd: io.cwd },
          ...(format !== undefined ? { format } : {}),
        });
        const interactive = io.stdin.isTTY === true;
        const session = new ChatSession(conversation, loaded, ctx.renderer, io, interactive);
        if (images.length > 0) {
          const attached = await conversation.attach(images);
          session.note(`attached ${attached.map(describeImage).join(', ')} to your first message`);
        }
        if (!interactive) return runPiped(session, io.stdin, ctx);
        session.note(`smolvlm chat with ${loaded.name}: type a message, /help for the commands, Ctrl+D to quit`);
        const output = io.stdout.isTTY ? io.stdout : io.stderr;
        return runTerminal(session, { stdin: io.stdin, output }, new History(historyFile(io.env)), ctx);
      }),
    );
}
