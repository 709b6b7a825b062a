import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  DEFAULT_MODEL,
  MODEL_ALIASES,
  hubCacheDir,
  hubEndpoint,
  hubOffline,
  hubSettingsFromEnv,
  hubToken,
  parseDtypeSpec,
  parseModelReference,
  parseOnnxFileName,
  repoFolderName,
  resolveDtypes,
} from '../../src/core/hub/index.js';

test('aliases map to the official repos, each with a description', () => {
  const table = Object.fromEntries(MODEL_ALIASES.map((a) => [a.alias, a.repo]));
  assert.deepEqual(table, {
    '256m': 'HuggingFaceTB/SmolVLM-256M-Instruct',
    '500m': 'HuggingFaceTB/SmolVLM-500M-Instruct',
    '2.2b': 'HuggingFaceTB/SmolVLM-Instruct',
    'smolvlm2-256m': 'HuggingFaceTB/SmolVLM2-256M-Video-Instruct',
    'smolvlm2-500m': 'HuggingFaceTB/SmolVLM2-500M-Video-Instruct',
    'smolvlm2-2.2b': 'HuggingFaceTB/SmolVLM2-2.2B-Instruct',
  });
  for (const a of MODEL_ALIASES) assert.ok(a.description.length > 10);
  assert.equal(DEFAULT_MODEL, 'HuggingFaceTB/SmolVLM-256M-Instruct');
});

test('parseModelReference: aliases, repo ids with revisions, local paths', () => {
  assert.deepEqual(parseModelReference('256m'), { kind: 'hub', repo: 'HuggingFaceTB/SmolVLM-256M-Instruct', alias: '256m' });
  assert.deepEqual(parseModelReference('256M@abc'), { kind: 'hub', repo: 'HuggingFaceTB/SmolVLM-256M-Instruct', revision: 'abc', alias: '256m' });
  assert.deepEqual(parseModelReference('org/name'), { kind: 'hub', repo: 'org/name' });
  assert.deepEqual(parseModelReference('org/name@refs/pr/3'), { kind: 'hub', repo: 'org/name', revision: 'refs/pr/3' });
  assert.deepEqual(parseModelReference('./models/x'), { kind: 'local', path: './models/x' });
  assert.deepEqual(parseModelReference('/abs/dir'), { kind: 'local', path: '/abs/dir' });
  assert.deepEqual(parseModelReference('~/m'), { kind: 'local', path: '~/m' });
  assert.deepEqual(parseModelReference('a/b/c'), { kind: 'local', path: 'a/b/c' });
  assert.deepEqual(parseModelReference('mymodel'), { kind: 'local', path: 'mymodel' });
  assert.throws(() => parseModelReference('org/name@../../etc'), { code: 'USAGE' });
  assert.throws(() => parseModelReference('org/na--me@main'), { code: 'MODEL_NOT_FOUND' });
  assert.throws(() => parseModelReference('  '), { code: 'USAGE' });
  assert.equal(repoFolderName('HuggingFaceTB/SmolVLM-256M-Instruct'), 'models--HuggingFaceTB--SmolVLM-256M-Instruct');
});

test('dtypes: suffixes, per-session objects, text form, errors', () => {
  assert.deepEqual(resolveDtypes({}), { vision_encoder: 'fp32', embed_tokens: 'fp32', decoder_model_merged: 'fp32' });
  assert.deepEqual(resolveDtypes('q4'), { vision_encoder: 'q4', embed_tokens: 'q4', decoder_model_merged: 'q4' });
  assert.deepEqual(resolveDtypes({ decoder_model_merged: 'q4f16' }, 'fp16'), { vision_encoder: 'fp16', embed_tokens: 'fp16', decoder_model_merged: 'q4f16' });
  assert.deepEqual(parseDtypeSpec('vision_encoder=fp16, decoder_model_merged=q8'), { vision_encoder: 'fp16', decoder_model_merged: 'q8' });
  assert.deepEqual(resolveDtypes('vision=fp16,decoder=q4', 'int8'), { vision_encoder: 'fp16', embed_tokens: 'int8', decoder_model_merged: 'q4' });
  assert.throws(() => resolveDtypes('q2'), { code: 'USAGE' });
  assert.throws(() => parseDtypeSpec('visual=fp16'), { code: 'USAGE' });
  assert.throws(() => resolveDtypes({ vision: 'fp16' } as never), { code: 'USAGE' });
  assert.deepEqual(parseOnnxFileName('decoder_model_merged_q4f16.onnx'), { session: 'decoder_model_merged', dtype: 'q4f16' });
  assert.deepEqual(parseOnnxFileName('embed_tokens_quantized.onnx'), { session: 'embed_tokens', dtype: 'q8' });
  assert.deepEqual(parseOnnxFileName('vision_encoder.onnx'), { session: 'vision_encoder', dtype: 'fp32' });
  assert.equal(parseOnnxFileName('vision_encoder.onnx_data'), undefined);
  assert.equal(parseOnnxFileName('model_q4.onnx'), undefined);
});

test('cache root precedence follows huggingface_hub', () => {
  const home = path.join(os.tmpdir(), 'home-x');
  assert.equal(hubCacheDir({ HOME: home }), path.join(home, '.cache', 'huggingface', 'hub'));
  assert.equal(hubCacheDir({ HOME: home, XDG_CACHE_HOME: '/xdg' }), path.resolve('/xdg/huggingface/hub'));
  assert.equal(hubCacheDir({ HOME: home, XDG_CACHE_HOME: '/xdg', HF_HOME: '/hfh' }), path.resolve('/hfh/hub'));
  assert.equal(hubCacheDir({ HF_HOME: '/hfh', HUGGINGFACE_HUB_CACHE: '/old' }), path.resolve('/old'));
  assert.equal(hubCacheDir({ HF_HUB_CACHE: '/new', HUGGINGFACE_HUB_CACHE: '/old' }), path.resolve('/new'));
  assert.equal(hubCacheDir({ HOME: home, HF_HUB_CACHE: '~/c' }), path.join(home, 'c'));
  assert.equal(hubCacheDir({ HOME: home, HF_HUB_CACHE: '' }), path.join(home, '.cache', 'huggingface', 'hub'));
});

test('endpoint, offline flag and token sources', () => {
  assert.equal(hubEndpoint({}), 'https://huggingface.co');
  assert.equal(hubEndpoint({ HF_ENDPOINT: 'https://mirror.example//' }), 'https://mirror.example');
  assert.equal(hubOffline({ HF_HUB_OFFLINE: '1' }), true);
  assert.equal(hubOffline({ HF_HUB_OFFLINE: 'TRUE' }), true);
  assert.equal(hubOffline({ HF_HUB_OFFLINE: '0' }), false);
  assert.equal(hubOffline({}), false);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-token-'));
  writeFileSync(path.join(dir, 'token'), 'hf_fromfile\n');
  writeFileSync(path.join(dir, 'other'), 'hf_frompath');
  assert.deepEqual(hubToken({ HF_TOKEN: 'hf_a', HUGGING_FACE_HUB_TOKEN: 'hf_b', HF_HOME: dir }), { token: 'hf_a', source: 'HF_TOKEN' });
  assert.deepEqual(hubToken({ HUGGING_FACE_HUB_TOKEN: 'hf_b', HF_HOME: dir }), { token: 'hf_b', source: 'HUGGING_FACE_HUB_TOKEN' });
  assert.equal(hubToken({ HF_HOME: dir })?.token, 'hf_fromfile');
  assert.equal(hubToken({ HF_HOME: dir, HF_TOKEN_PATH: path.join(dir, 'other') })?.token, 'hf_frompath');
  assert.equal(hubToken({ HF_HOME: path.join(dir, 'nothing') }), undefined);
  rmSync(dir, { recursive: true, force: true });
});

test('hub time limits from the environment: seconds, unset means the default, a bad value is refused by name', () => {
  const base = { HF_HOME: path.join(os.tmpdir(), 'smolvlm-no-such-home') };
  const settings = hubSettingsFromEnv({ ...base, HF_HUB_ETAG_TIMEOUT: '2.5', HF_HUB_DOWNLOAD_TIMEOUT: '' });
  assert.equal(settings.metadataTimeoutMs, 2500);
  assert.equal(settings.downloadTimeoutMs, undefined);
  for (const [name, value] of [['HF_HUB_ETAG_TIMEOUT', 'abc'], ['HF_HUB_DOWNLOAD_TIMEOUT', '-1'], ['HF_HUB_DOWNLOAD_TIMEOUT', '0']] as const) {
    assert.throws(
      () => hubSettingsFromEnv({ ...base, [name]: value }),
      (error: Error & { code?: string }) => error.code === 'USAGE' && error.message.includes(name) && error.message.includes(`"${value}"`),
    );
  }
});
