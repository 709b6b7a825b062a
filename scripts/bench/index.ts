/**
 * `npm run bench`: our engine against transformers.js on the same local ONNX files, plus a bare
 * onnxruntime loop as the floor. Every measurement is a fresh child process (so load time and peak
 * memory are per scenario); engines alternate within each run. Prints a Markdown table of medians
 * with min-max and writes it with the raw results as JSON under bench-results/.
 *
 *   node --import tsx scripts/bench/index.ts [--runs 3] [--dtype int8[,fp32,...]] [--scenarios text,single,photo,square]
 *     [--engines ours,theirs,floor] [--tokens 64] [--baseline <git rev>] [--ours-rev <git rev>]
 *     [--variant name=<load options json>] [--startup-runs 5] [--startup-only]
 *
 * First, startup: the model-free commands (--version, --help, models, completion) against a bare
 * `node -e 0` (target: at most 2x); --startup-runs 0 skips it, --startup-only stops after it.
 *
 * `--scenarios caption` runs the caption scenario alone (caption.ts): images per minute for caption,
 * a describe loop and a transformers.js loop over [--images 16] images, [--batch N] for caption.
 *
 * `--scenarios oneshot` runs the one-shot scenario alone (oneshot.ts): spawn to exit of `smolvlm describe|ask`,
 * a transformers.js script and a bare onnxruntime script, [--tokens 32] each, on [--oneshot photo,single,text].
 *
 * `ours` runs a copy of src taken at the start (or of --ours-rev); --baseline adds a column `base` with
 * our engine at that revision; each --variant adds a column with other SmolVLM.load options.
 * `--scenarios serve` runs the server benchmark instead (scripts/bench/serve.ts).
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, createReadStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureFixtureModel, repoRoot } from '../fixture-model/index.js';
import { isDtype, type Dtype } from '../fixture-model/presets.js';
import { readModelDirectory } from '../../src/core/model-files/directory.js';
import type { Dtype as EngineDtype } from '../../src/core/model-files/dtypes.js';
import { ChatTemplate } from '../../src/core/prompt.js';
import { TextTokenizer } from '../../src/core/tokenizer.js';
import { ENGINES, SCENARIOS, type ChildResult, type ChildTask, type Engine, type Scenario, type ScenarioName } from './common.js';
import { runCaptionBench } from './caption.js';
import { ONESHOT_SCENARIOS, runOneshotBench } from './oneshot.js';
import { ensureTestImage } from './images.js';
import { engineTitle, markdownTable, SCENARIO_TITLES, summarise } from './report.js';
import { measureStartup, startupTable } from './startup.js';

// `--scenarios serve`: the server benchmark, a script of its own (serve.ts) that takes the same options.
if (process.argv[process.argv.indexOf('--scenarios') + 1] === 'serve') {
  await import('./serve.js');
  process.exit(0);
}

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    dtype: { type: 'string', default: 'int8' },
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
    engines: { type: 'string', default: ENGINES.join(',') },
    tokens: { type: 'string' },
    oneshot: { type: 'string', default: ONESHOT_SCENARIOS.join(',') },
    preset: { type: 'string', default: '256m' },
    out: { type: 'string', default: path.join(repoRoot, 'bench-results') },
    baseline: { type: 'string' },
    'ours-rev': { type: 'string' },
    variant: { type: 'string', multiple: true, default: [] },
    images: { type: 'string', default: '16' },
    batch: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    'startup-runs': { type: 'string', default: '5' },
    'startup-only': { type: 'boolean' },
  },
});
if (args.help) {
  console.log(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]!.replace(/^\/\*\*?|^ \* ?/gm, ''));
  process.exit(0);
}

const runs = Number(args.runs);
const dtypes = args.dtype.split(',').filter(Boolean);
for (const d of dtypes) if (!isDtype(d)) throw new Error(`unknown dtype ${d}`);
const scenarioNames = args.scenarios.split(',').filter(Boolean) as ScenarioName[];
const captionScenario = (scenarioNames as string[]).includes('caption');
const oneshotScenario = (scenarioNames as string[]).includes('oneshot');
if ((captionScenario || oneshotScenario) && scenarioNames.length > 1) throw new Error('the caption and oneshot scenarios run alone: --scenarios caption');
for (const s of scenarioNames) if (!SCENARIOS.includes(s) && !captionScenario && !oneshotScenario) throw new Error(`unknown scenario ${s} (${SCENARIOS.join(', ')}, caption, oneshot)`);
const newTokens = Number(args.tokens ?? (oneshotScenario ? 32 : 64));
const engines = args.engines.split(',').filter(Boolean) as Engine[];
for (const e of engines) if (!ENGINES.includes(e)) throw new Error(`unknown engine ${e} (${ENGINES.join(', ')})`);

const log = (message: string) => process.stderr.write(`${message}\n`);
const started = Date.now();
mkdirSync(args.out, { recursive: true });

if (Number(args['startup-runs']) > 0) {
  const startup = measureStartup(Number(args['startup-runs']));
  console.log(`\nStartup (fresh process each, ${args['startup-runs']} runs; target at most 2x bare Node):\n\n${startupTable(startup)}\n`);
  writeFileSync(path.join(args.out, `startup-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify(startup, null, 1));
}
if (args['startup-only']) process.exit(0);

// Models: the preset with the real dimensions and random weights, generated once into fixtures/generated/bench/
// (fp32, int8 and q4 always, so that switching --dtype among them does not regenerate).
const wanted = [...new Set(['fp32', 'int8', 'q4', ...dtypes])].sort() as Dtype[];
const modelDir = await ensureFixtureModel(args.preset as never, {
  root: path.join(repoRoot, 'fixtures', 'generated', 'bench'),
  dtypes: wanted,
  onProgress: (m) => log(`  generating ${args.preset}: ${m}`),
});
log(`model: ${path.relative(repoRoot, modelDir)} (${wanted.join(', ')})`);

if (captionScenario) {
  await runCaptionBench({
    modelDir,
    dtype: dtypes[0]!,
    runs,
    newTokens,
    images: Number(args.images),
    ...(args.batch !== undefined ? { batch: Number(args.batch) } : {}),
    modes: [...(engines.includes('ours') ? (['caption', 'describe'] as const) : []), ...(engines.includes('theirs') ? (['theirs'] as const) : [])],
    out: args.out,
    log,
  });
  process.exit(0);
}

const imageDir = path.join(args.out, 'images');
const photo = await ensureTestImage(imageDir, 'photo_1024x768.jpg', 1024, 768, 1);
const square = await ensureTestImage(imageDir, 'square_1024x1024.jpg', 1024, 1024, 2);

// A text question whose whole templated prompt is 20 tokens.
const directory = readModelDirectory(modelDir, wanted[0] as EngineDtype);
const tokenizer = new TextTokenizer(directory.tokenizerJson, directory.tokenizerConfig);
const template = new ChatTemplate(directory.chatTemplate);
const promptLength = (text: string) => tokenizer.encode(template.render([{ role: 'user', content: text }], true)).length;
const words = 'Write a short story about a lighthouse keeper who finds a message in a bottle on a stormy winter night by the sea'.split(' ');
let question = words[0]!;
for (let n = 1; n <= words.length && promptLength(words.slice(0, n).join(' ')) <= 20; n++) question = words.slice(0, n).join(' ');
for (const extra of ['please', 'today', 'now', 'again', 'quickly', 'then', 'or not']) {
  if (promptLength(question) === 20) break;
  if (promptLength(`${question} ${extra}`) <= 20) question = `${question} ${extra}`;
}
const textTokens = promptLength(question);

const scenarios: Record<ScenarioName, Scenario> = {
  text: { name: 'text', title: SCENARIO_TITLES.text, doImageSplitting: false, question },
  single: { name: 'single', title: SCENARIO_TITLES.single, image: photo, doImageSplitting: false, question: 'Describe this image.' },
  photo: { name: 'photo', title: SCENARIO_TITLES.photo, image: photo, doImageSplitting: true, question: 'Describe this image.', followUp: 'What colours stand out?' },
  square: { name: 'square', title: SCENARIO_TITLES.square, image: square, doImageSplitting: true, question: 'Describe this image.' },
};

if (oneshotScenario) {
  const names = args.oneshot.split(',').filter(Boolean);
  for (const n of names) if (!(ONESHOT_SCENARIOS as readonly string[]).includes(n)) throw new Error(`unknown one-shot scenario ${n} (${ONESHOT_SCENARIOS.join(', ')})`);
  await runOneshotBench({
    modelDir,
    dtype: dtypes[0]!,
    runs,
    tokens: newTokens,
    scenarios: names.map((n) => scenarios[n as ScenarioName]),
    engines: engines,
    out: args.out,
    log,
  });
  process.exit(0);
}

// Our engine as it is now (a copy of src, so that edits during a long run do not leak into it), and
// optionally at other revisions, extracted with `git archive`; both in git-ignored folders under .cache/.
function sourceAt(rev: string | undefined): string {
  if (rev === undefined) {
    const dir = path.join(repoRoot, '.cache', 'bench-src', `working-tree-${process.pid}`);
    rmSync(dir, { recursive: true, force: true });
    // proto/ too: src/core imports the generated ONNX protobuf module from there.
    for (const folder of ['src', 'proto']) cpSync(path.join(repoRoot, folder), path.join(dir, folder), { recursive: true });
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    return path.join(dir, 'src');
  }
  const commit = execFileSync('git', ['rev-parse', '--short', rev], { cwd: repoRoot, encoding: 'utf8' }).trim();
  const dir = path.join(repoRoot, '.cache', 'bench-src', commit);
  if (!existsSync(path.join(dir, 'src', 'index.ts'))) {
    mkdirSync(dir, { recursive: true });
    const folders = ['src', ...(execFileSync('git', ['ls-tree', '--name-only', commit, 'proto'], { cwd: repoRoot, encoding: 'utf8' }).trim() ? ['proto'] : [])];
    const tar = execFileSync('git', ['archive', commit, ...folders], { cwd: repoRoot, maxBuffer: 1 << 28 });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
  }
  log(`source ${rev}: ${commit}`);
  return path.join(dir, 'src');
}
const oursRoot = sourceAt(args['ours-rev']);
const baseRoot = args.baseline ? sourceAt(args.baseline) : undefined;

interface Column {
  label: string;
  engine: Engine;
  srcRoot?: string;
  loadOptions?: Record<string, unknown>;
}
const columns: Column[] = [];
for (const engine of engines) {
  columns.push({ label: engine, engine, ...(engine === 'ours' ? { srcRoot: oursRoot } : {}) });
  if (engine === 'ours' && baseRoot) columns.push({ label: 'base', engine, srcRoot: baseRoot });
  if (engine === 'ours') {
    for (const v of args.variant) {
      const at = v.indexOf('=');
      columns.push({ label: `ours+${v.slice(0, at)}`, engine, srcRoot: oursRoot, loadOptions: JSON.parse(v.slice(at + 1)) as Record<string, unknown> });
    }
  }
}
const labels = columns.map((c) => c.label);

// Read the model files once so the first child does not pay for the disk.
for (const dtype of dtypes) {
  for (const file of Object.values(readModelDirectory(modelDir, dtype as EngineDtype).onnxPaths)) {
    await new Promise<void>((done, fail) => createReadStream(file).on('data', () => {}).on('end', done).on('error', fail));
  }
}

function runChild(task: ChildTask): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'scripts', 'bench', 'child.ts'), JSON.stringify(task)], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, SMOLVLM_CACHE: modelCache },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.on('close', (code) => {
      let result: ChildResult;
      try {
        result = JSON.parse(readFileSync(task.resultFile, 'utf8')) as ChildResult;
        rmSync(task.resultFile, { force: true });
      } catch {
        result = { engine: task.engine, label: task.label, dtype: task.dtype, scenario: task.scenario.name, loadMs: 0, rssAfterLoadMB: 0, turns: [], error: `exit ${code}: ${stderr}` };
      }
      resolve(result);
    });
  });
}

// Our engine prepares model files once per machine (optimized-graph-cache.ts). The bench keeps its own cache,
// emptied here; one untimed run per engine revision and dtype fills it, as any second use of a model
// would find it, and its load time is reported as the first load.
const modelCache = path.join(args.out, 'model-cache');
rmSync(modelCache, { recursive: true, force: true });
const firstLoads: { label: string; dtype: string; loadMs: number }[] = [];
for (const column of columns.filter((c) => c.engine === 'ours')) {
  for (const dtype of dtypes) {
    const warm = await runChild({
      engine: column.engine,
      label: column.label,
      ...(column.srcRoot ? { srcRoot: column.srcRoot } : {}),
      ...(column.loadOptions ? { loadOptions: column.loadOptions } : {}),
      modelDir,
      dtype,
      scenario: scenarios.text,
      newTokens: 2,
      resultFile: path.join(os.tmpdir(), `smolvlm-bench-${process.pid}-warm.json`),
    });
    log(`warm-up ${column.label} ${dtype}: load ${warm.loadMs.toFixed(0)} ms${warm.error ? ` ERROR ${warm.error.split('\n')[0]}` : ''}`);
    firstLoads.push({ label: column.label, dtype, loadMs: warm.loadMs });
  }
}

const results: ChildResult[] = [];
const total = runs * dtypes.length * scenarioNames.length * columns.length;
let done = 0;
for (let run = 0; run < runs; run++) {
  for (const dtype of dtypes) {
    for (const name of scenarioNames) {
      // Alternate: each run starts with the next engine.
      const order = columns.map((_, i) => columns[(i + run) % columns.length]!);
      for (const column of order) {
        const task: ChildTask = {
          engine: column.engine,
          label: column.label,
          ...(column.srcRoot ? { srcRoot: column.srcRoot } : {}),
          ...(column.loadOptions ? { loadOptions: column.loadOptions } : {}),
          modelDir,
          dtype,
          scenario: scenarios[name],
          newTokens,
          resultFile: path.join(os.tmpdir(), `smolvlm-bench-${process.pid}-${done}.json`),
        };
        const result = await runChild(task);
        results.push(result);
        done++;
        const t = result.turns;
        log(
          `[${done}/${total}] run ${run + 1} ${dtype} ${name} ${column.label}: ` +
            (result.error
              ? `ERROR ${result.error.split('\n').slice(0, 3).join(' | ')}`
              : `load ${result.loadMs.toFixed(0)} ms, ` +
                t.map((x) => `first token ${x.firstTokenMs.toFixed(0)} ms (prefill ${x.prefillMs.toFixed(0)}, vision ${x.visionMs.toFixed(0)}), ${x.decodeTokensPerSecond.toFixed(1)} tok/s, ${x.peakRssMB.toFixed(0)} MB`).join('; ')),
        );
      }
    }
  }
}

const summary = summarise(results, labels, (r) => r.label);
const floor = labels.includes('floor') ? 'floor' : undefined;
const table = markdownTable(summary, labels, 'theirs', floor);
const minutes = ((Date.now() - started) / 60000).toFixed(1);
const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, onnxruntime-node ${pkgVersion('onnxruntime-node')}, @huggingface/transformers ${pkgVersion('@huggingface/transformers')}`;
const legend =
  `${args.preset} preset (random weights, real dimensions), ${newTokens} new tokens, text prompt ${textTokens} tokens, ` +
  `${runs} run(s), medians (min–max); columns: ${labels.map((l) => `${l} = ${engineTitle(l)}`).join(', ')}. ${machine}. ${minutes} min.`;
const notes = [
  'Each cell: a fresh process per engine, scenario and run; engines alternate. Times in ms from the request:',
  'preprocessing = reading, decoding, resizing and tiling the image (transformers.js: its processor call, tokenizing included);',
  'vision encode = vision encoder calls; prefill = the first decoder call over the prompt; time to first token includes both;',
  'decode = tokens after the first per second; peak RSS = VmHWM of the process after the turn; bare onnxruntime = default',
  'session options, all tiles in one call, every output fetched, no preprocessing (pixel values and ids made beforehand).',
  `Our model load with an empty model cache (rewrite and save the files once): ${firstLoads.map((f) => `${f.label} ${f.dtype} ${f.loadMs.toFixed(0)} ms`).join(', ')}.`,
].join('\n');
const work = Object.entries(summary.work)
  .map(([key, perEngine]) => `${key}: ${Object.entries(perEngine).map(([e, w]) => `${e} ${w.promptTokens.join('+')} tokens, ${w.tiles.join('+')} tiles`).join('; ')}`)
  .join('\n');
const errors = results.filter((r) => r.error);

console.log(`\n${legend}\n\n${table}\n\n${notes}\n`);
log(`work per scenario (prompt tokens, tiles):\n${work}`);
if (errors.length > 0) log(`${errors.length} child(ren) failed; first: ${errors[0]!.error}`);

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const file = path.join(args.out, `bench-${stamp}.json`);
writeFileSync(
  file,
  JSON.stringify({ date: new Date().toISOString(), machine, args, textQuestion: question, textTokens, columns, firstLoads, summary, results }, null, 1),
);
writeFileSync(path.join(args.out, `bench-${stamp}.md`), `${legend}\n\n${table}\n\n${notes}\n`);
log(`wrote ${path.relative(repoRoot, file)} and .md`);

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}
