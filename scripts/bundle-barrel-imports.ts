/**
 * An esbuild plugin for bundle-cli.ts: the CLI's static `import { … } from '../index.js'` become
 * imports from the modules that define those names.
 *
 * Why: esbuild's code splitting puts whole files into chunks, and a file belongs to the startup chunk
 * when any file the entry reaches imports it, whatever names are used. The CLI imports the library
 * through its one barrel (src/index.ts), and the barrel imports every module, so the model, the server
 * and the ONNX protobuf code would all load for `smolvlm --help`. Imports straight from the defining
 * modules let the bundle load only what a command's definition uses; the actions reach the rest with
 * `await import('../index.js')`, which this plugin leaves alone (it is a lazy chunk of its own).
 *
 * It reads tsc's output, whose import and re-export lists are one statement per line, without types.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Plugin } from 'esbuild';

/** `import { a, b as c } from '../index.js';` (static, named; a dynamic import() does not match). */
const NAMED_IMPORT = /^import \{([^}]*)\} from '((?:\.\.\/)+index\.js)';$/gm;
/** `export { a, b as c } from './core/x.js';` */
const RE_EXPORT = /^export \{([^}]*)\} from '([^']+)';$/gm;

interface Specifier {
  imported: string;
  local: string;
}

function specifiers(list: string): Specifier[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [imported, local = imported] = s.split(/\s+as\s+/) as [string, string?];
      return { imported, local };
    });
}

/** Where each name a module re-exports comes from: exported name → [module file, its name there]. */
function reExports(file: string, cache: Map<string, Map<string, [string, string]>>): Map<string, [string, string]> {
  let found = cache.get(file);
  if (found) return found;
  found = new Map();
  for (const [, list, from] of readFileSync(file, 'utf8').matchAll(RE_EXPORT)) {
    const source = path.resolve(path.dirname(file), from!);
    for (const { imported, local } of specifiers(list!)) found.set(local, [source, imported]);
  }
  cache.set(file, found);
  return found;
}

/** The module that defines `name` (following re-exports through the barrels), and its name there. */
function definition(file: string, name: string, cache: Map<string, Map<string, [string, string]>>): [string, string] {
  const next = reExports(file, cache).get(name);
  return next ? definition(next[0], next[1], cache) : [file, name];
}

/** Rewrites the static barrel imports of one compiled CLI module (`file`, with `source` its text). */
export function importDefinitions(file: string, source: string, cache = new Map<string, Map<string, [string, string]>>()): string {
  return source.replace(NAMED_IMPORT, (_statement, list: string, barrel: string) => {
    const byModule = new Map<string, string[]>();
    for (const { imported, local } of specifiers(list)) {
      const [module, name] = definition(path.resolve(path.dirname(file), barrel), imported, cache);
      const names = byModule.get(module) ?? [];
      names.push(name === local ? name : `${name} as ${local}`);
      byModule.set(module, names);
    }
    return [...byModule].map(([module, names]) => `import { ${names.join(', ')} } from ${JSON.stringify(module)};`).join(' ');
  });
}

/** The plugin, for the modules under `cliDir` (the compiled CLI). */
export function barrelImportsPlugin(cliDir: string): Plugin {
  const cache = new Map<string, Map<string, [string, string]>>();
  return {
    name: 'barrel-imports',
    setup(build) {
      build.onLoad({ filter: /\.js$/ }, (args) => {
        if (!args.path.startsWith(cliDir + path.sep)) return undefined;
        return { contents: importDefinitions(args.path, readFileSync(args.path, 'utf8'), cache), loader: 'js' };
      });
    },
  };
}
