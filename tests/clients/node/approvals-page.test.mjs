// The approver's page on the admin listener, end to end in headless Chromium (Debian's
// `chromium`, driven by playwright-core): a push the TypeScript SDK asked for is held, shows up
// on the page, is approved with a click, and the SDK receives the original tool_use.
//
// Run by the Rust test `clients::typescript_sdk`; scripts/test installs Chromium if it is missing.
// The page's screenshot is left in target/artifacts/approvals-page.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { chromium } from 'playwright-core';

const { WARDEN_URL, WARDEN_PLATFORM_KEY, WARDEN_ADMIN_URL, WARDEN_ADMIN_KEY } = process.env;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '../../../target/artifacts');

test('an approver approves a held push on the admin page', async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/test installs Debian's chromium`);
  // A right-to-left override would show the approver `…page-test # exe.txt` reordered: the
  // page must show the code point instead of obeying it.
  const visiblePart = 'git push origin feature/page-test';
  const command = `${visiblePart} # \u202Etxt.exe`;
  const client = new Anthropic({ baseURL: WARDEN_URL, apiKey: WARDEN_PLATFORM_KEY, maxRetries: 0 });
  const reply = client.messages.create(
    {
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      tools: [{ name: 'Bash', input_schema: { type: 'object' } }],
      messages: [{ role: 'user', content: 'Push the feature branch.' }],
    },
    {
      headers: {
        'x-mock-scenario': 'tool_use',
        // Header values are Latin-1: non-ASCII goes as JSON escapes.
        'x-mock-tool': JSON.stringify({ name: 'Bash', input: { command } }).replace(
          /[\u007f-\uffff]/g,
          (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
        ),
      },
    },
  );

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage();
    const served = await page.goto(`${WARDEN_ADMIN_URL}/admin/`);
    const headers = served.headers();
    assert.match(headers['content-security-policy'] ?? '', /default-src 'none'.*frame-ancestors 'none'/);
    assert.equal(headers['x-frame-options'], 'DENY');
    assert.equal(headers['cache-control'], 'no-store');
    // The page runs under its own CSP (its script is allowed by hash): a violation would stop it.
    const violations = [];
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
    await page.fill('#key', WARDEN_ADMIN_KEY);
    await page.click('button[type=submit]');
    // The held call appears (the page polls every 2 s), with its input.
    const row = page.locator('#pending tr', { hasText: visiblePart });
    await row.waitFor({ timeout: 15_000 });
    const shown = await row.innerText();
    assert.match(shown, /tools\.require_approval: Bash\(git push \*\)/);
    assert.ok(shown.includes('# \\u{202E}txt.exe'), `the override is shown as a code point: ${shown}`);
    assert.ok(!shown.includes('\u202E'), 'the override itself is not in the page text');
    // Times read as times (no raw microseconds), and the expiry is shown as what is left.
    assert.ok(!/\d{2}:\d{2}:\d{2}\.\d{6}/.test(shown), `no raw timestamps: ${shown}`);
    assert.match(shown, /in (\d+ min )?\d+ s \(/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'approvals-page.png'), fullPage: true });

    page.once('dialog', (d) => d.accept('reviewed on the page'));
    await row.locator('button.approve').click();
    await page.locator('#status', { hasText: 'approved' }).waitFor({ timeout: 10_000 });
    // A wrong key: the page says what was wrong, in red.
    await page.fill('#key', 'wadm_NotOneOfThisWardensKeys0000000000000000');
    await page.click('button[type=submit]');
    const status = page.locator('#status.error', { hasText: "not one of this Warden's admin keys" });
    await status.waitFor({ timeout: 10_000 });
    assert.equal(await status.evaluate((e) => getComputedStyle(e).color), 'rgb(179, 38, 30)');
    assert.deepEqual(violations, []);
  } finally {
    await browser.close();
  }

  const message = await reply;
  const calls = message.content.filter((b) => b.type === 'tool_use');
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0].input, { command });
  assert.equal(message.stop_reason, 'tool_use');
});
