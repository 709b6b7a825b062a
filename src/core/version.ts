/** The package's version, for `smolvlm --version` and the User-Agent of downloads. */
import { readFileSync } from 'node:fs';

let version: string | undefined;

/** `version` of package.json (two levels up from src/core/ or dist/core/), read once; `unknown` if unreadable. */
export function packageVersion(): string {
  if (version === undefined) {
    try {
      const parsed = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      version = typeof parsed.version === 'string' ? parsed.version : 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}
