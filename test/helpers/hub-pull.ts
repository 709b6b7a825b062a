/**
 * Child process for the hub tests: `node --import tsx test/helpers/hub-pull.ts '<json>'` pulls a model and prints
 * one JSON line per progress event, then `{"event":"done",...}` or `{"event":"error",...}`.
 * With `abortOnSigint` it cancels through an AbortSignal like the CLI does; otherwise SIGINT kills it outright.
 */
import { pullModel } from '../../src/core/hub/index.js';
import { isSmolVLMError } from '../../src/core/errors.js';

interface Args {
  ref: string;
  endpoint: string;
  cacheDir: string;
  dtype?: string;
  abortOnSigint?: boolean;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const controller = new AbortController();
if (args.abortOnSigint) process.on('SIGINT', () => controller.abort());
const print = (v: unknown): void => void process.stdout.write(`${JSON.stringify(v)}\n`);

try {
  const result = await pullModel(args.ref, {
    endpoint: args.endpoint,
    cacheDir: args.cacheDir,
    env: {},
    ...(args.dtype ? { dtype: args.dtype } : {}),
    signal: controller.signal,
    retry: { retries: 3, minDelayMs: 5, maxDelayMs: 20 },
    lock: { pollMs: 20 },
    onProgress: (p) => print({ event: 'progress', ...p }),
  });
  print({ event: 'done', result });
} catch (error) {
  print({ event: 'error', code: isSmolVLMError(error) ? error.code : undefined, message: String(error) });
  process.exitCode = 1;
}
