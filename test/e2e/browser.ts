/**
 * Debian's Chromium driven by playwright-core, plus the helpers the browser
 * tests share (screenshots, reading the xterm.js screen).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from './popekServer.ts';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(REPO_ROOT, 'test-results', 'e2e');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}: the browser end-to-end tests need it (Debian: apt-get install chromium).`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`) });
}

/** The visible text of the xterm.js terminal inside `scope` (one line per row). */
export async function terminalText(page: Page, scopeSelector = 'body'): Promise<string> {
  return page.evaluate((selector) => {
    const scope = document.querySelector(selector);
    const rows = scope?.querySelectorAll('.xterm-rows > div') ?? [];
    return Array.from(rows, (row) => (row.textContent ?? '').replace(/\u00a0/g, ' ').replace(/\s+$/, '')).join('\n');
  }, scopeSelector);
}

/** A guest that printed this will never reach the prompt: fail at once instead of waiting out the timeout. */
const GUEST_DEATH = /Kernel panic - not syncing/;

/** Waits until the terminal text matches `pattern`; fails with the screen it last saw. */
export async function waitForTerminal(page: Page, pattern: RegExp, timeoutMs: number, scopeSelector = 'body'): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await terminalText(page, scopeSelector);
    if (pattern.test(text)) return text;
    if (GUEST_DEATH.test(text)) throw new Error(`the guest panicked while waiting for ${pattern}; screen:\n${text}`);
    await page.waitForTimeout(250);
  }
  throw new Error(`terminal never matched ${pattern} within ${timeoutMs} ms; screen:\n${text}`);
}
