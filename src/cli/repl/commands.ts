/** The REPL's slash commands. */
import { UsageError } from '../errors.js';
import { editDistance } from './input.js';
import type { ChatSession, LineOutcome } from './session.js';
import { formatSetting, parseSet, SETTINGS } from './settings.js';

export interface ReplCommand {
  name: string;
  aliases?: string[];
  /** How /help shows it. */
  usage: string;
  help: string;
  run: (session: ChatSession, args: string) => Promise<LineOutcome> | LineOutcome;
}

function noArgs(name: string, args: string): void {
  if (args !== '') throw new UsageError(`/${name} takes no arguments`);
}

export const COMMANDS: readonly ReplCommand[] = [
  {
    name: 'image',
    usage: '/image <path|url>',
    help: 'attach an image to the next message',
    run: async (s, args) => {
      await s.imageCommand(args);
      return undefined;
    },
  },
  {
    name: 'images',
    usage: '/images',
    help: 'list the images attached so far, with their tiles and tokens',
    run: (s, args) => {
      noArgs('images', args);
      s.imagesCommand();
      return undefined;
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
      return undefined;
    },
  },
  {
    name: 'system',
    usage: '/system <text>',
    help: 'set the system message (/system off removes it, /system alone shows it)',
    run: (s, args) => {
      if (args === '') {
        s.info(s.conversation.system === undefined ? 'no system message' : `system: ${s.conversation.system}`);
      } else if (args.toLowerCase() === 'off') {
        s.conversation.setSystem(undefined);
        s.note('system message removed');
      } else {
        s.conversation.setSystem(args);
        s.note('system message set');
      }
      return undefined;
    },
  },
  {
    name: 'set',
    usage: '/set <param> <value>',
    help: `change a setting: ${SETTINGS.map((p) => p.name).join(', ')} ("default" resets)`,
    run: (s, args) => {
      if (args === '') {
        s.info(settingsLines(s).join('\n'));
        return undefined;
      }
      const { spec, change } = parseSet(args);
      s.conversation.updateSettings(change);
      const imageSetting = spec.key === 'split' || spec.key === 'imageSize';
      const applies = imageSetting && s.conversation.images().length > 0 ? ' (every image of the conversation is re-tiled on the next turn)' : '';
      s.note(`${spec.name} = ${formatSetting(spec, s.conversation.settings, s.loaded.model)}${applies}`);
      return undefined;
    },
  },
  {
    name: 'show',
    usage: '/show',
    help: 'show the model, its dtypes and the settings',
    run: (s, args) => {
      noArgs('show', args);
      const { model, name } = s.loaded;
      const dtypes = Object.entries(model.dtypes)
        .map(([session, dtype]) => `${session}=${dtype}`)
        .join(', ');
      const lines = [
        `model    ${name}`,
        `dtype    ${dtypes}`,
        `context  ${s.conversation.contextLimit} tokens`,
        `system   ${s.conversation.system ?? '(none)'}`,
        ...settingsLines(s),
      ];
      s.info(lines.join('\n'));
      return undefined;
    },
  },
  {
    name: 'stats',
    usage: '/stats',
    help: 'timings of the last answer, context used / limit',
    run: (s, args) => {
      noArgs('stats', args);
      s.statsCommand();
      return undefined;
    },
  },
  {
    name: 'retry',
    usage: '/retry',
    help: 'regenerate the last answer (the conversation before it is not recomputed)',
    run: async (s, args) => {
      noArgs('retry', args);
      await s.turn('retry');
      return undefined;
    },
  },
  {
    name: 'save',
    usage: '/save <file.md|file.json>',
    help: 'write the conversation as Markdown or as a JSON transcript',
    run: async (s, args) => {
      await s.saveCommand(args);
      return undefined;
    },
  },
  {
    name: 'load',
    usage: '/load <file.json>',
    help: 'restore a JSON transcript (messages, images, settings)',
    run: async (s, args) => {
      await s.loadCommand(args);
      return undefined;
    },
  },
  {
    name: 'help',
    aliases: ['?'],
    usage: '/help',
    help: 'this list',
    run: (s) => {
      s.helpCommand();
      return undefined;
    },
  },
  {
    name: 'exit',
    aliases: ['quit', 'bye'],
    usage: '/exit',
    help: 'quit (also Ctrl+D)',
    run: () => 'exit',
  },
];

function settingsLines(s: ChatSession): string[] {
  const width = Math.max(...SETTINGS.map((p) => p.name.length));
  const settings = s.conversation.settings;
  const lines = SETTINGS.map((p) => `  ${p.name.padEnd(width)}  ${formatSetting(p, settings, s.loaded.model)}`);
  if (settings.stop?.length) lines.push(`  ${'stop'.padEnd(width)}  ${settings.stop.map((t) => JSON.stringify(t)).join(', ')}`);
  return ['settings', ...lines];
}

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
