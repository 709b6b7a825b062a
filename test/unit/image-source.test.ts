import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { SmolVLMError, type ErrorCode } from '../../src/core/errors.js';
import { extractImageReferences, looksLikeImageReference } from '../../src/cli/repl/image-references.js';
import {
  assertSingleStdinSource,
  defaultUserAgent,
  readImageSource,
  sniffImageFormat,
  type ImageFormat,
} from '../../src/core/image/source.js';

/** Asserts that the promise rejects with SmolVLMError(code) whose one-line message matches. */
async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<SmolVLMError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SmolVLMError, `expected SmolVLMError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.ok(!error.message.includes('\n'), `message is one line: ${error.message}`);
    if (message) assert.match(error.message, message);
    return error;
  }
  assert.fail(`expected a ${code} rejection`);
}

const tiny = sharp({ create: { width: 4, height: 3, channels: 3, background: { r: 200, g: 30, b: 90 } } });
let png: Buffer;
let tmp: string;
let home: string;

// ---------------------------------------------------------------------------------------------
// Local HTTP server

let server: http.Server;
let base: string;
const seenUserAgents: string[] = [];
let hugeBytesSent = 0;

function startServer(): Promise<void> {
  server = http.createServer((req, res) => {
    seenUserAgents.push(req.headers['user-agent'] ?? '');
    switch (req.url) {
      case '/cat.png':
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
        res.end(png);
        return;
      case '/mislabelled.png': // a PNG served as text/plain: the bytes win
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(png);
        return;
      case '/missing.png':
        res.writeHead(404, { 'content-type': 'text/html' });
        res.end('<html><body>Not here</body></html>');
        return;
      case '/broken':
        res.writeHead(503);
        res.end();
        return;
      case '/slow': // never answers
        return;
      case '/slow-body': // headers, half a PNG, then nothing
        res.writeHead(200, { 'content-type': 'image/png' });
        res.write(png.subarray(0, 10));
        return;
      case '/huge': {
        // Endless chunked stream: only a client that enforces the cap while streaming gets an answer
        // (otherwise it waits for the timeout and the test sees NETWORK instead of IMAGE_TOO_LARGE).
        res.writeHead(200, { 'content-type': 'image/png' });
        const chunk = Buffer.alloc(16 * 1024, 0x41);
        res.write(png.subarray(0, 16));
        const pump = (): void => {
          while (!res.destroyed && hugeBytesSent < 64 * 1024 * 1024) {
            hugeBytesSent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
        };
        pump();
        return;
      }
      case '/declared-huge':
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(10 * 1024 * 1024) });
        res.write(png);
        return;
      case '/error.html': // an HTML error page served as 200 image/jpeg
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        res.end('<!DOCTYPE html>\n<html><head><title>Access denied</title></head><body>Denied</body></html>');
        return;
      case '/empty':
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': '0' });
        res.end();
        return;
      case '/redirect':
        res.writeHead(302, { location: '/cat.png' });
        res.end();
        return;
      case '/redirect-404':
        res.writeHead(301, { location: `${base}/missing.png` });
        res.end();
        return;
      case '/loop':
        res.writeHead(302, { location: '/loop' });
        res.end();
        return;
      case '/to-file':
        res.writeHead(302, { location: 'file:///etc/passwd' });
        res.end();
        return;
      default:
        res.writeHead(500);
        res.end();
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve();
    });
  });
}

before(async () => {
  png = await tiny.clone().png().toBuffer();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'smolvlm-image-source-'));
  home = path.join(tmp, 'home');
  await mkdir(path.join(home, 'Pictures'), { recursive: true });
  await mkdir(path.join(tmp, 'My Photos'), { recursive: true });
  await mkdir(path.join(tmp, 'folder.png'));
  await writeFile(path.join(tmp, 'cat.png'), png);
  await writeFile(path.join(tmp, 'My Photos', 'cat 1.png'), png);
  await writeFile(path.join(tmp, "it's.png"), png);
  await writeFile(path.join(home, 'Pictures', 'dog.png'), png);
  await writeFile(path.join(tmp, 'empty.png'), '');
  await writeFile(path.join(tmp, 'notes.png'), 'just some notes, not an image\n');
  await writeFile(path.join(tmp, 'page.jpg'), '<!doctype html><html><body>oops</body></html>');
  await startServer();
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------

describe('sniffImageFormat', () => {
  test('recognises the formats sharp writes, whatever they are called', async () => {
    const cases: Array<[ImageFormat, Promise<Buffer>]> = [
      ['png', tiny.clone().png().toBuffer()],
      ['jpeg', tiny.clone().jpeg().toBuffer()],
      ['webp', tiny.clone().webp().toBuffer()],
      ['gif', tiny.clone().gif().toBuffer()],
      ['tiff', tiny.clone().tiff().toBuffer()],
      ['avif', tiny.clone().avif({ effort: 0 }).toBuffer()],
    ];
    for (const [format, bytes] of cases) assert.equal(sniffImageFormat(await bytes), format);
  });

  test('BMP, HEIC, big-endian TIFF', () => {
    const bmp = new Uint8Array(54);
    bmp.set([0x42, 0x4d]);
    bmp[14] = 40; // BITMAPINFOHEADER
    assert.equal(sniffImageFormat(bmp), 'bmp');
    const heic = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic\0\0\0\0mif1heic')]);
    assert.equal(sniffImageFormat(heic), 'heif');
    const avifCompat = Buffer.concat([Buffer.from([0, 0, 0, 28]), Buffer.from('ftypmif1\0\0\0\0mif1avifmiaf')]);
    assert.equal(sniffImageFormat(avifCompat), 'avif');
    assert.equal(sniffImageFormat(Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8])), 'tiff');
  });

  test('refuses non-images', () => {
    assert.equal(sniffImageFormat(new Uint8Array()), undefined);
    assert.equal(sniffImageFormat(Buffer.from('<!DOCTYPE html><html></html>')), undefined);
    assert.equal(sniffImageFormat(Buffer.from('BM but just text, nothing else')), undefined);
    const mp4 = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypisom\0\0\0\0isommp42')]);
    assert.equal(sniffImageFormat(mp4), undefined);
    assert.equal(sniffImageFormat(Buffer.from('%PDF-1.7\n')), undefined);
  });
});

describe('readImageSource: files', () => {
  test('absolute path', async () => {
    const file = path.join(tmp, 'cat.png');
    const loaded = await readImageSource(file);
    assert.deepEqual(Buffer.from(loaded.bytes), png);
    assert.equal(loaded.format, 'png');
    assert.equal(loaded.source, 'file');
    assert.equal(loaded.label, file);
  });

  test('relative path against cwd; the label is the path as given', async () => {
    const loaded = await readImageSource('My Photos/cat 1.png', { cwd: tmp });
    assert.equal(loaded.label, 'My Photos/cat 1.png');
    assert.equal(loaded.format, 'png');
    await readImageSource('./cat.png', { cwd: tmp });
  });

  test('~ and ~/ expand to the home dir', async () => {
    const loaded = await readImageSource('~/Pictures/dog.png', { homeDir: home });
    assert.equal(loaded.format, 'png');
    assert.equal(loaded.label, '~/Pictures/dog.png');
    await rejectsWith(readImageSource('~', { homeDir: home }), 'IMAGE_NOT_FOUND', /directory/);
  });

  test('file:// URL with percent-encoding (drag and drop)', async () => {
    const url = pathToFileURL(path.join(tmp, 'My Photos', 'cat 1.png')).href;
    assert.match(url, /%20/);
    const loaded = await readImageSource(url);
    assert.equal(loaded.format, 'png');
    assert.equal(loaded.source, 'file');
    assert.equal(loaded.label, url);
    await rejectsWith(readImageSource('file://elsewhere/x.png'), 'USAGE', /remote host/);
  });

  test('missing file, directory', async () => {
    await rejectsWith(readImageSource('nope.png', { cwd: tmp }), 'IMAGE_NOT_FOUND', /image not found: nope\.png \(.*nope\.png\)/);
    await rejectsWith(readImageSource(path.join(tmp, 'cat.png', 'x.png')), 'IMAGE_NOT_FOUND', /not found/);
    await rejectsWith(readImageSource('folder.png', { cwd: tmp }), 'IMAGE_NOT_FOUND', /folder\.png .*is a directory/);
  });

  test('empty file, text, HTML saved as .jpg', async () => {
    await rejectsWith(readImageSource('empty.png', { cwd: tmp }), 'IMAGE_INVALID', /empty\.png is empty/);
    await rejectsWith(readImageSource('notes.png', { cwd: tmp }), 'IMAGE_INVALID', /notes\.png is not a supported image \(it is text/);
    await rejectsWith(readImageSource('page.jpg', { cwd: tmp }), 'IMAGE_INVALID', /page\.jpg .*HTML page/);
  });

  test('byte cap', async () => {
    await rejectsWith(readImageSource('cat.png', { cwd: tmp, maxBytes: 10 }), 'IMAGE_TOO_LARGE', /cat\.png is \d+ bytes, over the 10 bytes limit/);
  });

  test('abort', async () => {
    await rejectsWith(readImageSource('cat.png', { cwd: tmp, signal: AbortSignal.abort() }), 'ABORTED', /cat\.png/);
  });

  test('unsupported scheme, empty argument, bad options', async () => {
    await rejectsWith(readImageSource('ftp://127.0.0.1/cat.png'), 'USAGE', /unsupported URL scheme "ftp:"/);
    await rejectsWith(readImageSource(''), 'USAGE', /empty image argument/);
    await rejectsWith(readImageSource('cat.png', { cwd: tmp, maxBytes: 0 }), 'USAGE', /maxBytes/);
  });
});

describe('readImageSource: bytes and data: URIs', () => {
  test('Uint8Array passes through, sniffed', async () => {
    const loaded = await readImageSource(new Uint8Array(png));
    assert.equal(loaded.format, 'png');
    assert.equal(loaded.source, 'bytes');
    await rejectsWith(readImageSource(Buffer.from('hello')), 'IMAGE_INVALID', /image bytes/);
  });

  test('base64', async () => {
    const loaded = await readImageSource(`data:image/png;base64,${png.toString('base64')}`);
    assert.deepEqual(Buffer.from(loaded.bytes), png);
    assert.equal(loaded.label, 'data: URI');
    assert.equal(loaded.source, 'data');
    // wrapped over lines, URL-safe alphabet, no media type
    const wrapped = png.toString('base64url').replace(/(.{20})/g, '$1\n');
    assert.deepEqual(Buffer.from((await readImageSource(`data:;base64,${wrapped}`)).bytes), png);
  });

  test('percent-encoded', async () => {
    const encoded = [...png].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    const loaded = await readImageSource(`data:image/png,${encoded}`);
    assert.deepEqual(Buffer.from(loaded.bytes), png);
  });

  test('malformed, not an image, over the cap', async () => {
    await rejectsWith(readImageSource('data:image/png;base64'), 'IMAGE_INVALID', /malformed data: URI/);
    await rejectsWith(readImageSource('data:image/png;base64,@@@@'), 'IMAGE_INVALID', /not valid base64/);
    await rejectsWith(readImageSource('data:text/html,%3Chtml%3E%3Cbody%3Ehi'), 'IMAGE_INVALID', /data: URI .*HTML page/);
    await rejectsWith(readImageSource('data:image/png;base64,', {}), 'IMAGE_INVALID', /data: URI is empty/);
    await rejectsWith(
      readImageSource(`data:image/png;base64,${png.toString('base64')}`, { maxBytes: 16 }),
      'IMAGE_TOO_LARGE',
      /data: URI/,
    );
  });
});

describe('readImageSource: stdin', () => {
  test('reads "-" from the injected stream, in chunks', async () => {
    const stdin = Readable.from([png.subarray(0, 5), png.subarray(5)]);
    const loaded = await readImageSource('-', { stdin });
    assert.deepEqual(Buffer.from(loaded.bytes), png);
    assert.equal(loaded.label, 'stdin');
    assert.equal(loaded.source, 'stdin');
  });

  test('empty stdin, TTY stdin, over the cap, not an image', async () => {
    await rejectsWith(readImageSource('-', { stdin: Readable.from([]) }), 'IMAGE_INVALID', /stdin is empty/);
    const tty = Object.assign(Readable.from([png]), { isTTY: true });
    await rejectsWith(readImageSource('-', { stdin: tty }), 'USAGE', /stdin is a terminal/);
    await rejectsWith(readImageSource('-', { stdin: Readable.from([png]), maxBytes: 8 }), 'IMAGE_TOO_LARGE', /stdin/);
    await rejectsWith(readImageSource('-', { stdin: Readable.from(['hello\n']) }), 'IMAGE_INVALID', /stdin is not a supported image/);
  });

  test('abort while waiting', async () => {
    const stdin = new Readable({ read() {} }); // never ends
    const controller = new AbortController();
    const pending = readImageSource('-', { stdin, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await rejectsWith(pending, 'ABORTED', /stdin/);
  });

  test('only one "-" per request', () => {
    assertSingleStdinSource(['-', 'a.png', 'https://x/y.png']);
    assert.throws(
      () => assertSingleStdinSource(['-', 'a.png', '-']),
      (error: unknown) => error instanceof SmolVLMError && error.code === 'USAGE' && /only once.*2 times/.test(error.message),
    );
  });
});

describe('readImageSource: http(s)', () => {
  test('downloads a PNG with the smolvlm User-Agent', async () => {
    seenUserAgents.length = 0;
    const loaded = await readImageSource(`${base}/cat.png`);
    assert.deepEqual(Buffer.from(loaded.bytes), png);
    assert.equal(loaded.source, 'url');
    assert.equal(loaded.label, `${base}/cat.png`);
    assert.match(seenUserAgents[0]!, /^smolvlm\/\d+\.\d+\.\d+/);
    assert.equal(seenUserAgents[0], await defaultUserAgent());
  });

  test('the bytes decide, not the Content-Type', async () => {
    assert.equal((await readImageSource(`${base}/mislabelled.png`)).format, 'png');
    await rejectsWith(
      readImageSource(`${base}/error.html`),
      'IMAGE_INVALID',
      /error\.html is not a supported image \(it is an HTML page, served as image\/jpeg/,
    );
    await rejectsWith(readImageSource(`${base}/empty`), 'IMAGE_INVALID', /empty/);
  });

  test('HTTP errors name the URL and status', async () => {
    await rejectsWith(readImageSource(`${base}/missing.png`), 'NETWORK', new RegExp(`could not download ${base}/missing\\.png: HTTP 404 Not Found$`));
    await rejectsWith(readImageSource(`${base}/broken`), 'NETWORK', /HTTP 503 Service Unavailable/);
  });

  test('redirects are followed, bounded, and only to http(s)', async () => {
    assert.equal((await readImageSource(`${base}/redirect`)).format, 'png');
    await rejectsWith(readImageSource(`${base}/redirect-404`), 'NETWORK', /redirect-404: HTTP 404 Not Found \(redirected to .*missing\.png\)/);
    await rejectsWith(readImageSource(`${base}/loop`), 'NETWORK', /too many redirects/);
    await rejectsWith(readImageSource(`${base}/to-file`), 'NETWORK', /file: URL/);
  });

  test('timeout while waiting for headers and while reading the body', async () => {
    await rejectsWith(readImageSource(`${base}/slow`, { timeoutMs: 100 }), 'NETWORK', /\/slow: timed out after 100 ms/);
    await rejectsWith(readImageSource(`${base}/slow-body`, { timeoutMs: 150 }), 'NETWORK', /slow-body: timed out/);
  });

  test('size cap enforced mid-stream (no Content-Length) and from Content-Length', async () => {
    hugeBytesSent = 0;
    await rejectsWith(readImageSource(`${base}/huge`, { maxBytes: 256 * 1024, timeoutMs: 10_000 }), 'IMAGE_TOO_LARGE', /huge is larger than the 256 KiB limit/);
    assert.ok(hugeBytesSent < 64 * 1024 * 1024, 'the download stopped early');
    await rejectsWith(readImageSource(`${base}/declared-huge`, { maxBytes: 1024 * 1024 }), 'IMAGE_TOO_LARGE', /is 10 MiB, over the 1 MiB limit/);
  });

  test('abort is ABORTED, not NETWORK', async () => {
    const controller = new AbortController();
    const pending = readImageSource(`${base}/slow`, { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    await rejectsWith(pending, 'ABORTED', /\/slow/);
  });

  test('connection refused and DNS failures are NETWORK errors naming the URL', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await rejectsWith(readImageSource(`http://127.0.0.1:${port}/x.png`), 'NETWORK', /could not download http:\/\/127\.0\.0\.1:\d+\/x\.png: connection refused/);
    // No real DNS lookup: an injected fetch fails the way undici does.
    const dnsFailure = (async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND no.such.host'), { code: 'ENOTFOUND' }) });
    }) as typeof fetch;
    await rejectsWith(readImageSource('https://no.such.host/cat.png', { fetch: dnsFailure }), 'NETWORK', /no\.such\.host\/cat\.png: host not found/);
  });

  test('a port fetch refuses is explained, with the URL (not a bare "bad port")', async () => {
    // undici refuses the Fetch standard's "bad ports" before connecting: nothing is sent anywhere
    await rejectsWith(
      readImageSource('http://127.0.0.1:1/x.png'),
      'NETWORK',
      /^could not download http:\/\/127\.0\.0\.1:1\/x\.png: fetch refuses port 1 \(reserved for another protocol; use another port\)$/,
    );
  });

  test('custom fetch and User-Agent; passwords are hidden', async () => {
    let seen: string | null = null;
    const fake = (async (_input: unknown, init?: RequestInit) => {
      seen = new Headers(init?.headers).get('user-agent');
      return new Response(new Uint8Array(png), { status: 200 });
    }) as typeof fetch;
    const loaded = await readImageSource('https://user:secret@example.test/a.png', { fetch: fake, userAgent: 'tester/1' });
    assert.equal(seen, 'tester/1');
    assert.ok(!loaded.label.includes('secret'));
  });
});

describe('REPL image references', () => {
  test('looksLikeImageReference', async () => {
    const cat = path.join(tmp, 'cat.png');
    const spaced = path.join(tmp, 'My Photos', 'cat 1.png');
    assert.equal(await looksLikeImageReference('cat.png', tmp), cat);
    assert.equal(await looksLikeImageReference(`'${spaced}' `, tmp), spaced);
    assert.equal(await looksLikeImageReference(`"${spaced}"`, tmp), spaced);
    assert.equal(await looksLikeImageReference('My\\ Photos/cat\\ 1.png', tmp), spaced);
    assert.equal(await looksLikeImageReference(pathToFileURL(spaced).href, tmp), spaced);
    assert.equal(await looksLikeImageReference('~/Pictures/dog.png', tmp, { homeDir: home }), path.join(home, 'Pictures', 'dog.png'));
    assert.equal(await looksLikeImageReference('nope.png', tmp), undefined);
    assert.equal(await looksLikeImageReference('folder.png', tmp), undefined); // a directory
    assert.equal(await looksLikeImageReference('notes', tmp), undefined);
  });

  test('extractImageReferences: quoted, escaped, ~, file://, missing', async () => {
    const spaced = path.join(tmp, 'My Photos', 'cat 1.png');
    const line = `compare '${spaced}' with My\\ Photos/cat\\ 1.png, ~/Pictures/dog.png and ${pathToFileURL(spaced).href} but not "lost cat.png"`;
    const result = await extractImageReferences(line, tmp, { homeDir: home });
    assert.deepEqual(result.images, [spaced, spaced, path.join(home, 'Pictures', 'dog.png'), spaced]);
    assert.deepEqual(result.missing, ['lost cat.png']);
    assert.equal(result.text, 'compare with, and but not "lost cat.png"');
  });

  test('extractImageReferences: prose stays intact', async () => {
    const result = await extractImageReferences(`What's in cat.png? It's from ~/Pictures/dog.png's folder`, tmp, { homeDir: home });
    assert.deepEqual(result.images, [path.join(tmp, 'cat.png')]);
    assert.equal(result.text, `What's in? It's from ~/Pictures/dog.png's folder`);
    assert.deepEqual(result.missing, []);

    const plain = await extractImageReferences('  convert .png to jpeg, see https://example.com/a.png  ', tmp);
    assert.deepEqual(plain, { text: 'convert .png to jpeg, see https://example.com/a.png', images: [], missing: [] });

    const missing = await extractImageReferences('describe (holiday.jpg) and ~/gone.webp.', tmp, { homeDir: home });
    assert.deepEqual(missing.images, []);
    assert.deepEqual(missing.missing, ['holiday.jpg', '~/gone.webp']);
    assert.equal(missing.text, 'describe (holiday.jpg) and ~/gone.webp.');
  });

  test("extractImageReferences: GNOME quoting of a name with an apostrophe, and a bare name with one", async () => {
    const apostrophe = path.join(tmp, "it's.png");
    const quoted = await extractImageReferences(`'${tmp}/it'\\''s.png' what is it?`, tmp);
    assert.deepEqual(quoted.images, [apostrophe]);
    assert.equal(quoted.text, 'what is it?');
    const bare = await extractImageReferences(`look at it's.png`, tmp);
    assert.deepEqual(bare.images, [apostrophe]);
    assert.equal(bare.text, 'look at');
  });
});
