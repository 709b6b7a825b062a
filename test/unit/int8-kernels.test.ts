import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  cpuInt8Kernel,
  defaultInt8CacheFile,
  detectInt8Kernels,
  int8ProbeModel,
  int8SaturatesOverride,
  probeInt8Saturation,
} from '../../src/core/int8-kernels.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-int8-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const cpuinfo = (flags: string) => `processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse sse2 ${flags}\n`;
const AVX2 = 'avx avx2 fma';
const AVX512 = `${AVX2} avx512f avx512dq avx512bw avx512vl`;
let files = 0;
const freshCacheFile = () => path.join(tmp, `cache-${files++}`, 'int8-kernels.json');
const failingProbe = async (): Promise<boolean> => {
  throw new Error('no probe here');
};

describe('CPU flags', () => {
  test('mirror the kernel onnxruntime dispatches to on x86', () => {
    assert.deepEqual(cpuInt8Kernel(cpuinfo(AVX2), 'x64'), { name: 'AVX2, no VNNI', saturates: true });
    assert.deepEqual(cpuInt8Kernel(cpuinfo(`${AVX2} avx_vnni`), 'x64'), { name: 'AVX-VNNI', saturates: false });
    assert.deepEqual(cpuInt8Kernel(cpuinfo(AVX512), 'x64'), { name: 'AVX-512, no VNNI', saturates: true });
    // AVX-512 core takes over from AVX-VNNI in onnxruntime's dispatch: only AVX-512 VNNI makes it exact.
    assert.deepEqual(cpuInt8Kernel(cpuinfo(`${AVX512} avx_vnni`), 'x64'), { name: 'AVX-512, no VNNI', saturates: true });
    assert.deepEqual(cpuInt8Kernel(cpuinfo(`${AVX512} avx512_vnni`), 'x64'), { name: 'AVX-512 VNNI', saturates: false });
    assert.deepEqual(cpuInt8Kernel(cpuinfo(`${AVX512} amx_tile amx_int8`), 'x64'), { name: 'AMX', saturates: false });
    assert.deepEqual(cpuInt8Kernel(cpuinfo('sse4_1'), 'x64'), { name: 'SSE', saturates: false });
  });

  test('say nothing on ARM or without a flags line', () => {
    assert.equal(cpuInt8Kernel(cpuinfo(AVX2), 'arm64'), undefined);
    assert.equal(cpuInt8Kernel('processor\t: 0\nFeatures\t: fp asimd\n', 'x64'), undefined);
    assert.equal(cpuInt8Kernel(undefined, 'x64'), undefined);
  });
});

describe('SMOLVLM_INT8_SATURATES', () => {
  test('1 or 0 injects the answer without probing', async () => {
    for (const [value, saturates] of [['1', true], ['0', false], ['true', true], ['false', false]] as const) {
      const report = await detectInt8Kernels({ env: { [`SMOLVLM_INT8_SATURATES`]: value }, probe: failingProbe, cacheFile: false });
      assert.deepEqual([report.saturates, report.source], [saturates, 'override'], value);
      assert.equal(report.summary, `${saturates ? 'saturating' : 'exact'} (SMOLVLM_INT8_SATURATES)`);
    }
    assert.equal(int8SaturatesOverride({}), undefined);
    assert.equal(int8SaturatesOverride({ SMOLVLM_INT8_SATURATES: '' }), undefined);
  });

  test('anything else is a usage error', () => {
    assert.throws(() => int8SaturatesOverride({ SMOLVLM_INT8_SATURATES: 'yes' }), { code: 'USAGE', message: /SMOLVLM_INT8_SATURATES must be 1 or 0/ });
  });
});

describe('the probe, its answer injected', () => {
  for (const saturates of [true, false]) {
    test(`${saturates ? 'saturating' : 'exact'}: reported, remembered per machine and read back without probing`, async () => {
      const cacheFile = freshCacheFile();
      let calls = 0;
      const probe = async () => {
        calls++;
        return saturates;
      };
      const first = await detectInt8Kernels({ env: {}, cacheFile, probe, cpuinfo: cpuinfo(AVX2) });
      assert.deepEqual([first.saturates, first.source, calls], [saturates, 'probe', 1]);
      assert.deepEqual(first.cpu, { name: 'AVX2, no VNNI', saturates: true });
      assert.equal(first.summary, saturates ? 'saturating (AVX2, no VNNI)' : 'exact (measured; CPU flags say AVX2, no VNNI)');
      const stored = JSON.parse(readFileSync(cacheFile, 'utf8')) as { machines: Record<string, { saturates: boolean }> };
      assert.deepEqual(Object.values(stored.machines), [{ saturates }]);
      assert.match(Object.keys(stored.machines)[0]!, /onnxruntime \d+\.\d+/);

      const again = await detectInt8Kernels({ env: {}, cacheFile, probe: failingProbe, cpuinfo: cpuinfo(AVX2) });
      assert.deepEqual([again.saturates, again.source], [saturates, 'remembered']);
      // Another CPU (other flags) on the same cache file is probed anew.
      const other = await detectInt8Kernels({ env: {}, cacheFile, probe, cpuinfo: cpuinfo(`${AVX512} avx512_vnni`) });
      assert.deepEqual([other.source, calls], ['probe', 2]);
      assert.equal(Object.keys((JSON.parse(readFileSync(cacheFile, 'utf8')) as { machines: object }).machines).length, 2);
    });
  }

  test('a cache that cannot be written or read only means probing again', async () => {
    const blocker = path.join(tmp, 'not-a-folder');
    writeFileSync(blocker, 'a file where the cache folder would be');
    const cacheFile = path.join(blocker, 'int8-kernels.json');
    for (let i = 0; i < 2; i++) {
      const report = await detectInt8Kernels({ env: {}, cacheFile, probe: async () => true, cpuinfo: null });
      assert.deepEqual([report.saturates, report.source, report.summary], [true, 'probe', 'saturating (measured)']);
    }
    const garbled = freshCacheFile();
    await detectInt8Kernels({ env: {}, cacheFile: garbled, probe: async () => false, cpuinfo: null });
    writeFileSync(garbled, '{"machines": {"x": {"saturates": "yes"}}');
    const report = await detectInt8Kernels({ env: {}, cacheFile: garbled, probe: async () => true, cpuinfo: null });
    assert.deepEqual([report.saturates, report.source], [true, 'probe']);
  });

  test('without a probe the CPU flags answer, and without flags it assumes saturation', async () => {
    const flags = await detectInt8Kernels({ env: {}, cacheFile: false, probe: failingProbe, cpuinfo: cpuinfo(`${AVX2} avx_vnni`) });
    assert.deepEqual([flags.saturates, flags.source, flags.summary], [false, 'cpu-flags', 'exact (AVX-VNNI)']);
    const none = await detectInt8Kernels({ env: {}, cacheFile: false, probe: failingProbe, cpuinfo: null });
    assert.deepEqual([none.saturates, none.source, none.summary], [true, 'assumed', 'saturating (assumed)']);
  });

  test('the cache file sits in the smolvlm cache folder', () => {
    assert.equal(defaultInt8CacheFile({ SMOLVLM_CACHE: '/c' }), path.resolve('/c', 'int8-kernels.json'));
    assert.equal(defaultInt8CacheFile({ XDG_CACHE_HOME: '/x' }), path.resolve('/x', 'smolvlm', 'int8-kernels.json'));
  });
});

describe('the real probe', () => {
  test('is a small model, runs in onnxruntime and answers true or false', async () => {
    assert.ok(int8ProbeModel().length < 2048);
    const saturates = await probeInt8Saturation();
    assert.equal(typeof saturates, 'boolean');
    const report = await detectInt8Kernels({ env: {}, cacheFile: freshCacheFile() });
    assert.equal(report.saturates, saturates);
    assert.ok(report.source === 'probe', report.source);
  });
});
