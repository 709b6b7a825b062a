/**
 * Files of the package itself (package.json, the chat page's ui/), found from this module's URL.
 * This module runs from src/core/ (under tsx), from dist/core/ (the library) or from a chunk of
 * dist/bundle/ (the CLI bundle, scripts/bundle-cli.ts, whose chunks all sit at its top): two levels
 * under the package root in every case. The bundle keeps that depth so that this stays true.
 */
import { fileURLToPath } from 'node:url';

/** The absolute path of `relative` (slash-separated) in the package, e.g. `packageFile('ui/')`. */
export function packageFile(relative: string): string {
  return fileURLToPath(new URL(`../../${relative}`, import.meta.url));
}
