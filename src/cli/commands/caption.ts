import { Command, Option } from '@commander-js/extra-typings';
import { DEFAULT_CAPTION_BATCH, DEFAULT_REMOTE_CONCURRENCY, DEFAULT_REMOTE_TIMEOUT_MS, DEFAULT_SIDECAR_EXTENSION } from '../../index.js';
import { runCommand } from '../context.js';
import { EXIT_CODES_HELP } from '../errors.js';
import { formatOptions, generationOptions, imageOptions, modelOptions, nonEmpty, outputOptions, positiveInteger, positiveNumber, withOptions } from '../options.js';
import { DESCRIBE_PROMPT } from '../prompts.js';

const HELP = `
Inputs: image files, folders (searched recursively), and glob patterns, quoted so that smolvlm expands
them ('photos/**/*.jpg'); or a list of paths with --files-from (one per line; -0: NUL-separated, as
find -print0 writes). Images are captioned in sorted order, each once.

Outputs, any combination: -o FILE.jsonl (one JSON object per image: file_name, text, model, prompt,
finish_reason, usage, timings; file_name is relative to the file's folder when the image is inside it,
so -o data/train/metadata.jsonl is a Hugging Face imagefolder metadata file); --sidecar writes
<image stem>${DEFAULT_SIDECAR_EXTENSION} (or the extension given) beside each image; with neither, JSON lines on stdout.

A rerun resumes: images with a record in the output file or a sidecar are skipped (--overwrite redoes
them all); an output file written with another model or prompt is refused. An image that cannot be
read is reported and the others go on (exit 1). Ctrl+C stops at once; nothing is left half-written.

--remote sends each image to an OpenAI-compatible server (vLLM, llama.cpp's server, Ollama, smolvlm
serve) instead of a local model, --concurrency requests at a time, retrying on 429, 5xx and timeouts.

Examples:
  $ smolvlm caption photos/ -o photos/metadata.jsonl
  $ smolvlm caption --sidecar .caption --prompt "Describe this image in one sentence." lora-set/
  $ find . -name '*.png' -print0 | smolvlm caption --files-from - -0 -o captions.jsonl
  $ smolvlm caption 'shots/**/*.jpg' --remote http://localhost:8000 --concurrency 32 -o shots.jsonl

${EXIT_CODES_HELP}
`;

export function captionCommand() {
  return withOptions(
    new Command('caption')
      .summary('caption many images into a JSON-lines file or sidecars, resumable')
      .description('Caption many images, locally or on an OpenAI-compatible server; reruns resume.')
      .argument('[inputs...]', 'image files, folders and quoted glob patterns')
      .option('-o, --output <file>', 'JSON-lines output file (resumed when it exists)')
      .option('--sidecar [ext]', `write <image stem><ext> beside each image (default ${DEFAULT_SIDECAR_EXTENSION}; .caption for kohya)`)
      .option('--errors <file>', 'JSON lines of the images that failed (emptied at each run)')
      .option('--overwrite', 'caption every image again (empties the output file, rewrites sidecars)')
      .option('--files-from <file>', 'read image paths from a file, one per line; - for stdin')
      .option('-0, --null', 'the --files-from list is NUL-separated (find -print0)')
      .option('-p, --prompt <text>', 'what to ask about each image', DESCRIBE_PROMPT)
      .addOption(new Option('--batch <n>', `images captioned together by the local model (default ${DEFAULT_CAPTION_BATCH})`).argParser(positiveInteger))
      .option('--remote <url>', 'an OpenAI-compatible server (http://host:8000) instead of a local model')
      .option('--remote-model <name>', "the model name the server knows (default: --model's repo id)", nonEmpty)
      .option('--api-key <key>', 'API key for --remote (default: $OPENAI_API_KEY)')
      .addOption(new Option('--concurrency <n>', `requests in flight with --remote (default ${DEFAULT_REMOTE_CONCURRENCY})`).argParser(positiveInteger))
      .addOption(new Option('--timeout <seconds>', `per request with --remote (default ${DEFAULT_REMOTE_TIMEOUT_MS / 1000})`).argParser(positiveNumber)),
    modelOptions,
    generationOptions,
    imageOptions,
    formatOptions,
    outputOptions({
      json: 'the summary and errors as JSON objects on stderr (records are JSON already)',
      verbose: 'stack traces on errors',
      quiet: 'no progress, summary or warnings on stderr (errors still)',
    }),
  )
    .addHelpText('after', HELP)
    .action((inputs, options) =>
      runCommand(options, async (ctx) => {
        const { captionImagesCommand } = await import('../actions.js');
        return captionImagesCommand(ctx, inputs, options);
      }),
    );
}
