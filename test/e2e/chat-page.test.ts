/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * End-to-end: the chat page of `smolvlm serve` on the tiny fixture, in headless Chromium. It loads
 * with no console errors and no request to another origin; a typed question streams the API's
 * answer for the same greedy request; a dropped image is sent and counted; Stop aborts and frees the
 * server; model text is never HTML; Export writes a transcript `smolvlm chat` loads. With
 * SMOLVLM_SCREENSHOT=<file.png> it saves a screenshot (the README's).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, ElementHandle, Page } from 'puppeteer-core';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { launchChromium, skipUnlessChromium, watchedPage, type WatchedPage } from '../helpers/browser.js';
import { binPath } from '../helpers/cli.js';
import { repoRoot } from '../helpers/shared.js';
import { client, startServe, waitForHealth, type ServeProcess } from '../helpers/serve.js';

/** What the page's `chat` export holds (ui/app.js), as far as the tests read it. */
interface PageMessage {
  role: string;
  text: string;
  stopped?: boolean;
  images?: Array<{ width: number; height: number; dataUrl: string }>;
  usage?: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details: { cached_tokens: number } };
}
interface PageChat {
  chat: { state: { messages: PageMessage[]; config: { longest_edge: number } }; transcript(): unknown };
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-chat-page-'));
let model = '';
let serve: ServeProcess;
let browser: Browser;
let watched: WatchedPage;
let page: Page;

describe('the chat page in a browser', { skip: skipUnlessChromium() }, () => {
  before(async () => {
    model = await ensureFixtureModel('tiny');
    serve = await startServe(model, ['--dtype', 'fp32']);
    browser = await launchChromium();
    watched = await watchedPage(browser);
    page = watched.page;
  });

  after(async () => {
    await browser?.close();
    if (serve) assert.equal(await serve.stop(), 0, serve.stderr());
  });

  test('loads with its security headers, no console errors and no request to another origin', async () => {
    const response = await page.goto(serve.url, { waitUntil: 'load' });
    assert.equal(response?.status(), 200);
    const headers = response!.headers();
    assert.match(headers['content-security-policy'] ?? '', /default-src 'self'/);
    assert.doesNotMatch(headers['content-security-policy'] ?? '', /unsafe-inline|unsafe-eval/);
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['access-control-allow-origin'], undefined);
    await page.waitForSelector('body[data-ready="true"]');
    assert.deepEqual(watched.errors, []);
    const origin = new URL(serve.url).origin;
    const foreign = watched.requests.filter((r) => !/^(data|blob):/.test(r.url) && new URL(r.url).origin !== origin);
    assert.deepEqual(foreign, []);
    assert.ok(watched.requests.some((r) => r.url.endsWith('/app.js')), 'the page loaded its script');
  });

  test('every control has an accessible name', async () => {
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll('button, input, textarea, select')]
        .filter((el) => !el.getAttribute('aria-label') && !(el.id && document.querySelector(`label[for="${el.id}"]`)))
        .map((el) => el.outerHTML),
    );
    assert.deepEqual(unnamed, []);
  });

  test('a typed question streams the answer the API gives to the same greedy request, with the settings set', async () => {
    const question = 'Write a haiku about autumn.';
    await setField('#temperature', '0');
    await setField('#max-tokens', '12');
    await page.type('#input', question);
    await page.keyboard.press('Enter');
    const messages = await answered(2);
    const sent = lastCompletionRequest();
    assert.equal(sent.temperature, 0);
    assert.equal(sent.max_tokens, 12);
    assert.equal(sent.stream, true);
    const api = await client(serve).chat.completions.create({ model: 'smolvlm', messages: [{ role: 'user', content: question }], max_tokens: 12, temperature: 0 });
    assert.equal(messages[0]!.text, question);
    assert.equal(messages[1]!.text, api.choices[0]!.message.content);
    assert.equal(messages[1]!.usage?.completion_tokens, api.usage?.completion_tokens);
    const usageLine = await page.$eval('.message.assistant .usage', (el) => el.textContent ?? '');
    assert.match(usageLine, /prompt \d+ tokens \(\d+ cached\) · \d+ tokens · [\d.]+ tokens\/s/);
  });

  test('Shift+Enter writes a new line instead of sending', async () => {
    await page.type('#input', 'one');
    await page.keyboard.down('Shift');
    await page.keyboard.press('Enter');
    await page.keyboard.up('Shift');
    await page.type('#input', 'two');
    assert.equal(await page.$eval('#input', (el) => (el as HTMLTextAreaElement).value), 'one\ntwo');
    assert.equal((await pageMessages()).length, 2);
    await setField('#input', '');
  });

  test('an image dropped onto the page is resized, sent and counted in the usage', async () => {
    await page.click('#new-chat');
    const bytes = readFileSync(path.join(repoRoot, 'fixtures', 'images', 'cat.jpg')).toString('base64');
    await page.evaluate(async (base64: string) => {
      const data = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([data], 'cat.jpg', { type: 'image/jpeg' }));
      document.getElementById('messages')!.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, bytes);
    await page.waitForSelector('#attachments li img');
    const question = 'What is in this image?';
    await page.type('#input', question);
    await page.keyboard.press('Enter');
    const [asked, answer] = await answered(2);
    const longestEdge = await page.evaluate(async () => ((await import(String('/app.js'))) as PageChat).chat.state.config.longest_edge);
    const image = asked!.images?.[0];
    assert.ok(image, 'the question carries the image');
    assert.ok(Math.max(image.width, image.height) <= longestEdge);
    const content = lastCompletionRequest().messages[0]!.content;
    assert.ok(Array.isArray(content) && content.some((part) => part.type === 'image_url' && part.image_url?.url.startsWith('data:image/jpeg;base64,')));
    const textOnly = await client(serve).chat.completions.create({ model: 'smolvlm', messages: [{ role: 'user', content: question }], max_tokens: 1, temperature: 0 });
    assert.ok(answer!.usage!.prompt_tokens > textOnly.usage!.prompt_tokens + 10, `image tokens counted: ${answer!.usage!.prompt_tokens} vs ${textOnly.usage!.prompt_tokens}`);
    assert.equal(await page.$$eval('#attachments li', (items) => items.length), 0, 'sent images leave the composer');
  });

  test('Export gives a transcript that smolvlm chat /load reads, image included', async () => {
    const screenshot = process.env.SMOLVLM_SCREENSHOT;
    if (screenshot) await page.$eval('#settings', (el) => ((el as HTMLDetailsElement).open = true));
    if (screenshot) await page.screenshot({ path: path.resolve(repoRoot, screenshot) as `${string}.png` });
    const transcript = await page.evaluate(async () => ((await import(String('/app.js'))) as PageChat).chat.transcript());
    const file = path.join(tmp, 'from-page.json');
    writeFileSync(file, JSON.stringify(transcript));
    const run = await chatPiped(['/load from-page.json', '/stats', ''].join('\n'));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /loaded 2 messages and 1 image from from-page\.json/);
    assert.doesNotMatch(run.stderr, /missing|could not|cannot/i);
  });

  test('model text is shown as text: <img onerror> is never an element and never runs', async () => {
    const result = await page.evaluate(async () => {
      const { renderMarkdown } = (await import(String('/markdown.js'))) as { renderMarkdown(text: string): DocumentFragment };
      const box = document.createElement('div');
      box.append(renderMarkdown('<img src=x onerror="window.__pwned = 1">\n\n**bold** and `<b>code</b>`\n\n- <script>window.__pwned = 2</script>'));
      document.body.append(box);
      await new Promise((resolve) => requestAnimationFrame(resolve));
      const out = { text: box.textContent ?? '', imgs: document.querySelectorAll('img[src="x"]').length, scripts: box.querySelectorAll('script, b').length, strong: box.querySelectorAll('strong').length, pwned: (window as { __pwned?: number }).__pwned };
      box.remove();
      return out;
    });
    assert.equal(result.imgs, 0);
    assert.equal(result.scripts, 0);
    assert.equal(result.strong, 1);
    assert.equal(result.pwned, undefined);
    assert.match(result.text, /<img src=x onerror="window.__pwned = 1">/);
    assert.match(result.text, /<script>window.__pwned = 2<\/script>/);
  });

  test('the file picker and paste attach images too, each removable before sending', async () => {
    const picker = await page.$('#file-input');
    await (picker as ElementHandle<HTMLInputElement>).uploadFile(path.join(repoRoot, 'fixtures', 'images', 'coffee.jpg'));
    await page.waitForFunction(() => document.querySelectorAll('#attachments li').length === 1);
    const bytes = readFileSync(path.join(repoRoot, 'fixtures', 'images', 'rocket.jpg')).toString('base64');
    await page.$eval('#input', (input, base64) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], 'rocket.jpg', { type: 'image/jpeg' }));
      input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }));
    }, bytes);
    await page.waitForFunction(() => document.querySelectorAll('#attachments li').length === 2);
    assert.deepEqual(await page.$$eval('#attachments img', (imgs) => imgs.map((img) => img.getAttribute('alt'))), ['coffee.jpg', 'rocket.jpg']);
    await page.click('#attachments button[aria-label="Remove coffee.jpg"]');
    assert.deepEqual(await page.$$eval('#attachments img', (imgs) => imgs.map((img) => img.getAttribute('alt'))), ['rocket.jpg']);
    await page.click('#attachments button[aria-label="Remove rocket.jpg"]');
    assert.equal(await page.$$eval('#attachments li', (items) => items.length), 0);
  });

  test('answers are rendered as Markdown: paragraphs, code blocks, inline code, bold, italic, lists', async () => {
    const html = await page.evaluate(async () => {
      const { renderMarkdown } = (await import(String('/markdown.js'))) as { renderMarkdown(text: string): DocumentFragment };
      const box = document.createElement('div');
      box.append(renderMarkdown('A **cat** and _a dog_ in snake_case_name.\n\n```js\nlet x = 1 < 2;\n```\n\n1. one `code`\n2. *two*\n\n- dash'));
      return box.innerHTML;
    });
    assert.equal(
      html,
      '<p>A <strong>cat</strong> and <em>a dog</em> in snake_case_name.</p><pre><code>let x = 1 &lt; 2;</code></pre><ol><li>one <code>code</code></li><li><em>two</em></li></ol><ul><li>dash</li></ul>',
    );
  });

  test('Stop aborts the answer and the server frees the slot', async () => {
    await page.click('#new-chat');
    await setField('#max-tokens', '100000');
    await page.type('#input', 'Tell me a very long story about a cat.');
    // Stop is clicked in the page as the first words show (a test-side click could come after a short answer's end).
    const stopped = page.evaluate(
      () =>
        new Promise<void>((resolve) => {
          const observer = new MutationObserver(() => {
            if ((document.querySelector('.message.assistant .body')?.textContent ?? '') === '') return;
            observer.disconnect();
            document.getElementById('stop')!.click();
            resolve();
          });
          observer.observe(document.getElementById('messages')!, { subtree: true, childList: true, characterData: true });
        }),
    );
    await page.keyboard.press('Enter');
    await stopped;
    await page.waitForSelector('#send:not([hidden])');
    const messages = await pageMessages();
    assert.equal(messages[1]!.stopped, true, 'the answer is marked stopped');
    const health = await waitForHealth(serve.url, (h) => h.active === 0 && h.waiting === 0);
    assert.equal(health.active, 0);
    assert.match(await page.$eval('.message.assistant .usage', (el) => el.textContent ?? ''), /stopped/);
  });

  test('usable on a phone-size screen: nothing wider than the screen', async () => {
    await page.setViewport({ width: 375, height: 700 });
    const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, screen: window.innerWidth }));
    assert.ok(widths.page <= widths.screen, `page ${widths.page}px on a ${widths.screen}px screen`);
    assert.deepEqual(watched.errors, []);
  });
});

async function setField(selector: string, value: string): Promise<void> {
  await page.$eval(selector, (el, v) => ((el as HTMLInputElement).value = v), value);
}

async function pageMessages(): Promise<PageMessage[]> {
  return page.evaluate(async () =>
    ((await import(String('/app.js'))) as PageChat).chat.state.messages.map((m) => ({ role: m.role, text: m.text, stopped: m.stopped, usage: m.usage, images: m.images?.map((i) => ({ width: i.width, height: i.height, dataUrl: '' })) })),
  );
}

/** Waits until the answer is complete (Send is back) and `count` messages are shown; returns them. */
async function answered(count: number): Promise<PageMessage[]> {
  await page.waitForFunction((n: number) => document.querySelectorAll('.message').length === n && !document.getElementById('send')!.hidden, {}, count);
  const messages = await pageMessages();
  assert.equal(messages.length, count);
  return messages;
}

interface SentRequest {
  temperature: number;
  max_tokens: number;
  stream: boolean;
  messages: Array<{ role: string; content: string | Array<{ type: string; image_url?: { url: string } }> }>;
}

function lastCompletionRequest(): SentRequest {
  const request = watched.requests.findLast((r) => r.method === 'POST' && r.url.endsWith('/v1/chat/completions'));
  assert.ok(request?.body, 'the page posted a chat completion');
  return JSON.parse(request.body) as SentRequest;
}

function chatPiped(input: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, 'chat', '--model', model, '--dtype', 'fp32', '--threads', '1'], {
      cwd: tmp,
      env: { ...process.env, HOME: tmp, XDG_STATE_HOME: path.join(tmp, 'state'), NO_COLOR: '1', SMOLVLM_MODEL: '' },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
    child.stdin.end(input);
  });
}
