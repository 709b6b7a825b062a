/**
 * End-to-end: Ctrl+C or SIGTERM while the model is loading ends the command at once. Loading is
 * synchronous native work in onnxruntime, so no JavaScript handler could answer; the command leaves
 * the signals to the system's default action meanwhile. The load is held inside native code by a model
 * file that is a FIFO: opening it for writing here returns exactly when the command is reading it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { binPath } from '../helpers/cli.js';

const skip = process.platform === 'win32';

/** The tiny model with its fp32 decoder replaced by a FIFO nothing writes to (the vision encoder loads only for images). */
async function modelWithFifo(): Promise<{ dir: string; fifo: string }> {
  const source = await ensureFixtureModel('tiny');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-fifo-model-'));
  for (const name of readdirSync(source)) if (name !== 'onnx') symlinkSync(path.join(source, name), path.join(dir, name));
  mkdirSync(path.join(dir, 'onnx'));
  for (const name of readdirSync(path.join(source, 'onnx'))) {
    if (name !== 'decoder_model_merged.onnx') symlinkSync(path.join(source, 'onnx', name), path.join(dir, 'onnx', name));
  }
  const fifo = path.join(dir, 'onnx', 'decoder_model_merged.onnx');
  execFileSync('mkfifo', [fifo]);
  return { dir, fifo };
}

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`${signal} while the model is loading ends the command at once (${code})`, { skip, timeout: 60_000 }, async () => {
    const { dir, fifo } = await modelWithFifo();
    const cache = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-fifo-cache-'));
    const child = spawn(process.execPath, [binPath, 'ask', 'hi', '-m', dir, '--dtype', 'fp32'], {
      env: { ...process.env, SMOLVLM_CACHE: cache, HF_HUB_OFFLINE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (c, s) => resolve({ code: c, signal: s })));
    // Returns once the command has opened the model file: it is inside onnxruntime's load.
    const writer = await open(fifo, 'w');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const result = await exited;
    clearTimeout(timer);
    await writer.close();
    // Ended by the signal itself (the shell reports 128 + its number), or by its exit code.
    assert.ok(result.signal === signal || result.code === code, `ended by ${result.signal ?? result.code}: ${stderr}`);
    assert.doesNotMatch(stderr, /at .*\.js:\d+/, 'no stack trace');
  });
}
