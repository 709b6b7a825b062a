/**
 * The `serve` benchmark: `smolvlm serve`'s server in a child process on the bench model, driven over
 * HTTP with streaming requests. Measures (medians over --runs):
 *   (a) one text stream: decode tokens/s;
 *   (b) four concurrent text streams: aggregate decode tokens/s, and its ratio to (a);
 *   (c) a conversation about a tiled photo re-sent with one new question: time to first token of the
 *       second request vs the first (prompt caching);
 *   (d) time to first token of a text request while three others decode vs on an idle server.
 *
 *   node --import tsx scripts/bench/serve.ts [--preset 256m] [--dtype int8] [--tokens 64] [--runs 3] [--parallel 4]
 *   npm run bench -- --scenarios serve [same options]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureFixtureModel, repoRoot } from '../fixture-model/index.js';
import { ensureTestImage } from './images.js';

const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--scenarios' && a !== 'serve'),
  options: {
    preset: { type: 'string', default: '256m' },
    dtype: { type: 'string', default: 'int8' },
    tokens: { type: 'string', default: '64' },
    runs: { type: 'string', default: '3' },
    parallel: { type: 'string', default: '4' },
    'serve-child': { type: 'string' },
  },
  strict: false,
});
const log = (message: string) => process.stderr.write(`${message}\n`);

/** In the server child: load the model, make it generate every token asked for, serve, print the port. */
async function serveChild(spec: { modelDir: string; dtype: string; parallel: number }): Promise<void> {
  const { SmolVLM, startServer } = await import('../../src/index.js');
  const model = await SmolVLM.load(spec.modelDir, { dtype: spec.dtype as never });
  // As in child-ours.ts: the bench model ties <end_of_utterance> to a common token.
  (model.spec as { eosTokenIds: readonly number[] }).eosTokenIds = [];
  const server = await startServer({ model, modelName: 'bench', port: 0, parallel: spec.parallel, queue: 16 });
  process.stdout.write(`${server.address.port}\n`);
}

interface StreamTimes {
  sent: number;
  firstToken: number;
  last: number;
  tokens: number;
  cached: number;
}

/** One streaming request; times in ms (performance.now()). */
async function stream(url: string, messages: unknown[], maxTokens: number): Promise<StreamTimes> {
  const sent = performance.now();
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  let firstToken = 0;
  let last = 0;
  let tokens = 0;
  let cached = 0;
  let buffer = '';
  for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += Buffer.from(bytes).toString('utf8');
    const events = buffer.split('\n\n');
    buffer = events.pop()!;
    for (const event of events) {
      const data = event.replace(/^data: /, '');
      if (data === '[DONE]') continue;
      const chunk = JSON.parse(data) as { choices: { delta: { content?: string } }[]; usage?: { completion_tokens: number; prompt_tokens_details: { cached_tokens: number } } };
      if (chunk.choices[0]?.delta.content) {
        last = performance.now();
        firstToken ||= last;
      }
      if (chunk.usage) {
        tokens = chunk.usage.completion_tokens;
        cached = chunk.usage.prompt_tokens_details.cached_tokens;
      }
    }
  }
  return { sent, firstToken, last, tokens, cached };
}

const text = (question: string) => [{ role: 'user', content: question }];
const decodeRate = (s: StreamTimes) => ((s.tokens - 1) / (s.last - s.firstToken)) * 1000;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

type Measures = Record<'oneTokS' | 'fourTokS' | 'photoFirstMs' | 'photoSecondMs' | 'photoCached' | 'idleTtftMs' | 'busyTtftMs', number>;

async function measure(url: string, photoUrl: string, tokens: number): Promise<Measures> {
  const one = await stream(url, text('Write a short story about a lighthouse keeper.'), tokens);
  const four = await Promise.all([0, 1, 2, 3].map((i) => stream(url, text(`Write a short story number ${i} about the sea.`), tokens)));
  const aggregate = (four.reduce((n, s) => n + s.tokens - 1, 0) / (Math.max(...four.map((s) => s.last)) - Math.min(...four.map((s) => s.firstToken)))) * 1000;
  // A new photo each run (a different data URL) so that no cache from an earlier run helps the first request.
  const conversation: unknown[] = [{ role: 'user', content: [{ type: 'image_url', image_url: { url: photoUrl } }, { type: 'text', text: 'Describe this image.' }] }];
  const first = await stream(url, conversation, tokens);
  conversation.push({ role: 'assistant', content: 'A photo.' }, { role: 'user', content: 'What colours stand out?' });
  const second = await stream(url, conversation, tokens);
  const idle = await stream(url, text('What is the capital of France?'), 8);
  const others = [0, 1, 2].map((i) => stream(url, text(`Tell me a long tale number ${i}.`), tokens * 4));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const busy = await stream(url, text('What is the capital of Spain?'), 8);
  await Promise.all(others);
  return {
    oneTokS: decodeRate(one),
    fourTokS: aggregate,
    photoFirstMs: first.firstToken - first.sent,
    photoSecondMs: second.firstToken - second.sent,
    photoCached: second.cached,
    idleTtftMs: idle.firstToken - idle.sent,
    busyTtftMs: busy.firstToken - busy.sent,
  };
}

async function main(): Promise<void> {
  const runs = Number(args.runs);
  const tokens = Number(args.tokens);
  const dtype = String(args.dtype);
  const modelDir = await ensureFixtureModel(args.preset as never, {
    root: path.join(repoRoot, 'fixtures', 'generated', 'bench'),
    dtypes: [...new Set(['fp32', 'int8', 'q4', dtype])].sort() as never,
    onProgress: (m) => log(`  generating ${String(args.preset)}: ${m}`),
  });
  const imageDir = path.join(repoRoot, 'bench-results', 'images');
  const results: Measures[] = [];
  for (let run = 0; run < runs; run++) {
    const photo = await ensureTestImage(imageDir, `photo_1024x768_${run}.jpg`, 1024, 768, 10 + run);
    const photoUrl = `data:image/jpeg;base64,${readFileSync(photo).toString('base64')}`;
    const { child, url } = await startChild({ modelDir, dtype, parallel: Number(args.parallel) });
    try {
      const result = await measure(url, photoUrl, tokens);
      log(`run ${run + 1}: ${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v))}`);
      results.push(result);
    } finally {
      child.kill();
    }
  }
  const m = (key: keyof Measures) => median(results.map((r) => r[key]));
  const rows = [
    ['(a) one text stream, decode tokens/s', m('oneTokS').toFixed(1), ''],
    ['(b) four concurrent streams, aggregate decode tokens/s', m('fourTokS').toFixed(1), `${(m('fourTokS') / m('oneTokS')).toFixed(2)}x (a); target >= 2.5x`],
    ['(c) photo conversation: first request, time to first token (ms)', m('photoFirstMs').toFixed(0), ''],
    ['(c) the conversation re-sent plus a question, time to first token (ms)', m('photoSecondMs').toFixed(0), `${(m('photoSecondMs') / m('photoFirstMs')).toFixed(3)}x the first, ${m('photoCached')} tokens cached; target <= 0.1x`],
    ['(d) text request on an idle server, time to first token (ms)', m('idleTtftMs').toFixed(0), ''],
    ['(d) the same while three others decode (ms)', m('busyTtftMs').toFixed(0), `${(m('busyTtftMs') / m('idleTtftMs')).toFixed(2)}x idle; target <= 2x`],
  ];
  const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`;
  console.log(`\nserve: ${String(args.preset)} preset ${dtype}, ${tokens} new tokens, --parallel ${String(args.parallel)}, ${runs} run(s), medians. ${machine}.\n`);
  console.log(`| Measure | Value | |\n| --- | --- | --- |\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}`);
}

/** Starts the server child and waits for its port. */
function startChild(spec: { modelDir: string; dtype: string; parallel: number }): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'scripts', 'bench', 'serve.ts'), '--serve-child', JSON.stringify(spec)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const port = /^(\d+)\n/.exec(out)?.[1];
      if (port) resolve({ child, url: `http://127.0.0.1:${port}` });
    });
    child.on('exit', (code) => reject(new Error(`the server child exited (${code})`)));
  });
}

if (typeof args['serve-child'] === 'string') await serveChild(JSON.parse(args['serve-child']) as { modelDir: string; dtype: string; parallel: number });
else await main();
