/**
 * The wizard's "Install from an ISO image" in the browser against a real
 * `popek serve`: it creates a VM with the bundled SeaBIOS, the chosen ISO in
 * an IDE CD-ROM drive, a new empty disk and the boot order CD-ROM, then disk.
 * Started, the VM's Screen tab shows the firmware's text and the line the
 * ISO's El Torito boot image prints through INT 10h (an ISO built here with
 * xorriso from a project-written boot sector, test/machine/bootMedia/); the
 * boot image hands the boot back, and the firmware goes on to the empty disk.
 * Screenshot: test-results/e2e/30-iso-install-screen.png.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';
import { writeBootIso } from '../machine/bootMedia/bootImages.ts';
import { launchChromium, screenshot } from './browser.ts';
import { callApi, REPO_ROOT, startPopekServer, type PopekServer } from './popekServer.ts';

const CD_LINE = 'POPEK-CD: booted from the ISO in the CD-ROM drive';
const BANNER = 'SeaBIOS (version 1.16.2-debian-1.16.2-1)';

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

/** The screen's rows with their trailing spaces removed. */
async function screenLines(page: Page): Promise<string[]> {
  return page.evaluate(() => Array.from(document.querySelectorAll('[data-testid="vga-screen"] .row'), (row) => (row.textContent ?? '').trimEnd()));
}

/** Waits until the screen shows `line` on some row; fails with the screen it last saw. */
async function waitForLine(page: Page, line: string, timeoutMs = 90_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let lines: string[] = [];
  while (Date.now() < deadline) {
    lines = await screenLines(page);
    if (lines.includes(line)) return lines;
    await page.waitForTimeout(100);
  }
  throw new Error(`the screen never showed ${JSON.stringify(line)}; screen:\n${lines.join('\n')}`);
}

describe('Install from an ISO image', () => {
  it('creates a VM with the ISO in its CD-ROM drive and an empty disk; started, the firmware boots the ISO on the Screen tab', async () => {
    const files = await mkdtemp(join(tmpdir(), 'popek-e2e-iso-'));
    cleanups.push(() => rm(files, { recursive: true, force: true }));
    const iso = writeBootIso(files, 'installer.iso', CD_LINE);
    const server: PopekServer = await startPopekServer(join(files, 'library'));
    cleanups.push(() => server.stop());

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => message.type() === 'error' && problems.push(`console error: ${message.text()}`));
    await page.goto(server.url);
    const toolbar = page.getByRole('toolbar', { name: 'Machine actions' });
    await toolbar.waitFor();

    await toolbar.getByRole('button', { name: 'New', exact: true }).click();
    const wizard = page.getByRole('dialog', { name: 'New virtual machine' });
    await wizard.getByLabel('Name', { exact: true }).fill('Installer');
    await wizard.getByRole('radio', { name: /Install from an ISO image/ }).check();
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('heading', { name: 'Boot' }).waitFor();
    // Next refuses to leave the step without an ISO.
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByText('Choose the ISO image to boot from').waitFor();
    await wizard.getByLabel('ISO image').fill(iso);
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('heading', { name: 'Hardware' }).waitFor();
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('heading', { name: 'Disk and network' }).waitFor();
    // The new disk is offered already: an install needs somewhere to go.
    expect(await wizard.getByLabel('Create a new virtual hard disk').isChecked()).toBe(true);
    await wizard.getByLabel('Disk size (MiB)').fill('16');
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('heading', { name: 'Summary' }).waitFor();
    await wizard.getByRole('button', { name: 'Create' }).click();
    await wizard.waitFor({ state: 'detached' });

    // What the host stored: firmware, the ISO on the CD-ROM drive, one new empty disk, CD-ROM first.
    const vms = (await callApi(server, 'listVms')) as { id: string; folder: string; config: Record<string, unknown> }[];
    expect(vms).toHaveLength(1);
    const { config, folder } = vms[0]!;
    expect(config).toMatchObject({
      name: 'Installer',
      guestType: 'iso-install',
      boot: { kind: 'rom', rom: '@firmware/seabios/bios.bin' },
      bootOrder: ['cdrom', 'disk'],
      cdroms: [{ path: iso }],
      disks: [{ format: 'qcow2', sizeMiB: 16 }],
    });
    expect((await readdir(folder)).filter((f) => f.endsWith('.qcow2'))).toHaveLength(1);
    await page.getByRole('option', { name: 'Installer' }).click();
    await page.getByText(iso, { exact: true }).waitFor(); // the details list the drive's ISO

    await toolbar.getByRole('button', { name: 'Start', exact: true }).click();
    const screenTab = page.getByRole('tab', { name: 'Installer · Screen' });
    await screenTab.waitFor();
    await screenTab.click();
    const lines = await waitForLine(page, 'No bootable device.  Retrying in 60 seconds.');
    expect(lines.slice(0, 8)).toEqual([
      BANNER,
      'Booting from DVD/CD...',
      CD_LINE,
      'Booting from Hard Disk...',
      'Boot failed: not a bootable disk',
      '',
      'No bootable device.  Retrying in 60 seconds.',
      '',
    ]);
    await screenshot(page, '30-iso-install-screen');

    await toolbar.getByRole('button', { name: 'Power off', exact: true }).click();
    expect(problems).toEqual([]);
    await page.close();
  }, 180_000);
});
