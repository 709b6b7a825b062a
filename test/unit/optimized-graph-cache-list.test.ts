import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { hubRepoOfPath, listOptimizedGraphs, optimizedGraphsOfRepo, removeOptimizedGraphs } from '../../src/index.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-ogc-list-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** An entry as optimized-graph-cache.ts writes it: graph, data file, sidecar. */
function writeEntry(cache: string, name: string, source: Record<string, unknown>): void {
  writeFileSync(path.join(cache, `${name}.onnx`), 'g'.repeat(100));
  writeFileSync(path.join(cache, `${name}.onnx.1-a.data`), 'd'.repeat(50));
  writeFileSync(path.join(cache, `${name}.onnx.json`), JSON.stringify({ ...source, data: `${name}.onnx.1-a.data` }));
}

describe('optimized-graph cache listing', () => {
  it('reads the repo id from a Hub cache path', () => {
    assert.equal(hubRepoOfPath('/c/hub/models--HuggingFaceTB--SmolVLM-256M-Instruct/blobs/abc'), 'HuggingFaceTB/SmolVLM-256M-Instruct');
    assert.equal(hubRepoOfPath('/models/smolvlm/onnx/decoder.onnx'), undefined);
  });

  it('tells each entry its model (Hub repo by blob path, else local folder), size, and whether its source is still there', () => {
    const cache = path.join(tmp, 'optimized');
    const blobs = path.join(tmp, 'hub', 'models--org--tiny', 'blobs');
    const local = path.join(tmp, 'local', 'onnx');
    mkdirSync(cache);
    mkdirSync(blobs, { recursive: true });
    mkdirSync(local, { recursive: true });
    writeFileSync(path.join(blobs, 'b1'), 'model');
    writeFileSync(path.join(local, 'vision.onnx'), 'model');
    const st = (f: string) => ({ size: statSync(f).size, mtimeMs: statSync(f).mtimeMs });
    // An entry of an earlier version (no link), a local one, and one whose source changed.
    writeEntry(cache, 'a', { path: path.join(blobs, 'b1'), ...st(path.join(blobs, 'b1')) });
    writeEntry(cache, 'b', { path: path.join(local, 'vision.onnx'), link: path.join(local, 'vision.onnx'), ...st(path.join(local, 'vision.onnx')) });
    writeEntry(cache, 'c', { path: path.join(local, 'vision.onnx'), size: 1, mtimeMs: 1 });
    writeFileSync(path.join(cache, 'd.onnx.json'), '{"not": "ours"}');

    const entries = listOptimizedGraphs(cache);
    assert.equal(entries.length, 3);
    const [hub] = optimizedGraphsOfRepo(entries, 'ORG/tiny');
    assert.equal(hub?.size, 100 + 50 + statSync(path.join(cache, 'a.onnx.json')).size);
    assert.equal(hub?.sourcePresent, true);
    const locals = entries.filter((e) => e.modelDir === path.join(tmp, 'local'));
    assert.deepEqual(locals.map((e) => e.sourcePresent).sort(), [false, true]);

    const stale = entries.filter((e) => !e.sourcePresent);
    assert.equal(removeOptimizedGraphs(stale, { dryRun: true }).entries, 1);
    assert.equal(listOptimizedGraphs(cache).length, 3);
    removeOptimizedGraphs(stale);
    assert.equal(listOptimizedGraphs(cache).length, 2);
    assert.deepEqual(listOptimizedGraphs(path.join(tmp, 'missing')), []);
  });
});
