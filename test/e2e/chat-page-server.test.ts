/// <reference lib="dom" />
/**
 * The chat page's serving: its files and nothing else under /, --no-ui, and the page with an API
 * key (it asks once, keeps the key in the tab's session storage, and its requests carry it).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CHAT_PAGE_DIR, staticFile } from '../../src/core/server/chat-page.js';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { launchChromium, skipUnlessChromium, watchedPage } from '../helpers/browser.js';
import { startServe, type ServeProcess } from '../helpers/serve.js';

let model = '';
before(async () => {
  model = await ensureFixtureModel('tiny');
});

describe('the page files', () => {
  test('only plain names directly in ui/ are served; / is index.html', () => {
    assert.equal(staticFile(CHAT_PAGE_DIR, '/'), path.join(CHAT_PAGE_DIR, 'index.html'));
    assert.equal(staticFile(CHAT_PAGE_DIR, '/app.js'), path.join(CHAT_PAGE_DIR, 'app.js'));
    for (const bad of ['/../package.json', '/..', '/.env', '/a/b.js', '/%2e%2e/x', '/x\\..\\y']) assert.equal(staticFile(CHAT_PAGE_DIR, bad), undefined, bad);
  });

  test('the server answers page files with the CSP, a 404 for others, and /ui/config without the key', async () => {
    const serve = await startServe(model, ['--api-key', 'secret']);
    try {
      const page = await fetch(`${serve.url}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(page.headers.get('content-security-policy') ?? '', /^default-src 'self';/);
      assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(page.headers.get('access-control-allow-origin'), null);
      assert.match(await page.text(), /<script type="module" src="\/app.js"><\/script>/);
      assert.equal((await fetch(`${serve.url}/app.js`)).headers.get('content-type'), 'text/javascript; charset=utf-8');
      assert.equal((await fetch(`${serve.url}/nothing.js`)).status, 404);
      assert.equal((await fetch(`${serve.url}/%2e%2e/package.json`)).status, 404);
      const config = (await (await fetch(`${serve.url}/ui/config`)).json()) as Record<string, unknown>;
      assert.equal(config.api_key_required, true);
      assert.equal(config.response_format, false);
      assert.ok(typeof config.longest_edge === 'number' && config.longest_edge > 0);
      assert.equal((await fetch(`${serve.url}/v1/models`)).status, 401, 'the API still needs the key');
    } finally {
      assert.equal(await serve.stop(), 0);
    }
  });

  test('--no-ui serves no page', async () => {
    const serve = await startServe(model, ['--no-ui']);
    try {
      assert.equal((await fetch(`${serve.url}/`)).status, 404);
      assert.equal((await fetch(`${serve.url}/ui/config`)).status, 404);
      assert.equal((await fetch(`${serve.url}/health`)).status, 200);
    } finally {
      assert.equal(await serve.stop(), 0);
    }
  });
});

describe('the page with an API key', { skip: skipUnlessChromium() }, () => {
  let serve: ServeProcess;
  after(async () => {
    if (serve) assert.equal(await serve.stop(), 0, serve.stderr());
  });

  test('asks for the key once, keeps it in session storage, and its requests carry it', async () => {
    serve = await startServe(model, ['--api-key', 'secret', '--dtype', 'fp32']);
    const browser = await launchChromium();
    try {
      const { page, errors, requests } = await watchedPage(browser, 375, 700);
      await page.goto(serve.url);
      await page.waitForSelector('#key-dialog[open]');
      await page.type('#key-input', 'secret');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#key-dialog:not([open])');
      assert.equal(await page.evaluate(() => sessionStorage.getItem('smolvlm-api-key')), 'secret');
      await page.$eval('#max-tokens', (el) => ((el as HTMLInputElement).value = '4'));
      await page.type('#input', 'Hello');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.querySelectorAll('.message').length === 2 && !document.getElementById('send')!.hidden);
      assert.equal(await page.$eval('#error', (el) => (el as HTMLElement).hidden), true);
      assert.match(await page.$eval('.message.assistant .usage', (el) => el.textContent ?? ''), /prompt \d+ tokens/);
      assert.ok(requests.some((r) => r.url.endsWith('/v1/chat/completions')));
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]');
      assert.equal(await page.$('#key-dialog[open]'), null, 'the key is asked for once per tab');
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
});
