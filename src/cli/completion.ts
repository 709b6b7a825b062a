/**
 * Shell completion scripts generated from commander's own tree of commands and options, so that a new
 * command or flag completes without a list kept by hand. Hand-written rather than a library: the
 * commander completion packages (omelette, @pnpm/tabtab) call back into the program on every Tab, which
 * would start Node for each keypress, and they edit shell rc files; a static script does neither.
 * Dynamic values stay in shell: cached models are read from the Hugging Face cache's directory names.
 */
import type { CommandUnknownOpts, Option } from '@commander-js/extra-typings';
import { DTYPES, MODEL_ALIASES } from '../index.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** What an option's value or a positional argument completes to ('text': nothing, as for --prompt). */
type ValueKind = 'none' | 'dtype' | 'model' | 'choices' | 'file' | 'text';

interface OptionInfo {
  long?: string;
  short?: string;
  description: string;
  value: ValueKind;
  choices: readonly string[];
}

interface CommandInfo {
  name: string;
  summary: string;
  options: OptionInfo[];
  /** What the positional arguments complete to: files for images, models, a fixed list, or nothing. */
  positional: ValueKind;
  positionalChoices: readonly string[];
}

function valueKind(option: Option): ValueKind {
  if (!option.required && !option.optional) return 'none';
  if (option.long === '--dtype') return 'dtype';
  if (option.long === '--model') return 'model';
  return option.argChoices !== undefined ? 'choices' : 'text';
}

/** By the first argument's name: `images` are files, `model` a model, choices their list. */
function positionalKind(command: CommandUnknownOpts): ValueKind {
  const first = command.registeredArguments[0];
  if (first === undefined) return 'none';
  if (first.argChoices !== undefined) return 'choices';
  return first.name() === 'images' ? 'file' : first.name() === 'model' ? 'model' : 'text';
}

function optionInfo(option: Option): OptionInfo {
  return {
    ...(option.long !== undefined ? { long: option.long } : {}),
    ...(option.short !== undefined ? { short: option.short } : {}),
    description: option.description,
    value: valueKind(option),
    choices: option.argChoices ?? [],
  };
}

/** The visible commands with their options (help included), read from the program. */
export function commandTree(program: CommandUnknownOpts): CommandInfo[] {
  const help = { long: '--help', short: '-h', description: 'display help', value: 'none' as const, choices: [] };
  return program.commands
    .filter((c) => !(c as { _hidden?: boolean })._hidden)
    .map((c) => ({
      name: c.name(),
      summary: c.summary() || c.description(),
      options: [...c.options.filter((o) => !o.hidden).map(optionInfo), help],
      positional: positionalKind(c),
      positionalChoices: c.registeredArguments[0]?.argChoices ?? [],
    }));
}

/** Words for --model: the aliases (cached repos are added by the script itself). */
const modelAliases = () => MODEL_ALIASES.map((a) => a.alias);
/** The bash words for --model and model arguments: aliases, cached repos, directories. */
const BASH_MODEL_WORDS = () => `$(compgen -W "${modelAliases().join(' ')} $(_smolvlm_cached_models)" -- "$cur") $(compgen -d -- "$cur")`;

/** The bash line that fills COMPREPLY with a positional argument's words. */
function bashPositional(c: CommandInfo): string {
  if (c.positional === 'file') return 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur"))';
  if (c.positional === 'model') return `COMPREPLY=(${BASH_MODEL_WORDS()})`;
  if (c.positional === 'choices') return `COMPREPLY=($(compgen -W ${quote(c.positionalChoices.join(' '))} -- "$cur"))`;
  return 'COMPREPLY=()';
}
const flags = (o: OptionInfo) => [o.long, o.short].filter((f): f is string => f !== undefined);
/** Single-quoted for a shell. */
const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/** A shell function printing `org/name` for every models--org--name directory of the Hugging Face cache. */
const CACHED_MODELS_SH = `_smolvlm_cached_models() {
  local dir="\${HF_HUB_CACHE:-\${HF_HOME:-\${XDG_CACHE_HOME:-$HOME/.cache}/huggingface}/hub}" entry name
  for entry in "$dir"/models--*; do
    [ -d "$entry" ] || continue
    name="\${entry##*/models--}"
    printf '%s\\n' "\${name/--//}"
  done
}`;

function bashValueCases(tree: CommandInfo[]): string {
  const byKind = (kind: ValueKind) => [...new Set(tree.flatMap((c) => c.options.filter((o) => o.value === kind).flatMap(flags)))];
  const cases: string[] = [];
  const dtype = byKind('dtype');
  if (dtype.length) cases.push(`    ${dtype.join('|')}) COMPREPLY=($(compgen -W ${quote(DTYPES.join(' '))} -- "$cur")); return ;;`);
  const model = byKind('model');
  if (model.length) {
    cases.push(`    ${model.join('|')}) COMPREPLY=(${BASH_MODEL_WORDS()}); return ;;`);
  }
  for (const c of tree) {
    for (const o of c.options.filter((x) => x.value === 'choices')) cases.push(`    ${flags(o).join('|')}) COMPREPLY=($(compgen -W ${quote(o.choices.join(' '))} -- "$cur")); return ;;`);
  }
  const text = byKind('text');
  if (text.length) cases.push(`    ${text.join('|')}) COMPREPLY=(); return ;;`);
  return cases.join('\n');
}

/** The bash script: `source <(smolvlm completion bash)`. */
export function bashScript(tree: CommandInfo[]): string {
  const commandCases = tree
    .map((c) => `    ${c.name}) opts=${quote(c.options.flatMap(flags).join(' '))}; positional=${quote(bashPositional(c))} ;;`)
    .join('\n');
  return `# smolvlm completion for bash: add  source <(smolvlm completion bash)  to ~/.bashrc
${CACHED_MODELS_SH}
_smolvlm() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" cmd="" opts="" positional="COMPREPLY=()"
  [ "$COMP_CWORD" -gt 0 ] && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  [ "$COMP_CWORD" -gt 1 ] && cmd="\${COMP_WORDS[1]}"
  if [ -z "$cmd" ]; then
    COMPREPLY=($(compgen -W ${quote(['--help', '--version', ...tree.map((c) => c.name)].join(' '))} -- "$cur"))
    return
  fi
  case "$prev" in
${bashValueCases(tree)}
  esac
  case "$cmd" in
${commandCases}
    help) COMPREPLY=($(compgen -W ${quote(tree.map((c) => c.name).join(' '))} -- "$cur")); return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    eval "$positional"
  fi
}
complete -F _smolvlm smolvlm
`;
}

/** zsh runs the bash script through its bash compatibility layer. */
export function zshScript(tree: CommandInfo[]): string {
  return `# smolvlm completion for zsh: add  source <(smolvlm completion zsh)  to ~/.zshrc
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashScript(tree).split('\n').slice(1).join('\n')}`;
}

function fishOption(command: string, o: OptionInfo): string {
  const parts = [`complete -c smolvlm -n '__fish_seen_subcommand_from ${command}'`];
  if (o.long) parts.push(`-l ${o.long.slice(2)}`);
  if (o.short) parts.push(`-s ${o.short.slice(1)}`);
  parts.push(`-d ${quote(o.description)}`);
  if (o.value === 'dtype') parts.push(`-x -a ${quote(DTYPES.join(' '))}`);
  else if (o.value === 'model') parts.push(`-x -a ${quote(`${modelAliases().join(' ')} (__smolvlm_cached_models) (__fish_complete_directories)`)}`);
  else if (o.value === 'choices') parts.push(`-x -a ${quote(o.choices.join(' '))}`);
  else if (o.value === 'text') parts.push('-x');
  return parts.join(' ');
}

/** The fish script: `smolvlm completion fish > ~/.config/fish/completions/smolvlm.fish`. */
export function fishScript(tree: CommandInfo[]): string {
  const lines = [
    '# smolvlm completion for fish: smolvlm completion fish > ~/.config/fish/completions/smolvlm.fish',
    'function __smolvlm_cached_models',
    '  set -l dir (set -q HF_HUB_CACHE; and echo $HF_HUB_CACHE; or begin; set -q HF_HOME; and echo $HF_HOME/hub; or echo $HOME/.cache/huggingface/hub; end)',
    '  for entry in $dir/models--*',
    "    string replace -r '^.*/models--' '' $entry | string replace -- '--' '/'",
    '  end',
    'end',
    'complete -c smolvlm -f',
    ...tree.map((c) => `complete -c smolvlm -n '__fish_use_subcommand' -a ${c.name} -d ${quote(c.summary)}`),
  ];
  for (const c of tree) {
    lines.push(...c.options.map((o) => fishOption(c.name, o)));
    const when = `complete -c smolvlm -n '__fish_seen_subcommand_from ${c.name}'`;
    if (c.positional === 'file') lines.push(`${when} -F`);
    else if (c.positional === 'model') lines.push(`${when} -a ${quote(`${modelAliases().join(' ')} (__smolvlm_cached_models)`)}`);
    else if (c.positional === 'choices') lines.push(`${when} -a ${quote(c.positionalChoices.join(' '))}`);
  }
  return `${lines.join('\n')}\n`;
}

export function completionScript(shell: Shell, program: CommandUnknownOpts): string {
  const tree = commandTree(program);
  return shell === 'bash' ? bashScript(tree) : shell === 'zsh' ? zshScript(tree) : fishScript(tree);
}
