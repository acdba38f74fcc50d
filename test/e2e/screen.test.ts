/**
 * The Screen tab in the browser against a real `popek serve`: a VM booting a
 * small OS that writes to the VGA text buffer (test/machine/kernels/vgaText.asm)
 * gets a Screen tab beside its serial console showing that text in colour
 * with the cursor where the guest put it; keys typed on the screen reach the
 * guest through the PS/2 keyboard and the guest's echo appears on it.
 * Screenshot: test-results/e2e/20-vga-screen.png.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';
import { assembleKernel } from '../machine/assembleKernel.ts';
import { launchChromium, screenshot } from './browser.ts';
import { callApi, REPO_ROOT, startPopekServer, type PopekServer } from './popekServer.ts';

let browser: Browser;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  await build({ configFile: join(REPO_ROOT, 'renderer/vite.config.ts'), logLevel: 'warn' });
  browser = await launchChromium();
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await browser?.close();
});

/** The screen's rows as text (one string per row, trailing spaces kept). */
async function screenRows(page: Page): Promise<string[]> {
  return page.evaluate(() => Array.from(document.querySelectorAll('[data-testid="vga-screen"] .row'), (row) => row.textContent ?? ''));
}

async function waitForRow(page: Page, row: number, expected: string, timeoutMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let rows: string[] = [];
  while (Date.now() < deadline) {
    rows = await screenRows(page);
    if (rows[row] === expected) return rows;
    await page.waitForTimeout(100);
  }
  throw new Error(`row ${row} never became ${JSON.stringify(expected.trimEnd())}; screen:\n${rows.map((r) => r.trimEnd()).join('\n')}`);
}

describe('Screen tab', () => {
  it('shows the guest text screen with its colours and cursor, and types into the guest', async () => {
    const files = await mkdtemp(join(tmpdir(), 'popek-e2e-vga-'));
    cleanups.push(() => rm(files, { recursive: true, force: true }));
    const kernel = join(files, 'vgaText.bin');
    await writeFile(kernel, assembleKernel('vgaText'));
    const server: PopekServer = await startPopekServer(join(files, 'library'));
    cleanups.push(() => server.stop());
    const presets = (await callApi(server, 'listPresets')) as { id: string; defaults: Record<string, unknown> }[];
    const custom = presets.find((p) => p.id === 'linux-custom')!;
    await callApi(server, 'createVm', [{ config: { ...custom.defaults, name: 'Text OS', memoryMiB: 16, boot: { kind: 'linux', kernel, cmdline: '' } } }]);

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => message.type() === 'error' && problems.push(`console error: ${message.text()}`));
    await page.goto(server.url);
    await page.getByRole('option', { name: 'Text OS' }).click();
    await page.getByRole('toolbar', { name: 'Machine actions' }).getByRole('button', { name: 'Start', exact: true }).click();

    // Starting shows the serial console; the first picture adds the Screen tab and shows it.
    await page.getByRole('tab', { name: 'Text OS · COM1' }).waitFor();
    const screenTab = page.getByRole('tab', { name: 'Text OS · Screen' });
    await screenTab.waitFor();
    await expect.poll(() => screenTab.getAttribute('aria-selected')).toBe('true');
    const rows = await waitForRow(page, 0, 'Popek VGA text mode'.padEnd(80));
    expect(rows).toHaveLength(25);
    expect(rows[1]).toBe('\u2554\u2550\u2550\u2557'.padEnd(80));
    const title = page.locator('[data-testid="vga-screen"] .row').first().locator('span').first();
    expect(await title.evaluate((e) => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor])).toEqual(['rgb(255, 255, 255)', 'rgb(0, 0, 170)']);
    const cursor = page.getByTestId('vga-cursor');
    expect(await cursor.evaluate((e) => (e as HTMLElement).style.left)).toBe('0ch');

    await page.getByTestId('vga-screen').click();
    await page.keyboard.type('hello vga');
    await page.keyboard.press('Enter');
    await page.keyboard.type('42');
    await waitForRow(page, 3, 'hello vga'.padEnd(80));
    await waitForRow(page, 4, '42'.padEnd(80));
    await expect.poll(() => cursor.evaluate((e) => (e as HTMLElement).style.left)).toBe('2ch');
    const echoed = page.locator('[data-testid="vga-screen"] .row').nth(3).locator('span').first();
    expect(await echoed.evaluate((e) => getComputedStyle(e).color)).toBe('rgb(85, 255, 85)');
    await screenshot(page, '20-vga-screen');

    await page.getByRole('toolbar', { name: 'Machine actions' }).getByRole('button', { name: 'Power off', exact: true }).click();
    expect(problems).toEqual([]);
    await page.close();
  }, 180_000);
});
