/** The REPL's slash commands: the table, with each command's body. */
import path from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { fsErrorReason, isConversationVideo, parseModelReference, resolveLocalPath, SmolVLMError } from '../../index.js';
import { UsageError } from '../errors.js';
import { formatStats } from '../render.js';
import { extractImageReferences, unquoteToken } from './image-references.js';
import { editDistance } from './input.js';
import { describeImage, type ChatSession } from './session.js';
import { FORMAT_PARAMETER, formatFormat, formatSetting, parseFormatValue, parseSet, SETTINGS } from './settings.js';

/** What a command asks of the loop: 'exit' ends the session. */
export type CommandOutcome = 'exit' | undefined;

export interface ReplCommand {
  name: string;
  aliases?: string[];
  /** How /help shows it. */
  usage: string;
  help: string;
  run: (session: ChatSession, args: string) => Promise<CommandOutcome | void> | CommandOutcome | void;
}

function noArgs(name: string, args: string): void {
  if (args !== '') throw new UsageError(`/${name} takes no arguments`);
}

export const COMMANDS: readonly ReplCommand[] = [
  { name: 'image', usage: '/image <path|url>', help: 'attach an image to the next message', run: (s, args) => attachCommand(s, args, 'image') },
  { name: 'video', usage: '/video <path|url>', help: 'attach a video to the next message (a video model)', run: (s, args) => attachCommand(s, args, 'video') },
  {
    name: 'images',
    usage: '/images',
    help: 'list the images and videos attached so far, with their tiles, frames and tokens',
    run: (s, args) => {
      noArgs('images', args);
      s.info(imagesListing(s));
    },
  },
  {
    name: 'clear',
    usage: '/clear',
    help: 'forget the conversation (the system message and settings stay)',
    run: (s, args) => {
      noArgs('clear', args);
      s.conversation.clear();
      s.note('conversation cleared');
    },
  },
  { name: 'system', usage: '/system <text>', help: 'set the system message (/system off removes it, /system alone shows it)', run: systemCommand },
  {
    name: 'set',
    usage: '/set <param> <value>',
    help: `change a setting: ${[...SETTINGS.map((p) => p.name), FORMAT_PARAMETER].join(', ')} ("default" resets; format json|<schema>|off); /set verbose|quiet: stats after each answer or not`,
    run: setCommand,
  },
  {
    name: 'show',
    usage: '/show [info|parameters|system]',
    help: 'show the model, its dtypes and the settings (or only the model and its files, the settings, the system message)',
    run: showCommand,
  },
  {
    name: 'stats',
    usage: '/stats',
    help: 'timings of the last answer, context used / limit',
    run: (s, args) => {
      noArgs('stats', args);
      s.info(statsLines(s).join('\n'));
    },
  },
  {
    name: 'retry',
    usage: '/retry',
    help: 'regenerate the last answer (the conversation before it is not recomputed)',
    run: async (s, args) => {
      noArgs('retry', args);
      await s.turn('retry');
    },
  },
  { name: 'save', usage: '/save <file.md|file.json>', help: 'write the conversation as Markdown or as a JSON transcript', run: saveCommand },
  { name: 'load', usage: '/load <file.json>', help: 'restore a JSON transcript (messages, images, settings)', run: loadCommand },
  { name: 'help', aliases: ['?'], usage: '/help', help: 'this list', run: (s) => s.info(helpLines().join('\n')) },
  { name: 'exit', aliases: ['quit', 'bye'], usage: '/exit', help: 'quit (also Ctrl+D)', run: () => 'exit' },
];

export function findCommand(name: string): ReplCommand | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}

/** The closest command name when it is close enough to be a typo. */
export function suggestCommand(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const command of COMMANDS) {
    for (const candidate of [command.name, ...(command.aliases ?? [])]) {
      const distance = editDistance(name, candidate);
      if (distance < bestDistance) {
        bestDistance = distance;
        best = command.name;
      }
    }
  }
  return bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

/** Runs `/name args`: an unknown name gets a hint, a failing command reports its error; neither ends the session. */
export async function runReplCommand(session: ChatSession, name: string, args: string): Promise<CommandOutcome> {
  const command = findCommand(name);
  if (!command) {
    const suggestion = suggestCommand(name);
    session.renderer.warn(`unknown command /${name}${suggestion ? ` (did you mean /${suggestion}?)` : ''}; type /help for the commands`);
    return undefined;
  }
  try {
    return (await command.run(session, args)) ?? undefined;
  } catch (error) {
    session.report(error);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Command bodies

/** /image and /video: either reads what it is given and tells images from videos by their bytes. */
async function attachCommand(s: ChatSession, args: string, kind: 'image' | 'video'): Promise<void> {
  if (args === '') throw new UsageError(`usage: /${kind} <path|url>`);
  const whole = unquoteToken(args);
  if (/^(https?:|data:|file:)/i.test(whole)) return s.attach([whole]);
  const found = await extractImageReferences(args, s.io.cwd);
  for (const missing of found.missing) s.renderer.error(new SmolVLMError('IMAGE_NOT_FOUND', `no such ${kind}: ${missing}`));
  if (found.images.length > 0 && found.text === '') return s.attach(found.images);
  if (found.missing.length > 0) return;
  // Not an image file name: let the reader say what is wrong with it (missing, a directory, not an image).
  return s.attach([whole]);
}

function imagesListing(s: ChatSession): string {
  const listing = s.conversation.images();
  if (listing.length === 0) return 'no images or videos yet: name their files in a message, drag them in, or use /image or /video <path|url>';
  const lines = listing.map(({ image, message }, i) => {
    const where = message === undefined ? 'next message' : `message ${message + 1}`;
    return `${i + 1}. ${describeImage(image)} [${where}]`;
  });
  const tokens = listing.reduce((n, { image }) => n + image.prepared.tokens, 0);
  const videos = listing.flatMap(({ image }) => (isConversationVideo(image) ? [image.prepared] : []));
  const images = listing.length - videos.length;
  const tiles = listing.reduce((n, { image }) => n + (isConversationVideo(image) ? 0 : image.prepared.tileCount), 0);
  const frames = videos.reduce((n, video) => n + video.plan.frames.length, 0);
  const counts = images > 0 ? [`${images} image${images === 1 ? '' : 's'}`, `${tiles} tile${tiles === 1 ? '' : 's'}`] : [];
  if (videos.length > 0) counts.push(`${videos.length} video${videos.length === 1 ? '' : 's'}`, `${frames} frame${frames === 1 ? '' : 's'}`);
  lines.push(`total: ${counts.join(', ')}, ${tokens} tokens`);
  return lines.join('\n');
}

function systemCommand(s: ChatSession, args: string): void {
  if (args === '') {
    s.info(s.conversation.system === undefined ? 'no system message' : `system: ${s.conversation.system}`);
  } else if (args.toLowerCase() === 'off') {
    s.conversation.setSystem(undefined);
    s.note('system message removed');
  } else {
    s.conversation.setSystem(args);
    s.note('system message set');
  }
}

/** Words `/set` takes besides the parameter names, as Ollama spells them. */
export const SET_WORDS: readonly string[] = ['parameter', 'system', 'verbose', 'quiet'];

/** `/show` topics, as Ollama spells them. */
export const SHOW_TOPICS: readonly string[] = ['info', 'parameters', 'system'];

async function setCommand(s: ChatSession, args: string): Promise<void> {
  const [first = '', ...rest] = args.split(/\s+/);
  const word = first.toLowerCase();
  // Ollama's spellings: `/set parameter <name> <value>`, `/set system <text>`, `/set verbose|quiet`.
  if (word === 'parameter') return setCommand(s, rest.join(' '));
  if (word === 'system') return systemCommand(s, args.slice(first.length).trim());
  if ((word === 'verbose' || word === 'quiet') && rest.length === 0) {
    s.renderer.verbose = word === 'verbose';
    s.note(word === 'verbose' ? 'verbose: timings after each answer' : 'quiet: no timings after the answers');
    return;
  }
  if (args === '') {
    s.info(settingsLines(s).join('\n'));
    return;
  }
  const [name = '', value = ''] = /^(\S+)\s*([\s\S]*)$/.exec(args)?.slice(1) ?? [];
  if (name.toLowerCase() === FORMAT_PARAMETER) {
    s.conversation.setFormat(await parseFormatValue(value));
    s.note(`format = ${formatFormat(s.conversation.format)}`);
    return;
  }
  const { spec, change } = parseSet(args);
  s.conversation.updateSettings(change);
  const media = s.conversation.images().map(({ image }) => isConversationVideo(image));
  const imageSetting = (spec.key === 'split' || spec.key === 'imageSize') && media.includes(false);
  const videoSetting = (spec.key === 'fps' || spec.key === 'maxFrames') && media.includes(true);
  const applies = imageSetting
    ? ' (every image of the conversation is re-tiled on the next turn)'
    : videoSetting
      ? ' (every video of the conversation is sampled again on the next turn)'
      : '';
  s.note(`${spec.name} = ${formatSetting(spec, s.conversation.settings, s.loaded.model)}${applies}`);
}

function settingsLines(s: ChatSession): string[] {
  const width = Math.max(...SETTINGS.map((p) => p.name.length));
  const settings = s.conversation.settings;
  const lines = SETTINGS.map((p) => `  ${p.name.padEnd(width)}  ${formatSetting(p, settings, s.loaded.model)}`);
  if (settings.stop?.length) lines.push(`  ${'stop'.padEnd(width)}  ${settings.stop.map((t) => JSON.stringify(t)).join(', ')}`);
  lines.push(`  ${FORMAT_PARAMETER.padEnd(width)}  ${formatFormat(s.conversation.format)}`);
  return ['settings', ...lines];
}

function showCommand(s: ChatSession, args: string): void {
  const topic = args.toLowerCase();
  if (topic === '') s.info([...modelLines(s), `system   ${s.conversation.system ?? '(none)'}`, ...settingsLines(s)].join('\n'));
  else if (topic === 'info') s.info([...modelLines(s), ...fileLines(s)].join('\n'));
  else if (topic === 'parameters') s.info(settingsLines(s).join('\n'));
  else if (topic === 'system') systemCommand(s, '');
  else throw new UsageError(`/show takes nothing or one of ${SHOW_TOPICS.join(', ')}, not "${args}"`);
}

function modelLines(s: ChatSession): string[] {
  const { model, name } = s.loaded;
  const dtypes = Object.entries(model.dtypes)
    .map(([session, dtype]) => `${session}=${dtype}`)
    .join(', ');
  return [`model    ${name}`, `dtype    ${dtypes}`, `context  ${s.conversation.contextLimit} tokens`];
}

/** Where the model's files are: its folder, then each ONNX session's file relative to it. */
function fileLines(s: ChatSession): string[] {
  const { dir, onnxPaths } = s.loaded.model.directory;
  const width = Math.max(...Object.keys(onnxPaths).map((k) => k.length));
  const sessions = Object.entries(onnxPaths).map(([session, file]) => `  ${session.padEnd(width)}  ${path.relative(dir, file)}`);
  return [`files    ${dir}`, ...sessions];
}

function statsLines(s: ChatSession): string[] {
  const last = s.conversation.lastResult;
  const context = s.conversation.contextUsage();
  const lines: string[] = [];
  if (last) {
    const { usage } = last;
    lines.push(
      `last turn: ${usage.promptTokens} prompt tokens (${usage.cachedTokens} from the cache, ${usage.promptTokens - usage.cachedTokens} prefilled), ${usage.completionTokens} generated`,
    );
    lines.push(`  ${formatStats(last)}`);
  } else {
    lines.push('no answer yet');
  }
  lines.push(`context: ${context.used} / ${context.limit} tokens used, ${context.remaining} left`);
  return lines;
}

async function saveCommand(s: ChatSession, args: string): Promise<void> {
  if (args === '') throw new UsageError('usage: /save <file.md|file.json>');
  const file = resolveLocalPath(unquoteToken(args), { cwd: s.io.cwd });
  const ext = path.extname(file).toLowerCase();
  let text: string;
  if (ext === '.json') text = `${JSON.stringify(s.conversation.toJSON(), null, 2)}\n`;
  else if (ext === '.md' || ext === '.markdown') text = s.conversation.toMarkdown({ title: 'smolvlm chat' });
  else throw new UsageError(`/save writes Markdown (.md) or JSON (.json), not "${ext || path.basename(file)}"`);
  try {
    await writeFile(file, text);
  } catch (error) {
    throw new SmolVLMError('USAGE', `cannot write ${args}: ${fsErrorReason(error)}`);
  }
  s.note(`saved ${s.conversation.messages.length} messages to ${args}`);
}

async function loadCommand(s: ChatSession, args: string): Promise<void> {
  if (args === '') throw new UsageError('usage: /load <file.json>');
  const file = resolveLocalPath(unquoteToken(args), { cwd: s.io.cwd });
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if (error instanceof SyntaxError) throw new SmolVLMError('USAGE', `${args} is not a JSON transcript (${error.message})`);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && isModelName(args)) {
      throw new UsageError(`no such file: ${args}; /load restores a chat transcript (.json). "${args}" names a model: to chat with it, quit and run \`smolvlm chat --model ${args}\``);
    }
    throw new SmolVLMError('USAGE', code === 'ENOENT' ? `no such file: ${args}` : `cannot read ${args}: ${fsErrorReason(error)}`);
  }
  const report = await s.interruptible((signal) => s.conversation.restore(data, { baseDir: path.dirname(file), signal }));
  for (const missing of report.missing) {
    s.renderer.warn(`image ${missing.source} of message ${missing.message + 1} was not re-attached: ${missing.reason}`);
  }
  s.note(`loaded ${report.messages} messages and ${report.images} image${report.images === 1 ? '' : 's'} from ${args}`);
}

/** Whether `/load`'s argument names a model (an alias such as 256m, or org/name on the Hub) rather than a file. */
function isModelName(text: string): boolean {
  try {
    return !text.toLowerCase().endsWith('.json') && parseModelReference(text).kind === 'hub';
  } catch {
    return false;
  }
}

function helpLines(): string[] {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  return [
    'Type a message and press Enter. Image and video files named in a message (paths, quoted or with',
    '"\\ ", ~, file://, or dragged into the terminal) are attached to it.',
    '"""  starts a multi-line message; end it with a line ending in """.',
    '',
    ...COMMANDS.map((c) => `${c.usage.padEnd(width)}  ${c.help}`),
    '',
    'Ctrl+C stops an answer (what was generated is kept). Ctrl+D or /exit quits.',
  ];
}
