/**
 * The one-shot scenario of `npm run bench` (`npm run bench -- --scenarios oneshot`): what one answer
 * costs from the spawn of a fresh process to its exit, load included, for
 *   (a) ours:   `node bin/smolvlm.js describe|ask ... --model <dir> --dtype <dtype> -n <tokens> --json`,
 *   (b) theirs: a bare Node script that imports @huggingface/transformers, loads the same files and
 *               generates as many tokens (child-theirs.ts),
 *   (c) floor:  a bare Node script with the onnxruntime loop of floor-loop.ts (prompt ids and pixel
 *               values made beforehand, vision session only with an image),
 * on a 1024x768 photo (13 tiles), the same photo as one tile, and a text question. (b) and (c) run as
 * plain JavaScript transpiled from this folder (no TypeScript loader timed), as (a) runs dist/.
 *
 * The model is the bench model seen through a folder of links whose generation_config.json names the
 * image token as end of sequence: the bench model ties <end_of_utterance> to a common token, and every
 * engine must generate exactly `tokens` tokens (each run checks it). Our phases come from the --json
 * timings, placed on the parent's clock by the arrival of the answer.
 *
 * Targets (issue 17; ours / transformers.js, int8): wall time photo <= 0.7, one tile and text <= 0.5.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { repoRoot } from '../fixture-model/index.js';
import { readModelDirectory } from '../../src/core/model-files/directory.js';
import type { Dtype } from '../../src/core/model-files/dtypes.js';
import { readModelSpec } from '../../src/core/model-files/spec.js';
import { ChatTemplate, expandImagePlaceholders } from '../../src/core/prompt.js';
import { TextTokenizer } from '../../src/core/tokenizer.js';
import { prepareFloorImage, type FloorImage } from './child-floor.js';
import type { Scenario, ScenarioName } from './common.js';
import type { FloorInput, OneshotReport, OneshotTask } from './oneshot-child.js';
import { oneshotPhaseTable, oneshotTable, stat, type OneshotRun } from './report.js';

export const ONESHOT_SCENARIOS = ['photo', 'single', 'text'] as const satisfies readonly ScenarioName[];
export type OneshotEngine = 'ours' | 'theirs' | 'floor';

export interface OneshotBenchOptions {
  modelDir: string;
  dtype: string;
  runs: number;
  tokens: number;
  scenarios: readonly Scenario[];
  engines: readonly OneshotEngine[];
  out: string;
  log: (message: string) => void;
}

const cacheRoot = path.join(repoRoot, '.cache', 'bench-oneshot');
const timeBinary = '/usr/bin/time';

/**
 * The bench model as a folder of links beside `out`, with eos_token_id set to the image token (which
 * the bench model never generates), so that every engine generates the full `tokens`.
 */
function oneshotModel(modelDir: string, out: string): string {
  const dir = path.join(out, 'oneshot-model', path.basename(modelDir));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(modelDir)) {
    if (name !== 'generation_config.json') symlinkSync(path.join(modelDir, name), path.join(dir, name));
  }
  const config = JSON.parse(readFileSync(path.join(modelDir, 'config.json'), 'utf8')) as { image_token_id: number };
  const generation = JSON.parse(readFileSync(path.join(modelDir, 'generation_config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ ...generation, eos_token_id: config.image_token_id }, null, 1));
  return dir;
}

/** Transpiles the self-contained scripts (b) and (c) run to JavaScript under .cache/bench-oneshot/. */
function transpileChildren(): string {
  rmSync(cacheRoot, { recursive: true, force: true });
  mkdirSync(cacheRoot, { recursive: true });
  for (const name of ['oneshot-child', 'child-theirs', 'floor-loop', 'common']) {
    const source = readFileSync(path.join(repoRoot, 'scripts', 'bench', `${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    writeFileSync(path.join(cacheRoot, `${name}.js`), outputText);
  }
  return path.join(cacheRoot, 'oneshot-child.js');
}

/** The floor's prompt ids and pixel values for a scenario (the pixels in a file beside). */
function floorInput(modelDir: string, dtype: string, scenario: Scenario, prepared: FloorImage): FloorInput {
  const directory = readModelDirectory(modelDir, dtype as Dtype);
  const spec = readModelSpec(directory);
  const tokenizer = new TextTokenizer(directory.tokenizerJson, directory.tokenizerConfig);
  const rendered = new ChatTemplate(directory.chatTemplate).render(
    [{ role: 'user', content: [...(scenario.image ? [{ type: 'image' as const, image: scenario.image }] : []), { type: 'text', text: scenario.question }] }],
    true,
  );
  const ids = tokenizer.encode(scenario.image ? expandImagePlaceholders(rendered, [prepared], spec.imageSeqLen) : rendered);
  const input: FloorInput = { paths: directory.onnxPaths, ids, imageTokenId: spec.imageTokenId, tiles: prepared.tiles, tileSize: prepared.tileSize };
  if (prepared.pixels) {
    input.pixelsFile = path.join(cacheRoot, `pixels-${scenario.name}.bin`);
    writeFileSync(input.pixelsFile, new Uint8Array(prepared.pixels.buffer, prepared.pixels.byteOffset, prepared.pixels.byteLength));
  }
  return input;
}

/** Our CLI's arguments for a scenario. */
function oursArgs(scenario: Scenario, modelDir: string, dtype: string, tokens: number): string[] {
  const common = ['--model', modelDir, '--dtype', dtype, '-n', String(tokens), '--json'];
  if (!scenario.image) return [path.join(repoRoot, 'bin', 'smolvlm.js'), 'ask', '-q', scenario.question, ...common];
  return [path.join(repoRoot, 'bin', 'smolvlm.js'), 'describe', scenario.image, '-p', scenario.question, ...(scenario.doImageSplitting ? [] : ['--no-split']), ...common];
}

interface Spawned {
  /** ms on the parent's performance clock, from the spawn. */
  wallMs: number;
  /** When the last stdout chunk came, from the spawn. */
  outputAtMs: number;
  /** The child's timeOrigin minus the spawn, on the epoch clock. */
  spawnAt: number;
  stdout: string;
  peakRssMB: number | undefined;
  code: number | null;
  stderr: string;
}

/** Runs `node args` (under /usr/bin/time for the peak RSS, when there is one) and times it from spawn to exit. */
function spawnTimed(args: readonly string[], env: NodeJS.ProcessEnv): Promise<Spawned> {
  const withTime = existsSync(timeBinary);
  const command = withTime ? timeBinary : process.execPath;
  const argv = withTime ? ['-f', 'maxrss-kb %M', process.execPath, ...args] : [...args];
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(command, argv, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    let outputAt = started;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      outputAt = performance.now();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.on('close', (code) => {
      const rss = /maxrss-kb (\d+)/.exec(stderr)?.[1];
      resolve({
        wallMs: performance.now() - started,
        outputAtMs: outputAt - started,
        spawnAt: performance.timeOrigin + started,
        stdout,
        peakRssMB: rss ? Number(rss) / 1024 : undefined,
        code,
        stderr,
      });
    });
  });
}

interface OursJson {
  usage: { completion_tokens: number };
  timings: { load_ms: number; image_ms: number; encode_ms: number; prefill_ms: number; first_token_ms: number; decode_ms: number; total_ms: number };
}

/** Our run's phases on the parent's clock: the request ended when its JSON arrived. */
function oursRun(spawned: Spawned, scenario: ScenarioName, tokens: number): OneshotRun {
  const answer = JSON.parse(spawned.stdout.trim().split('\n').at(-1)!) as OursJson;
  const t = answer.timings;
  const requestStart = spawned.outputAtMs - t.total_ms;
  const loadStart = requestStart - t.load_ms;
  const check = answer.usage.completion_tokens === tokens ? undefined : `generated ${answer.usage.completion_tokens} tokens, not ${tokens}`;
  return {
    engine: 'ours',
    scenario,
    wallMs: spawned.wallMs,
    firstTokenMs: requestStart + t.first_token_ms,
    requestFirstTokenMs: t.first_token_ms,
    loadMs: t.load_ms,
    decodeTokensPerSecond: t.decode_ms > 0 ? ((tokens - 1) / t.decode_ms) * 1000 : 0,
    peakRssMB: spawned.peakRssMB,
    phases: {
      'spawn → load starts (node, imports, CLI, inputs)': loadStart,
      'load (sessions)': t.load_ms,
      'preprocess (read, decode, tile)': t.image_ms,
      'vision encode': t.encode_ms,
      prefill: t.prefill_ms,
      'to the first token (sampling, rest)': t.first_token_ms - t.image_ms - t.encode_ms - t.prefill_ms,
      [`${tokens - 1} more tokens`]: t.decode_ms,
      'answer → exit': spawned.wallMs - spawned.outputAtMs,
    },
    ...(check ? { error: check } : {}),
  };
}

function otherRun(spawned: Spawned, engine: OneshotEngine, scenario: ScenarioName, tokens: number): OneshotRun {
  const report = JSON.parse(spawned.stdout.trim().split('\n').at(-1)!) as OneshotReport;
  const offset = report.timeOrigin - spawned.spawnAt;
  const check = report.tokens === tokens ? undefined : `generated ${report.tokens} tokens, not ${tokens}`;
  return {
    engine,
    scenario,
    wallMs: spawned.wallMs,
    firstTokenMs: offset + report.firstTokenAt,
    requestFirstTokenMs: report.requestFirstTokenMs,
    loadMs: report.loadMs,
    decodeTokensPerSecond: report.lastTokenAt > report.firstTokenAt ? ((tokens - 1) / (report.lastTokenAt - report.firstTokenAt)) * 1000 : 0,
    peakRssMB: spawned.peakRssMB,
    phases: { 'spawn → process start (timeOrigin)': offset, 'last token → exit': spawned.wallMs - offset - report.lastTokenAt },
    ...(check ? { error: check } : {}),
  };
}

/** Runs the one-shot scenario and prints its tables; returns the Markdown. */
export async function runOneshotBench(o: OneshotBenchOptions): Promise<string> {
  const model = oneshotModel(o.modelDir, o.out);
  const childScript = transpileChildren();
  const env = { ...process.env, SMOLVLM_CACHE: path.join(o.out, 'model-cache') };
  const floorInputs = new Map<ScenarioName, FloorInput>();
  for (const scenario of o.scenarios) {
    floorInputs.set(scenario.name, floorInput(model, o.dtype, scenario, await prepareFloorImage(model, o.dtype, scenario)));
  }
  const argsFor = (engine: OneshotEngine, scenario: Scenario): string[] => {
    if (engine === 'ours') return oursArgs(scenario, model, o.dtype, o.tokens);
    const task: OneshotTask =
      engine === 'floor'
        ? { engine, input: floorInputs.get(scenario.name)!, newTokens: o.tokens }
        : { engine, task: { engine, label: engine, modelDir: model, dtype: o.dtype, scenario: oneTurn(scenario), newTokens: o.tokens, resultFile: '' } };
    return [childScript, JSON.stringify(task)];
  };
  const once = async (engine: OneshotEngine, scenario: Scenario): Promise<OneshotRun> => {
    const spawned = await spawnTimed(argsFor(engine, scenario), env);
    try {
      if (spawned.code !== 0) throw new Error(`exit ${spawned.code}: ${spawned.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      return engine === 'ours' ? oursRun(spawned, scenario.name, o.tokens) : otherRun(spawned, engine, scenario.name, o.tokens);
    } catch (error) {
      return { engine, scenario: scenario.name, wallMs: NaN, firstTokenMs: NaN, requestFirstTokenMs: NaN, loadMs: NaN, decodeTokensPerSecond: NaN, peakRssMB: undefined, phases: {}, error: String(error) };
    }
  };

  // One untimed run of ours on one tile fills the optimized-graph cache (all three sessions) and checks the token count.
  if (o.engines.includes('ours')) {
    const single = o.scenarios.find((s) => s.image) ?? o.scenarios[0]!;
    const warm = await once('ours', single);
    o.log(`oneshot warm-up ours ${single.name}: ${warm.error ?? `${warm.wallMs.toFixed(0)} ms`}`);
  }
  const runs: OneshotRun[] = [];
  const bare: number[] = [];
  for (let run = 0; run < o.runs; run++) {
    bare.push((await spawnTimed(['-e', '0'], env)).wallMs);
    for (const scenario of o.scenarios) {
      const order = o.engines.map((_, i) => o.engines[(i + run) % o.engines.length]!);
      for (const engine of order) {
        const result = await once(engine, scenario);
        runs.push(result);
        o.log(
          `oneshot run ${run + 1} ${scenario.name} ${engine}: ` +
            (result.error ?? `wall ${result.wallMs.toFixed(0)} ms, first token at ${result.firstTokenMs.toFixed(0)} ms, load ${result.loadMs.toFixed(0)} ms, RSS ${result.peakRssMB?.toFixed(0) ?? '?'} MB`),
        );
      }
    }
  }
  const markdown = [
    `One-shot: spawn to exit of a fresh process, ${o.tokens} tokens, ${o.dtype}, ${o.runs} run(s), medians (min–max); bare \`node -e 0\`: ${stat(bare)?.median.toFixed(0)} ms.`,
    '',
    oneshotTable(runs, o.engines),
    '',
    'Ours, phase by phase (medians, ms from the spawn or of the phase):',
    '',
    oneshotPhaseTable(runs.filter((r) => r.engine === 'ours' && !r.error)),
  ].join('\n');
  console.log(`\n${markdown}\n`);
  const failed = runs.filter((r) => r.error);
  if (failed.length > 0) o.log(`${failed.length} one-shot run(s) failed; first: ${failed[0]!.engine} ${failed[0]!.scenario}: ${failed[0]!.error}`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(path.join(o.out, `oneshot-${stamp}.json`), JSON.stringify({ date: new Date().toISOString(), options: { ...o, log: undefined }, bareNodeMs: bare, runs }, null, 1));
  writeFileSync(path.join(o.out, `oneshot-${stamp}.md`), `${markdown}\n`);
  return markdown;
}

/** The scenario without its follow-up question: one answer. */
function oneTurn({ followUp: _, ...scenario }: Scenario): Scenario {
  return scenario;
}
