/**
 * Browser end-to-end test of the acceleration setting: a vm.json written by
 * an older Popek (`hardwareAssist`) opens and migrates; the user sets VT-x in
 * Settings -> System; the VM starts the bundled Tiny Linux under the
 * hypervisor; the Hypervisor panel's counters move and its chart draws while
 * the kernel boots; the mode survives a server restart and the file is saved
 * in the new form.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';
import { launchChromium, screenshot, waitForTerminal } from './browser.ts';
import { callApi, REPO_ROOT, startPopekServer, type PopekServer } from './popekServer.ts';
import { assemble } from '../../scripts/nasm.ts';

const TINY_KERNEL = join(REPO_ROOT, 'resources/guests/tiny-linux/bzImage');
const hasTinyLinux = existsSync(TINY_KERNEL);
const VM_ID = '3b1f0c2a-5d4e-4f60-8a71-92b3c4d5e6f7';

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

async function serve(library: string): Promise<PopekServer> {
  const server = await startPopekServer(library);
  cleanups.push(() => server.stop());
  return server;
}

async function openManager(server: PopekServer): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(server.url);
  await page.getByRole('toolbar', { name: 'Machine actions' }).waitFor();
  return page;
}

const toolbarButton = (page: Page, name: string) =>
  page.getByRole('toolbar', { name: 'Machine actions' }).getByRole('button', { name, exact: true });

const detail = (page: Page, term: string) => page.locator('.details dt', { hasText: new RegExp(`^${term}$`) }).locator('xpath=following-sibling::dd[1]');

describe.skipIf(!hasTinyLinux)('acceleration setting in the browser (needs resources/guests/tiny-linux/bzImage)', () => {
  it('migrates an old vm.json, switches it to VT-x in Settings, starts it under the hypervisor with live counters, and keeps the mode', async () => {
    const library = await mkdtemp(join(tmpdir(), 'popek-e2e-accel-'));
    cleanups.push(() => rm(library, { recursive: true, force: true }));
    await mkdir(join(library, VM_ID));
    const vmJson = join(library, VM_ID, 'vm.json');
    await writeFile(
      vmJson,
      JSON.stringify({
        version: 1,
        id: VM_ID,
        name: 'Old VM',
        guestType: 'tiny-linux',
        memoryMiB: 128,
        cpus: 1,
        boot: { kind: 'linux', kernel: '@guests/tiny-linux/bzImage', initrd: '@guests/tiny-linux/initramfs.cpio.gz', cmdline: 'console=ttyS0' },
        bootOrder: ['disk'],
        disks: [],
        serial: [{ enabled: true, mode: 'console' }, { enabled: false, mode: 'console' }],
        clock: 'realtime',
        hardwareAssist: false,
      }),
    );

    let server = await serve(library);
    let page = await openManager(server);
    try {
      await page.getByRole('option', { name: 'Old VM' }).click();
      expect(await detail(page, 'Acceleration').innerText()).toBe('None (emulated PC)');

      await toolbarButton(page, 'Settings').click();
      const settings = page.getByRole('dialog', { name: 'Old VM — Settings' });
      await settings.getByRole('tab', { name: 'System' }).click();
      const modes = settings.getByRole('radiogroup', { name: 'Acceleration' });
      expect(await modes.getByRole('radio', { name: 'None (emulated PC)' }).isChecked()).toBe(true);
      expect(await modes.getByRole('radio', { name: 'AMD-V (SVM)' }).isDisabled()).toBe(false);
      for (const name of ['Binary translation', 'Trap-and-emulate only']) expect(await modes.getByRole('radio', { name }).isDisabled()).toBe(false);
      await modes.getByRole('radio', { name: 'Intel VT-x' }).check();
      await screenshot(page, '20-settings-acceleration');
      await settings.getByRole('button', { name: 'Save' }).click();
      await settings.waitFor({ state: 'detached' });
      await expect.poll(() => detail(page, 'Acceleration').innerText()).toBe('Intel VT-x (nested paging on)');
      const saved = JSON.parse(await readFile(vmJson, 'utf8'));
      expect([saved.acceleration, saved.nestedPaging, 'hardwareAssist' in saved]).toEqual(['vtx', true, false]);

      await toolbarButton(page, 'Start').click();
      await page.getByRole('option', { name: 'Old VM' }).getByText('Running').waitFor({ timeout: 60_000 });
      // The kernel runs under the hypervisor (booting it to the shell is test/hypervisor/vtxTinyLinux.test.ts's
      // and the Tiny Linux scenario's job; this test watches the counters while it boots).
      await waitForTerminal(page, /Linux version 6\.1\.192/, 300_000);

      await page.getByRole('tab', { name: 'Details' }).click();
      await page.getByRole('heading', { name: 'Hypervisor (VT-x)' }).waitFor();
      const entries = async () => Number((await page.locator('[data-hv="entries"]').innerText()).replace(/,/g, ''));
      const first = await entries();
      expect(first).toBeGreaterThan(0);
      await expect.poll(entries, { timeout: 30_000 }).toBeGreaterThan(first);
      expect(Number((await page.locator('[data-exit="IO_INSTRUCTION"]').innerText()).replace(/,/g, ''))).toBeGreaterThan(0);
      await page.locator('.exit-chart canvas').first().waitFor({ timeout: 30_000 });
      await screenshot(page, '21-hypervisor-panel');

      await toolbarButton(page, 'Power off').click();
      await page.getByRole('option', { name: 'Old VM' }).getByText('Powered Off').waitFor();
      await page.close();

      await server.stop();
      server = await serve(library);
      const [vm] = (await callApi(server, 'listVms')) as { config: Record<string, unknown> }[];
      expect([vm!.config.acceleration, vm!.config.nestedPaging]).toEqual(['vtx', true]);
      page = await openManager(server);
      await page.getByRole('option', { name: 'Old VM' }).click();
      expect(await detail(page, 'Acceleration').innerText()).toBe('Intel VT-x (nested paging on)');
    } catch (error) {
      await screenshot(page, '29-acceleration-failure').catch(() => {});
      throw new Error(`${(error as Error).message}\n--- popek serve output (tail) ---\n${server.output().slice(-4000)}`, { cause: error });
    } finally {
      await page.close().catch(() => {});
    }
  }, 600_000);
});

describe('the software monitor in the browser', () => {
  it('shows the trap-and-emulate monitor\'s traps live in the Hypervisor panel, with what each means', async () => {
    const library = await mkdtemp(join(tmpdir(), 'popek-e2e-trap-'));
    cleanups.push(() => rm(library, { recursive: true, force: true }));
    // A Multiboot kernel that turns interrupts off and on forever: each CLI and STI traps at ring 1.
    const kernel = join(library, 'cli-sti.bin');
    await writeFile(kernel, assemble(`bits 32
org 0x100000
mb: dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000), mb, mb, 0, 0, start
start: cli
  sti
  jmp start
`));
    const server = await serve(library);
    const created = (await callApi(server, 'createVm', [{
      config: {
        name: 'Trap VM', guestType: 'linux-custom', memoryMiB: 16, cpus: 1, boot: { kind: 'linux', kernel, cmdline: '' }, bootOrder: ['disk'], disks: [],
        serial: [{ enabled: true, mode: 'console' }, { enabled: false, mode: 'console' }], clock: 'realtime', acceleration: 'trap', nestedPaging: true,
      },
    }])) as { ok: boolean; vm: { id: string } };
    expect(created.ok).toBe(true);
    await callApi(server, 'startVm', [created.vm.id]);
    const page = await openManager(server);
    try {
      await page.getByRole('option', { name: 'Trap VM' }).click();
      await page.getByRole('tab', { name: 'Details' }).click();
      await page.getByRole('heading', { name: 'Software monitor (trap-and-emulate only)' }).waitFor({ timeout: 30_000 });
      const cli = async () => Number((await page.locator('[data-group="traps"] [data-row="cli"] td.n').innerText()).replace(/,/g, ''));
      await expect.poll(cli, { timeout: 30_000 }).toBeGreaterThan(0);
      const first = await cli();
      await expect.poll(cli, { timeout: 30_000 }).toBeGreaterThan(first);
      expect(await page.locator('[data-group="traps"] [data-row="cli"] td.meaning').innerText()).toBe(
        'The guest kernel turned interrupts off. CLI faults at ring 1, so the monitor clears the guest\'s virtual interrupt flag instead.',
      );
      await page.locator('.exit-chart canvas').first().waitFor({ timeout: 30_000 });
      expect(await page.locator('#tc-title').count()).toBe(0); // no translation cache without the translator
      expect(await callApi(server, 'getTranslationCache', [created.vm.id])).toBeNull();
      await screenshot(page, '22-software-monitor-panel');
    } catch (error) {
      await screenshot(page, '29-software-monitor-failure').catch(() => {});
      throw new Error(`${(error as Error).message}\n--- popek serve output (tail) ---\n${server.output().slice(-4000)}`, { cause: error });
    } finally {
      await page.close().catch(() => {});
    }
  }, 120_000);
});
