/**
 * The CLI as bin/smolvlm.js runs it: the esbuild bundle in dist/bundle (scripts/bundle-cli.ts, built by
 * `npm run build`). The model-free commands load nothing but the bundle's own files: no onnxruntime,
 * sharp, tokenizer, template engine, xgrammar or protobufjs (whose users, the ONNX protobuf code, sit
 * in lazy chunks), and no module of the unbundled dist/ or of src/. What the bundle moved (it no
 * longer sits where the compiled modules did) still resolves: the version, the chat page, the workers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { runCli } from '../helpers/cli.js';
import { startServe, type ServeProcess } from '../helpers/serve.js';
import { repoRoot } from '../helpers/shared.js';

const bundleDir = path.join(repoRoot, 'dist', 'bundle');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-bundle-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Packages the model-free commands must not load. */
const HEAVY = ['onnxruntime-node', 'sharp', '@huggingface/tokenizers', '@huggingface/jinja', '@mlc-ai/web-xgrammar', 'protobufjs', '@ffmpeg-installer', 'ora'];

/**
 * Run before the program (`node --import`): every ES module URL Node resolves (a resolve hook, which
 * runs on the hooks thread), then at exit every CommonJS module in require's cache (the heavy
 * packages are required through createRequire, which the hook does not see), appended to the file
 * named by SMOLVLM_TEST_MODULE_LOG.
 */
const HOOKS = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.SMOLVLM_TEST_MODULE_LOG, result.url + '\\n');
  return result;
}`;
const PRELOAD = `import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOKS)}));
const cache = createRequire(process.cwd() + '/').cache;
process.on('exit', () => appendFileSync(process.env.SMOLVLM_TEST_MODULE_LOG, Object.keys(cache).map((f) => pathToFileURL(f).href).join('\\n') + '\\n'));`;

/** The file: URLs of the modules `smolvlm <args>` loaded. */
async function loadedModules(args: readonly string[]): Promise<string[]> {
  const log = path.join(scratch, `modules-${args.join('-').replace(/\W+/g, '_')}.txt`);
  const result = await runCli(args, {
    env: { SMOLVLM_TEST_MODULE_LOG: log, NODE_OPTIONS: `--import data:text/javascript,${encodeURIComponent(PRELOAD)}`, SMOLVLM_CACHE: path.join(scratch, 'cache') },
  });
  assert.equal(result.code, 0, result.stderr);
  return [...new Set(readFileSync(log, 'utf8').split('\n'))].filter((url) => url.startsWith('file:'));
}

describe('the bundle', () => {
  test('is minified ES modules without source maps', () => {
    const files = readdirSync(bundleDir);
    assert.ok(files.includes('cli.js'), files.join(', '));
    assert.ok(files.includes('prefetch-worker.js'), 'the caption worker is an entry of its own');
    assert.deepEqual(files.filter((f) => !f.endsWith('.js')), []);
    const cli = readFileSync(path.join(bundleDir, 'cli.js'), 'utf8');
    assert.doesNotMatch(cli, /^\s*\/\*\*/m, 'minified: no doc comments');
    assert.doesNotMatch(cli, /sourceMappingURL/);
  });

  for (const args of [['--version'], ['--help'], ['help'], ['help', 'describe'], ['models'], ['models', '--available'], ['completion', 'bash']]) {
    test(`smolvlm ${args.join(' ')} loads only the bundle, none of the heavy packages`, async () => {
      const urls = await loadedModules(args);
      const bundle = pathToFileURL(bundleDir).href + '/';
      assert.ok(urls.some((url) => url.startsWith(bundle)), urls.join('\n'));
      const heavy = urls.filter((url) => HEAVY.some((name) => url.includes(`/node_modules/${name}/`)));
      assert.deepEqual(heavy, []);
      const unbundled = urls.filter((url) => url.startsWith(pathToFileURL(repoRoot).href + '/') && !url.startsWith(bundle) && !url.includes('/node_modules/') && !url.endsWith('/bin/smolvlm.js'));
      assert.deepEqual(unbundled, [], 'no module of src/, proto/ or the unbundled dist/');
    });
  }

  test('the check sees the heavy packages where a command loads them (smolvlm version)', async () => {
    const urls = await loadedModules(['version']);
    for (const name of ['onnxruntime-node', 'sharp']) assert.ok(urls.some((url) => url.includes(`/node_modules/${name}/`)), name);
  });

  test('--version reads the package.json of the package, from the bundle', async () => {
    const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const result = await runCli(['--version']);
    assert.equal(result.stdout, `${version}\n`);
  });

  describe('serve, from the bundle', () => {
    let serve: ServeProcess;
    before(async () => {
      serve = await startServe(await ensureFixtureModel('tiny'), ['--dtype', 'fp32']);
    });
    after(async () => {
      if (serve) await serve.stop();
    });

    test('serves the chat page of ui/', async () => {
      const page = await fetch(`${serve.url}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(await page.text(), readFileSync(path.join(repoRoot, 'ui', 'index.html'), 'utf8'));
    });
  });
});
