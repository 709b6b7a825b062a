/**
 * Bundles the compiled CLI (dist/cli/main.js, after `tsc`) into dist/bundle/, the files bin/smolvlm.js
 * runs: minified ES modules, split so that what only a command's action needs (the model, generation,
 * the server, video, structured output, the ONNX protobuf code) sits in chunks loaded when the action
 * runs. `smolvlm --help`, `--version`, `models` and `completion` then parse a fraction of the code and
 * start in well under twice a bare `node -e 0` (see `npm run bench -- --startup-only`). Loading ~200
 * separate modules cost more than the code in them: Node parses, links and evaluates each one.
 *
 *   node --import tsx scripts/bundle-cli.ts [--analyze]
 *
 * The library entry (dist/index.js) stays the plain tsc output. dist/bundle/ sits two levels under the
 * package root, as dist/core/ does, so paths resolved against `import.meta.url` stay the same depth.
 * --analyze prints what the entry chunk holds, largest first (to find code that should be lazy).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { barrelImportsPlugin } from './bundle-barrel-imports.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The output folder (bin/smolvlm.js imports its cli.js). */
const BUNDLE_DIR = path.join(repoRoot, 'dist', 'bundle');

/**
 * Left to Node at run time: native bindings and WebAssembly (onnxruntime-node, sharp, the tokenizer,
 * xgrammar), packages found through their own files (ffmpeg's binary), ora (loaded only for a
 * spinner) and protobufjs, whose optional `require`s an ES bundle cannot keep. All of them already
 * load lazily.
 */
const EXTERNAL = ['onnxruntime-node', 'sharp', '@huggingface/*', '@mlc-ai/*', '@ffmpeg-installer/*', 'ora', 'protobufjs', 'protobufjs/*'];

/** Bundled CommonJS (commander) calls `require` for Node's built-in modules; an ES module has none. */
const REQUIRE_SHIM = "import { createRequire as __smolvlmCreateRequire } from 'node:module'; const require = __smolvlmCreateRequire(import.meta.url);";

async function bundle(): Promise<Metafile> {
  rmSync(BUNDLE_DIR, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: repoRoot,
    // The caption prefetch worker is started by URL next to the chunk that starts it (prefetch.ts).
    entryPoints: { cli: 'dist/cli/main.js', 'prefetch-worker': 'dist/core/caption/prefetch-worker.js' },
    outdir: BUNDLE_DIR,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify: true,
    sourcemap: false,
    external: EXTERNAL,
    banner: { js: REQUIRE_SHIM },
    plugins: [barrelImportsPlugin(path.join(repoRoot, 'dist', 'cli'))],
    metafile: true,
    logLevel: 'warning',
  });
  return result.metafile;
}

/** The outputs `smolvlm --help` loads: cli.js and the chunks it imports statically, transitively. */
function startupOutputs(metafile: Metafile): string[] {
  const entry = Object.keys(metafile.outputs).find((file) => file.endsWith('/cli.js'));
  const seen = new Set<string>(entry ? [entry] : []);
  for (const file of seen) {
    for (const imported of metafile.outputs[file]!.imports) if (imported.kind === 'import-statement' && imported.path in metafile.outputs) seen.add(imported.path);
  }
  return [...seen];
}

/** Every output's size, then what the startup outputs hold, largest first. */
function analysis(metafile: Metafile): string {
  const lines = Object.entries(metafile.outputs).map(([file, output]) => `${String(output.bytes).padStart(8)}  ${file}`);
  const startup = startupOutputs(metafile);
  const inputs = startup.flatMap((file) => Object.entries(metafile.outputs[file]!.inputs)).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput);
  const total = startup.reduce((sum, file) => sum + metafile.outputs[file]!.bytes, 0);
  return [...lines, '', `loaded at startup (${total} bytes): ${startup.join(', ')}`, ...inputs.map(([file, input]) => `${String(input.bytesInOutput).padStart(8)}  ${file}`)].join('\n');
}

const metafile = await bundle();
if (process.argv.includes('--analyze')) console.log(analysis(metafile));
