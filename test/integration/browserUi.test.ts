/**
 * The playground (/) and the API reference (/docs) in a real browser: Debian's chromium driven by
 * playwright-core (never a downloaded browser), against the real server on 127.0.0.1. The page
 * must rank like POST /rerank does, show the decided spec, and /docs must run a request from its
 * "Execute" button. Every request the pages make must stay on the server (no CDN).
 * Chromium missing: skipped here, a failure under .ci/run (REQUIRE_BROWSER=1), which installs it.
 * SAVE_SCREENSHOTS=1 writes docs/screenshots/{playground,docs}.png (shown in the README).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ensureModel } from '../helpers/models';
import { ROOT } from '../helpers/paths';
import { postJson, startServer, type TestServer } from '../helpers/server';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const QUERY = 'What is the capital of France?';
const DOCS = ['Photosynthesis converts light energy into chemical energy.', 'Paris is the capital and largest city of France.', 'The capital of Italy is Rome.'];
const present = fs.existsSync(CHROMIUM);
const required = process.env.REQUIRE_BROWSER === '1';
const screenshotDir = process.env.SAVE_SCREENSHOTS === '1' ? path.join(ROOT, 'docs', 'screenshots') : undefined;

describe('UI in a real browser (Debian chromium)', { skip: !present && !required ? `${CHROMIUM} is missing (apt-get install chromium)` : false }, () => {
  let s: TestServer;
  let context: BrowserContext;
  let profile: string;
  const offServer: string[] = [];

  before(async () => {
    assert.ok(present, `${CHROMIUM} is missing: .ci/run installs Debian's chromium package`);
    const dir = await ensureModel({ preset: 'demo' });
    s = await startServer({ env: { DEMO_MODEL_DIR: dir } });
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-profile-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1200, height: 900 } });
    // Anything not addressed to the server is recorded and refused: the pages must work offline.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(s.url + '/')) return route.continue();
      offServer.push(url);
      return route.abort();
    });
  });
  after(async () => {
    await context?.close();
    await s?.stop();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  it('playground: types a query and three documents, presses Rank, shows the ranking /rerank gives', async () => {
    const page = await context.newPage();
    const errors = collectErrors(page);
    await page.goto(`${s.url}/`);
    await page.getByLabel('Query').fill(QUERY);
    await page.getByLabel('Documents, one per line').fill(DOCS.join('\n'));
    await page.getByRole('button', { name: 'Rank' }).click();
    await page.locator('#results li').nth(DOCS.length - 1).waitFor();
    const shown = await page.locator('#results li').evaluateAll((lis) => lis.map((li) => ({ index: Number(li.getAttribute('data-index')), text: li.querySelector('.doc')!.textContent })));

    const direct = await postJson(`${s.url}/rerank`, { query: QUERY, texts: DOCS });
    assert.equal(direct.status, 200);
    const expected = (direct.json as Array<{ index: number }>).map((r) => r.index);
    assert.deepEqual(shown.map((r) => r.index), expected, 'the order on the page is the order /rerank gives');
    assert.equal(shown[0]!.text, DOCS[1], 'the Paris document is shown first');
    assert.deepEqual(shown.map((r) => r.text), expected.map((i) => DOCS[i]));
    assert.match(await page.locator('#status').innerText(), /Ranked 3 documents in [\d.]+ ms/);
    await page.locator('#spec[data-loaded="true"]').waitFor();
    const spec = await page.locator('#spec').innerText();
    assert.match(spec, /task\s+reranker/);
    assert.match(spec, /embedded demo model/);
    if (screenshotDir) await page.screenshot({ path: path.join(screenshotDir, 'playground.png'), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('/docs: renders /openapi.json with Swagger UI from node_modules and runs POST /rerank from its Execute button', async () => {
    const page = await context.newPage();
    const errors = collectErrors(page);
    await page.goto(`${s.url}/docs`);
    const op = page.locator('#operations-default-post_rerank');
    await op.locator('.opblock-summary').first().click();
    const answered = page.waitForResponse((r) => r.url() === `${s.url}/rerank` && r.request().method() === 'POST');
    await op.getByRole('button', { name: 'Execute' }).click();
    const response = await answered;
    assert.equal(response.status(), 200);
    const body = (await response.json()) as Array<{ index: number; score: number; text?: string }>;
    assert.equal(body[0]!.text, 'Paris is the capital and largest city of France.', 'the example request ran as documented');
    const status = op.locator('.live-responses-table tbody .response-col_status').first();
    await status.waitFor();
    assert.match(await status.innerText(), /200/);
    if (screenshotDir) {
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: path.join(screenshotDir, 'docs.png') });
      await op.screenshot({ path: path.join(screenshotDir, 'docs-execute.png') });
    }
    assert.deepEqual(errors, []);
    assert.deepEqual(offServer, [], 'no request left the server');
    await page.close();
  });
});

describe('playground with API_KEY (Debian chromium)', { skip: !present && !required ? `${CHROMIUM} is missing (apt-get install chromium)` : false }, () => {
  let s: TestServer;
  let context: BrowserContext;
  let profile: string;
  before(async () => {
    assert.ok(present, `${CHROMIUM} is missing: .ci/run installs Debian's chromium package`);
    s = await startServer({ env: { DEMO_MODEL_DIR: await ensureModel({ preset: 'demo' }), API_KEY: 'ui-test-key' } });
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-profile-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
  });
  after(async () => {
    await context?.close();
    await s?.stop();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  it('says the key is needed, then ranks with the key typed under Options', async () => {
    const page = await context.newPage();
    await page.goto(`${s.url}/`);
    await page.getByRole('button', { name: 'Rank' }).click();
    await page.locator('#status.error').waitFor();
    assert.match(await page.locator('#status').innerText(), /Error 401 Unauthorized/);
    await page.locator('summary', { hasText: 'Options' }).click();
    await page.getByLabel('API key (only when the server sets API_KEY)').fill('ui-test-key');
    await page.getByRole('button', { name: 'Rank' }).click();
    await page.locator('#results li').first().waitFor();
    assert.match(await page.locator('#status').innerText(), /Ranked 3 documents/);
    await page.locator('#spec[data-loaded="true"]').waitFor();
    await page.close();
  });
});

function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return errors;
}
