import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** `../shared` beside the checkout (always present in CI); `SMOLVLM_SHARED` overrides it. */
export const sharedDir = process.env.SMOLVLM_SHARED ?? path.resolve(repoRoot, '../shared');
export const conformanceDir = path.join(sharedDir, 'conformance');
export const referenceModelDir = path.join(sharedDir, 'reference', 'SmolVLM-256M-Instruct');

/** A `skip` value for node:test: false when present, else a message saying why the test is skipped. */
export function skipUnlessShared(dir: string): string | false {
  return existsSync(dir) ? false : `skipped: ${path.relative(repoRoot, dir)} is absent (it sits beside the checkout in CI)`;
}
