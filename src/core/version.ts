/** The package's version, for `smolvlm --version` and the User-Agent of downloads. */
import { readFileSync } from 'node:fs';
import { packageFile } from './package-files.js';

let version: string | undefined;

/** `version` of the package's package.json, read once; `unknown` if unreadable. */
export function packageVersion(): string {
  if (version === undefined) {
    try {
      const parsed = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version?: unknown };
      version = typeof parsed.version === 'string' ? parsed.version : 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}
