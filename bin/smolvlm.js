#!/usr/bin/env node
// Runs the CLI bundle (dist/bundle/cli.js, made by `npm run build` after tsc). In a checkout (src/ is
// there; the package ships without it) where tsc ran alone after the last bundle, the bundle is older
// than the compiled CLI and would run stale code: the compiled modules (dist/cli/main.js) run instead.
import { statSync } from 'node:fs';

const bundle = new URL('../dist/bundle/cli.js', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);
const mtime = (url) => statSync(url, { throwIfNoEntry: false })?.mtimeMs ?? -1;
const stale = mtime(new URL('../src/cli/main.ts', import.meta.url)) >= 0 && mtime(bundle) < mtime(compiled);
await import(stale ? compiled : bundle);
