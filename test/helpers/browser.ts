/**
 * Headless Chromium for the chat page's tests, driven by puppeteer-core (which never downloads a
 * browser): Debian's `chromium` package (.ci/run installs it), or the one $SMOLVLM_CHROMIUM names.
 * Where none is found the tests skip, saying so.
 */
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type HTTPRequest, type Page } from 'puppeteer-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

/** The browser's executable, or undefined when none is installed. */
export function findChromium(): string | undefined {
  const named = process.env.SMOLVLM_CHROMIUM;
  if (named) return existsSync(named) ? named : undefined;
  return CANDIDATES.find((candidate) => existsSync(candidate));
}

/** The skip reason for node:test (printed, so that a skipped run is visible), or false. */
export function skipUnlessChromium(): string | false {
  if (findChromium() !== undefined) return false;
  const reason = 'skipped: no Chromium found (apt-get install chromium, or set SMOLVLM_CHROMIUM to a Chrome or Chromium executable)';
  process.stderr.write(`chat page tests ${reason}\n`);
  return reason;
}

export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: findChromium()!,
    headless: true,
    // The sandbox needs user namespaces, which containers (CI) rarely grant.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
}

/** A page that records its console errors, uncaught errors and every request (URL, method, body). */
export interface WatchedPage {
  page: Page;
  errors: string[];
  requests: Array<{ url: string; method: string; body: string | undefined }>;
}

export async function watchedPage(browser: Browser, width = 1000, height = 700): Promise<WatchedPage> {
  const page = await browser.newPage();
  await page.setViewport({ width, height });
  const watched: WatchedPage = { page, errors: [], requests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') watched.errors.push(message.text());
  });
  page.on('pageerror', (error) => watched.errors.push(error instanceof Error ? error.message : String(error)));
  await page.setRequestInterception(true);
  page.on('request', (request: HTTPRequest) => {
    watched.requests.push({ url: request.url(), method: request.method(), body: request.postData() });
    void request.continue();
  });
  return watched;
}
