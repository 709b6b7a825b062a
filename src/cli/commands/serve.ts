import { Command, Option } from '@commander-js/extra-typings';
import { DEFAULT_HOST, DEFAULT_PORT, DEFAULT_QUEUE } from '../../index.js';
import { runCommand, type StopHandler } from '../context.js';
import { EXIT_CODES_HELP, EXIT_OK, UsageError } from '../errors.js';
import { generationOptions, generationSettings, imageOptions, modelOptions, outputOptions, positiveInteger, withOptions } from '../options.js';
import { formatRequestLog } from '../request-log.js';
import { byteSize, count, portNumber } from '../serve-options.js';

export const API_KEY_ENV = 'SMOLVLM_API_KEY';
const DEFAULT_PARALLEL = 4;

const HELP = `
Serves the model over an OpenAI-compatible API: POST /v1/chat/completions (streaming too),
GET /v1/models, GET /health. Any OpenAI client works with base URL http://HOST:PORT/v1.
A chat page is served at http://HOST:PORT/ (--no-ui turns it off).
The generation flags set the defaults for requests that do not set those fields.

Images in requests: data: URLs always; http(s) URLs only when bound to a loopback address (the
default) or with --allow-image-urls; never local paths or file:// URLs.

Ctrl+C or SIGTERM stops accepting requests, lets running ones finish for a few seconds, then ends
them (a second Ctrl+C ends them at once); the exit code is then 0.

Examples:
  $ smolvlm serve
  $ smolvlm serve --model 500m --port 9000 --parallel 2
  $ SMOLVLM_API_KEY=secret smolvlm serve --host 0.0.0.0
  $ curl http://127.0.0.1:8080/v1/chat/completions -H 'content-type: application/json' \\
      -d '{"messages":[{"role":"user","content":"Write a haiku about autumn."}]}'

${EXIT_CODES_HELP}
`;

export function serveCommand() {
  return withOptions(
    new Command('serve')
      .summary('serve an OpenAI-compatible API (chat completions)')
      .description('Serve the model over an OpenAI-compatible HTTP API.')
      .option('--host <address>', 'address to listen on (any but a loopback address exposes the server to the network)', DEFAULT_HOST)
      .addOption(new Option('--port <n>', 'port to listen on (0 picks a free port)').argParser(portNumber).default(DEFAULT_PORT))
      .option('--api-key <key>', `require "Authorization: Bearer <key>" on every endpoint but /health (default: $${API_KEY_ENV})`)
      .addOption(new Option('--parallel <n>', 'requests generated together').argParser(positiveInteger).default(DEFAULT_PARALLEL))
      .addOption(new Option('--queue <n>', 'requests that may wait beyond --parallel; more get a 503').argParser(count).default(DEFAULT_QUEUE))
      .addOption(new Option('--max-body <size>', 'largest request body (images included); larger get a 413').argParser(byteSize).default(20 * 1024 * 1024, '20MiB'))
      .option('--cors <origin>', 'let web pages from this origin (or *) call the API; off by default')
      .option('--no-ui', 'do not serve the chat page at /')
      .option('--allow-image-urls', 'fetch http(s) image URLs even when listening on a non-loopback address'),
    modelOptions,
    generationOptions,
    imageOptions,
    outputOptions({
      json: 'log each request as one JSON object on stderr',
      verbose: "log each request's prompt text; stack traces",
      quiet: 'no request log on stderr (the address line stays)',
    }),
  )
    .addHelpText('after', HELP)
    .action((options) =>
      runCommand(options, async (ctx) => {
        const { BatchScheduler, chatPageRoutes, startServer } = await import('../actions.js');
        const apiKey = options.apiKey ?? ctx.io.env[API_KEY_ENV];
        if (apiKey !== undefined && apiKey.trim() === '') throw new UsageError(`the API key is empty (--api-key or $${API_KEY_ENV})`);
        // The decoder warms up at load: the first answer comes sooner, and nobody waits on the load.
        const loaded = await ctx.loadModel(options, { warmUp: true });
        const server = await startServer({
          model: loaded.model,
          modelName: loaded.name,
          // What generates: the batched scheduler, up to --parallel sequences decoded together in one decoder call.
          engine: new BatchScheduler(loaded.model, { maxBatch: options.parallel }),
          host: options.host,
          port: options.port,
          parallel: options.parallel,
          queue: options.queue,
          maxBodyBytes: options.maxBody,
          ...(apiKey !== undefined ? { apiKey } : {}),
          ...(options.cors !== undefined ? { cors: options.cors } : {}),
          allowImageUrls: options.allowImageUrls === true,
          defaults: { ...generationSettings(options), ...(options.system !== undefined ? { system: options.system } : {}) },
          onRequest: (entry) => {
            if (!options.quiet) ctx.io.stderr.write(`${formatRequestLog(entry, { json: options.json, verbose: options.verbose })}\n`);
          },
        });
        if (options.ui) {
          const config = { model: loaded.name, longest_edge: loaded.model.processorOptions.longestEdge, api_key_required: apiKey !== undefined, response_format: false };
          for (const route of chatPageRoutes({ config })) server.addRoute(route);
        }
        ctx.io.stderr.write(`smolvlm: serving ${loaded.name} at ${server.url} (OpenAI base URL ${server.url}/v1)\n`);
        let stopping = false;
        const stop: StopHandler = () => {
          if (stopping) server.abortAll();
          else void server.close();
          stopping = true;
          return true;
        };
        await ctx.stoppable(stop, () => server.closed);
        return EXIT_OK;
      }),
    );
}
