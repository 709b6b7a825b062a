/** The CLI's option groups: the generation flags derive from the settings table, one row each. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Command, CommanderError, Option } from '@commander-js/extra-typings';
import { generationOptions, generationSettings, imageOptions, loadOptions, modelOptions, outputOptions, requestOptions, settingOption, videoOptions, withOptions } from '../../src/cli/options.js';
import { SETTINGS, settingSpec } from '../../src/index.js';

/** A command with the given groups that throws instead of exiting and prints nothing. */
function command(...groups: Parameters<typeof withOptions>[1][]) {
  const cmd = withOptions(new Command('test').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} }), ...groups);
  return cmd.action(() => {});
}

function parse(cmd: ReturnType<typeof command>, args: string[]): Record<string, unknown> {
  cmd.parse(args, { from: 'user' });
  return cmd.opts();
}

function parseError(cmd: ReturnType<typeof command>, args: string[]): string {
  try {
    cmd.parse(args, { from: 'user' });
  } catch (error) {
    assert.ok(error instanceof CommanderError);
    return error.message;
  }
  assert.fail(`no error for ${args.join(' ')}`);
}

describe('generation options from the settings table', () => {
  test("every row's flag parses to the row's key", () => {
    for (const spec of SETTINGS) assert.equal(new Option(spec.flag).attributeName(), spec.key, spec.flag);
  });

  test('every row has its flag, short flag and value name in a command with the groups', () => {
    const cmd = command(generationOptions, imageOptions, videoOptions());
    const flags = cmd.options.map((o) => o.flags);
    for (const spec of SETTINGS) {
      const long = spec.valueName ? `${spec.flag} ${spec.valueName}` : spec.flag;
      assert.ok(flags.includes(spec.short ? `${spec.short}, ${long}` : long), `${spec.flag} in ${flags.join(' | ')}`);
    }
    assert.ok(flags.includes('-s, --system <text>'));
    assert.ok(flags.includes('--no-split'));
  });

  test('the help says the defaults as before', () => {
    const help = (key: Parameters<typeof settingSpec>[0]) => settingOption(settingSpec(key)).description;
    assert.equal(help('temperature'), 'sampling temperature; 0 = greedy (default 0)');
    assert.equal(help('topK'), 'keep the k most likely tokens; 0 = off (default 50 when sampling)');
    assert.equal(help('topP'), 'nucleus sampling, in (0, 1] (default 1 = off)');
    assert.equal(help('repetitionPenalty'), 'penalise tokens already seen, > 0 (default 1 = off)');
    assert.equal(help('seed'), 'seed for sampling: the same seed gives the same answer');
    const maxTokens = settingOption(settingSpec('maxTokens'));
    assert.equal(maxTokens.flags, '-n, --max-tokens <n>');
    assert.equal(maxTokens.defaultValue, 512);
  });

  test('values parse through the table; repeated --stop adds up; defaults stay undefined', () => {
    const options = parse(command(generationOptions, imageOptions, videoOptions()), ['-t', '0.5', '--top-k', '3', '--stop', 'a', '--stop', 'b', '--no-split', '--image-size', '512', '--fps', '2']);
    assert.deepEqual(
      { ...generationSettings(options as Parameters<typeof generationSettings>[0]) },
      { maxTokens: 512, temperature: 0.5, topK: 3, topP: undefined, minP: undefined, repetitionPenalty: undefined, seed: undefined, stop: ['a', 'b'], split: false, imageSize: 512, fps: 2, maxFrames: undefined },
    );
  });

  test('the video group: --fps and --max-frames from the table, --fit, --frame-resize; chat leaves out --fit', () => {
    const options = parse(command(generationOptions, imageOptions, videoOptions()), ['--max-frames', '8', '--fit', '--frame-resize', 'transformers']);
    const request = requestOptions(options as Parameters<typeof requestOptions>[0]);
    assert.deepEqual(request.video, { maxFrames: 8, fit: true });
    assert.deepEqual(loadOptions(options as Parameters<typeof loadOptions>[0]), { videoResize: 'transformers' });
    assert.match(parseError(command(videoOptions()), ['--frame-resize', 'bilinear']), /--frame-resize <mode>' argument 'bilinear' is invalid\. Must be model, transformers, transformers-4\./);
    assert.match(parseError(command(videoOptions()), ['--fps', '0']), /--fps <n>' argument '0' is invalid\. Must be a number > 0 \(frames per second\)\./);
    assert.match(parseError(command(videoOptions({ fit: false })), ['--fit']), /unknown option '--fit'/);
  });

  test("a bad value is a usage error naming the flag with the table's sentence", () => {
    const cmd = () => command(generationOptions, imageOptions);
    assert.match(parseError(cmd(), ['--max-tokens', 'lots']), /option '-n, --max-tokens <n>' argument 'lots' is invalid\. Not a number\./);
    assert.match(parseError(cmd(), ['--top-p', '2']), /--top-p <p>' argument '2' is invalid\. Must be in \(0, 1\]\./);
    assert.match(parseError(cmd(), ['--seed', '1.5']), /--seed <n>' argument '1\.5' is invalid\. Not an integer\./);
    assert.match(parseError(cmd(), ['--stop', '']), /--stop <text>' argument '' is invalid\. Must not be empty\./);
    assert.match(parseError(cmd(), ['--system', ' ']), /--system <text>' argument ' ' is invalid\. Must not be empty\./);
  });
});

describe('option groups', () => {
  test('a command has only the groups it adds', () => {
    const listing = command(outputOptions({ json: 'what was removed as JSON' }));
    assert.deepEqual(parse(listing, ['--json', '--quiet']), { json: true, quiet: true, color: true });
    assert.equal(listing.options.find((o) => o.long === '--json')?.description, 'what was removed as JSON');
    assert.match(parseError(command(outputOptions()), ['--model', 'x']), /unknown option '--model'/);
  });

  test('model options: --model defaults, --threads and --dtype are checked', () => {
    const cmd = () => command(modelOptions);
    const options = parse(cmd(), ['--dtype', 'q4', '--threads', '2', '--offline']);
    assert.deepEqual({ dtype: options.dtype, threads: options.threads, offline: options.offline }, { dtype: 'q4', threads: 2, offline: true });
    assert.equal(typeof options.model, 'string');
    assert.match(parseError(cmd(), ['--threads', '0']), /--threads <n>' argument '0' is invalid\. Must be an integer >= 1\./);
    assert.match(parseError(cmd(), ['--dtype', 'fp64']), /--dtype <dtype>' argument 'fp64' is invalid\. unknown dtype "fp64"/);
  });

  test('the help lists the groups under their headings, the command\'s own options first', () => {
    const cmd = withOptions(new Command('x').option('-p, --prompt <text>', 'prompt'), modelOptions, generationOptions, imageOptions, outputOptions());
    const help = cmd.helpInformation();
    const at = (text: string) => help.indexOf(text);
    assert.ok(at('Options:') < at('--prompt') && at('--prompt') < at('Model and sampling options:'));
    assert.ok(at('Model and sampling options:') < at('--max-tokens') && at('--max-tokens') < at('Output options:'));
    assert.ok(at('Output options:') < at('--no-color'));
    assert.match(help, /-n, --max-tokens <n>\s+most tokens to generate \(default: 512\)/);
  });
});
