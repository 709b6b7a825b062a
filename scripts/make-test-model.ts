/**
 * Writes a random-weight SmolVLM model directory in the official layout.
 *
 *   node --import tsx scripts/make-test-model.ts --preset tiny --out ./tiny-model [--seed N] [--dtypes fp32,int8,q4,fp16] [--int8-range reduced]
 *   node --import tsx scripts/make-test-model.ts --ensure tiny      # fixtures/generated/tiny, only when stale
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  ALL_DTYPES,
  type Dtype,
  ensureFixtureModel,
  generateFixtureModel,
  isDtype,
  isPresetName,
  PRESETS,
} from './fixture-model/index.js';

const usage = `usage: make-test-model --preset <${Object.keys(PRESETS).join('|')}> --out <dir> [--seed N] [--dtypes ${ALL_DTYPES.join(',')}] [--int8-range full|reduced] [--no-eos-tie]
       make-test-model --ensure <preset> [--seed N] [--dtypes ...]`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    preset: { type: 'string' },
    out: { type: 'string' },
    ensure: { type: 'string' },
    seed: { type: 'string' },
    dtypes: { type: 'string' },
    'int8-range': { type: 'string' },
    'no-eos-tie': { type: 'boolean', default: false },
    quiet: { type: 'boolean', short: 'q', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}

let seed: number | undefined;
if (values.seed !== undefined) {
  seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) fail(`--seed must be a non-negative integer, got ${values.seed}`);
}
let dtypes: Dtype[] | undefined;
if (values.dtypes !== undefined) {
  const list = values.dtypes.split(',').map((d) => d.trim()).filter(Boolean);
  const bad = list.filter((d) => !isDtype(d));
  if (bad.length || !list.length) fail(`unknown dtype(s): ${bad.join(', ') || '(none given)'}`);
  dtypes = list as Dtype[];
}
const int8Range = values['int8-range'];
if (int8Range !== undefined && int8Range !== 'full' && int8Range !== 'reduced') fail(`--int8-range must be full or reduced, got ${int8Range}`);
const onProgress = values.quiet ? undefined : (message: string) => process.stderr.write(`${message}\n`);
const started = Date.now();

if (values.ensure !== undefined) {
  if (!isPresetName(values.ensure)) fail(`unknown preset ${values.ensure}`);
  const dir = await ensureFixtureModel(values.ensure, {
    ...(seed !== undefined ? { seed } : {}),
    ...(dtypes ? { dtypes } : {}),
    ...(onProgress ? { onProgress } : {}),
  });
  process.stdout.write(`${dir}\n`);
} else {
  if (!values.preset || !isPresetName(values.preset)) fail(`--preset must be one of ${Object.keys(PRESETS).join(', ')}`);
  if (!values.out) fail('--out is required');
  const info = await generateFixtureModel({
    preset: values.preset,
    outDir: path.resolve(values.out),
    ...(seed !== undefined ? { seed } : {}),
    ...(dtypes ? { dtypes } : {}),
    ...(values['no-eos-tie'] ? { eosTie: null } : {}),
    ...(int8Range ? { int8Range } : {}),
    ...(onProgress ? { onProgress } : {}),
  });
  const total = info.files.reduce((sum, f) => sum + f.bytes, 0);
  process.stdout.write(
    `${info.dir}: ${info.files.length} files, ${(total / 1e6).toFixed(2)} MB in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
      `(image_token_id ${info.layout.image}, eos ${info.layout.endOfUtterance}, vocab ${info.layout.vocabSize})\n`,
  );
}
