/**
 * Browser end-to-end tests of the manager against a real `popek serve`:
 * Debian's Chromium (playwright-core) drives the UI the way a user would,
 * finding controls by role and accessible name.
 *
 * The tests that boot the bundled Tiny Linux guest are skipped (with a
 * message) only when its kernel is not in the tree; everything else always
 * runs. Screenshots go to test-results/e2e/.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';
import { launchChromium, screenshot, waitForTerminal } from './browser.ts';
import { callApi, REPO_ROOT, startPopekServer, type PopekServer } from './popekServer.ts';

const TINY_KERNEL = join(REPO_ROOT, 'resources/guests/tiny-linux/bzImage');
const hasTinyLinux = existsSync(TINY_KERNEL);
if (!hasTinyLinux) {
  console.warn(
    `[e2e] SKIPPING the Tiny Linux boot tests: ${TINY_KERNEL} is absent (build it with resources/guests/tiny-linux/build.sh).`,
  );
}

let browser: Browser;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  // Test the UI as it is in this tree, not a stale dist/ from an earlier build.
  await build({ configFile: join(REPO_ROOT, 'renderer/vite.config.ts'), logLevel: 'warn' });
  browser = await launchChromium();
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await browser?.close();
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function serve(library: string): Promise<PopekServer> {
  const server = await startPopekServer(library);
  cleanups.push(() => server.stop());
  return server;
}

async function openManager(server: PopekServer): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
  });
  (page as Page & { problems?: string[] }).problems = problems;
  await page.goto(server.url);
  await page.getByRole('toolbar', { name: 'Machine actions' }).waitFor();
  // The library (and with it the host's presets) has loaded: a user sees the list, or that it is empty.
  await page.locator('.vm-list-wrap[aria-busy="false"]').waitFor();
  return page;
}

function pageProblems(page: Page): string[] {
  return (page as Page & { problems?: string[] }).problems ?? [];
}

function toolbarButton(page: Page, name: string) {
  return page.getByRole('toolbar', { name: 'Machine actions' }).getByRole('button', { name, exact: true });
}

describe('manager in the browser', () => {
  it('explains how to get in when the page is opened without its token', async () => {
    const server = await serve(await tempDir('popek-e2e-notoken-'));
    const page = await browser.newPage();
    await page.goto(`${server.origin}/`);
    await page.getByRole('heading', { name: 'Popek cannot reach its host' }).waitFor();
    await page.getByText('Open the exact URL that `popek serve` printed').waitFor();
    expect(await page.getByRole('toolbar').count()).toBe(0);
    await page.close();
  });

  it('shows wizard errors next to the fields and creates nothing from invalid input', async () => {
    const library = await tempDir('popek-e2e-invalid-');
    const server = await serve(library);
    const page = await openManager(server);
    await page.getByText('No virtual machines yet.').waitFor();

    await toolbarButton(page, 'New').click();
    const wizard = page.getByRole('dialog', { name: 'New virtual machine' });
    await wizard.waitFor();

    const name = wizard.getByLabel('Name', { exact: true });
    await name.fill('bad/name');
    await wizard.getByText('Name must not contain / or \\').waitFor();
    expect(await name.getAttribute('aria-invalid')).toBe('true');
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('heading', { name: 'Name and guest type' }).waitFor();
    await screenshot(page, '01-wizard-invalid-name');

    // A custom kernel that does not exist: the host's check reports it next to the field.
    await name.fill('Custom');
    await wizard.getByRole('radio', { name: /Linux \(custom kernel\)/ }).check();
    await name.press('Enter');
    await wizard.getByRole('heading', { name: 'Boot' }).waitFor();
    await wizard.getByLabel('Kernel image').fill('/nonexistent/popek-e2e/bzImage');
    await wizard.getByText(/Kernel not found/).waitFor({ timeout: 10_000 });
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('heading', { name: 'Boot' }).waitFor();
    await screenshot(page, '02-wizard-missing-kernel');

    await page.keyboard.press('Escape');
    await wizard.waitFor({ state: 'detached' });
    expect(await callApi(server, 'listVms')).toEqual([]);
    expect(await readdir(library)).toEqual([]);
    expect(pageProblems(page)).toEqual([]);
    await page.close();
  });

  it('creates a VM with the keyboard alone (Alt+N, Tab, arrows, Enter)', async () => {
    const library = await tempDir('popek-e2e-keyboard-');
    const files = await tempDir('popek-e2e-kbfiles-');
    const kernel = join(files, 'vmlinuz');
    await writeFile(kernel, new Uint8Array(512));
    const server = await serve(library);
    const page = await openManager(server);
    await page.keyboard.press('Alt+n');
    const wizard = page.getByRole('dialog', { name: 'New virtual machine' });
    await wizard.waitFor();
    // Keys go where the focus is when they are pressed: wait for the preset chosen by default and for the
    // dialog's autofocus (it moves after the dialog's first render), as a user sees them, before typing.
    const tiny = wizard.getByRole('radio', { name: /Tiny Linux demo/ });
    await expect.poll(() => tiny.isChecked()).toBe(true);
    const focused = () => page.evaluate(() => document.activeElement?.id ?? '');
    await expect.poll(focused).toBe('wizard-name');
    await page.keyboard.type('Keyboard VM'); // the name field has the focus
    await page.keyboard.press('Tab'); // to the guest type radio group
    await expect.poll(() => tiny.evaluate((radio) => radio === document.activeElement)).toBe(true);
    await page.keyboard.press('ArrowDown'); // Tiny Linux -> Linux (custom kernel)
    await expect.poll(() => wizard.getByRole('radio', { name: /Linux \(custom kernel\)/ }).isChecked()).toBe(true);
    await page.keyboard.press('Enter');
    await wizard.getByRole('heading', { name: 'Boot' }).waitFor();
    const kernelField = wizard.getByLabel('Kernel image');
    await expect.poll(() => kernelField.evaluate((field) => field === document.activeElement)).toBe(true);
    await page.keyboard.type(kernel); // focus moved to the kernel field
    await page.keyboard.press('Enter');
    await wizard.getByRole('heading', { name: 'Hardware' }).waitFor();
    await page.keyboard.press('Enter');
    await wizard.getByRole('heading', { name: 'Disk and network' }).waitFor();
    await page.keyboard.press('Enter');
    await wizard.getByRole('heading', { name: 'Summary' }).waitFor();
    await page.keyboard.press('Enter'); // focus is on Create
    await wizard.waitFor({ state: 'detached' });
    await page.getByRole('option', { name: 'Keyboard VM' }).waitFor();
    const vms = (await callApi(server, 'listVms')) as { config: { name: string; boot: { kernel: string } } }[];
    expect(vms.map((vm) => [vm.config.name, vm.config.boot.kernel])).toEqual([['Keyboard VM', kernel]]);
    expect(pageProblems(page)).toEqual([]);
    await page.close();
  });

  it('shows why a VM could not boot, marks it aborted, and removes it after confirmation', async () => {
    const library = await tempDir('popek-e2e-abort-');
    const files = await tempDir('popek-e2e-garbage-');
    const garbage = join(files, 'not-a-kernel');
    await writeFile(garbage, new Uint8Array(4096));
    const server = await serve(library);
    const presets = (await callApi(server, 'listPresets')) as { id: string; defaults: Record<string, unknown> }[];
    const custom = presets.find((p) => p.id === 'linux-custom')!;
    await callApi(server, 'createVm', [{ config: { ...custom.defaults, name: 'Broken', boot: { kind: 'linux', kernel: garbage, cmdline: '' } } }]);

    const page = await openManager(server);
    await page.getByRole('option', { name: 'Broken' }).click();
    await toolbarButton(page, 'Start').click();
    await page.getByRole('alert').filter({ hasText: 'not a kernel Popek can boot' }).waitFor();
    await page.getByRole('option', { name: 'Broken' }).getByText('Aborted').waitFor();
    await page.getByRole('tab', { name: 'Details' }).click();
    await page.getByRole('status').filter({ hasText: /Aborted:.*not a kernel Popek can boot/ }).waitFor();
    await expect.poll(() => toolbarButton(page, 'Start').isEnabled()).toBe(true);
    await screenshot(page, '08-aborted-vm');

    await page.getByRole('button', { name: 'Dismiss error' }).click();
    await toolbarButton(page, 'Remove').click();
    const confirm = page.getByRole('dialog', { name: 'Remove Broken?' });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect((await readdir(library)).length).toBe(1);
    await toolbarButton(page, 'Remove').click();
    await confirm.getByRole('button', { name: 'Remove machine' }).click();
    await page.getByText('No virtual machines yet.').waitFor();
    expect(await readdir(library)).toEqual([]);
    // The failed start's 500 response is the one expected HTTP error; nothing else went wrong.
    expect(pageProblems(page).filter((p) => !/HTTP 500 for .*\/api\/startVm|status of 500/.test(p))).toEqual([]);
    await page.close();
  });

  it('lists a VM whose vm.json is truncated as inaccessible, with the reason, and leaves the file alone', async () => {
    const library = await tempDir('popek-e2e-inaccessible-');
    const folder = join(library, 'c0ffee00-0000-4000-8000-000000000001');
    await mkdir(folder);
    const truncated = '{"version": 1, "name": "Half';
    await writeFile(join(folder, 'vm.json'), truncated);
    const server = await serve(library);
    const page = await openManager(server);
    const row = page.getByRole('option', { name: 'c0ffee00-0000-4000-8000-000000000001' });
    await row.getByText('Inaccessible').waitFor();
    await page.getByRole('heading', { name: 'Inaccessible machine' }).waitFor();
    await page.getByText(/not valid JSON/).first().waitFor();
    for (const name of ['Settings', 'Start', 'Console']) expect(await toolbarButton(page, name).isEnabled()).toBe(false);
    expect(await toolbarButton(page, 'Remove').isEnabled()).toBe(true);
    await screenshot(page, '09-inaccessible-vm');
    expect(await readFile(join(folder, 'vm.json'), 'utf8')).toBe(truncated);
    expect(pageProblems(page)).toEqual([]);
    await page.close();
  });

  it('creates a custom-kernel VM, edits its settings, and finds both unchanged after a server restart', async () => {
    const library = await tempDir('popek-e2e-library-');
    const files = await tempDir('popek-e2e-files-');
    const kernel = join(files, 'bzImage');
    await writeFile(kernel, new Uint8Array(4096));
    let server = await serve(library);
    let page = await openManager(server);

    await toolbarButton(page, 'New').click();
    const wizard = page.getByRole('dialog', { name: 'New virtual machine' });
    await wizard.getByLabel('Name', { exact: true }).fill('Custom VM');
    await wizard.getByRole('radio', { name: /Linux \(custom kernel\)/ }).check();
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByLabel('Kernel image').fill(kernel);
    await wizard.getByLabel('Kernel command line').fill('console=ttyS0 loglevel=4');
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('heading', { name: 'Hardware' }).waitFor();
    expect(await wizard.getByLabel('Base memory (MiB)').inputValue()).toBe('256');
    await wizard.getByLabel('Base memory (MiB)').fill('200');
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByLabel('Create a new virtual hard disk').check();
    await wizard.getByLabel('Disk size (MiB)').fill('64');
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('heading', { name: 'Summary' }).waitFor();
    await screenshot(page, '03-wizard-summary');
    await wizard.getByRole('button', { name: 'Create' }).click();
    await wizard.waitFor({ state: 'detached' });

    await page.getByRole('option', { name: 'Custom VM' }).waitFor();
    await page.getByText('200 MiB', { exact: true }).waitFor();
    await screenshot(page, '04-details-custom-vm');

    // Settings: COM2 as a TCP server, deterministic clock, the I/O APIC.
    await toolbarButton(page, 'Settings').click();
    const settings = page.getByRole('dialog', { name: 'Custom VM — Settings' });
    await settings.getByRole('tab', { name: 'System' }).click();
    await settings.getByLabel('Clock').selectOption('deterministic');
    expect(await settings.getByLabel('Enable I/O APIC').isChecked()).toBe(false);
    await settings.getByLabel('Enable I/O APIC').check();
    await settings.getByRole('tab', { name: 'Serial Ports' }).click();
    await settings.getByLabel('Enable COM2').check();
    await settings.getByRole('radiogroup', { name: 'COM2 mode' }).getByLabel('TCP server on 127.0.0.1').check();
    await settings.getByLabel('COM2 TCP port').fill('40123');
    await screenshot(page, '05-settings-serial');
    await settings.getByRole('button', { name: 'Save' }).click();
    await settings.waitFor({ state: 'detached' });
    await page.getByText('TCP server on 127.0.0.1:40123').waitFor();
    await page.getByText('On (local APIC and I/O APIC)', { exact: true }).waitFor();

    const [before] = (await callApi(server, 'listVms')) as { config: Record<string, unknown> }[];
    expect(before!.config).toMatchObject({
      name: 'Custom VM',
      guestType: 'linux-custom',
      memoryMiB: 200,
      cpus: 1,
      boot: { kind: 'linux', kernel, cmdline: 'console=ttyS0 loglevel=4' },
      clock: 'deterministic',
      serial: [{ enabled: true, mode: 'console' }, { enabled: true, mode: 'tcp', port: 40123 }],
      apic: true,
    });
    expect((before!.config.disks as unknown[]).length).toBe(1);
    // The wizard's new disk is a real qcow2 image (its default format) in the VM's folder.
    expect(before!.config.disks).toEqual([{ path: 'disk0.qcow2', format: 'qcow2', sizeMiB: 64 }]);
    const image = await readFile(join((before as unknown as { folder: string }).folder, 'disk0.qcow2'));
    expect(image.subarray(0, 4).toString('latin1')).toBe('QFI\xfb');
    expect(image.readBigUInt64BE(24)).toBe(64n * 1024n * 1024n);
    await page.close();

    // Restart the server on the same library: the VM and its settings are as they were.
    await server.stop();
    server = await serve(library);
    const [after] = (await callApi(server, 'listVms')) as { config: Record<string, unknown> }[];
    expect(after!.config).toEqual(before!.config);
    page = await openManager(server);
    await page.getByRole('option', { name: 'Custom VM' }).click();
    await page.getByText('TCP server on 127.0.0.1:40123').waitFor();
    await toolbarButton(page, 'Settings').click();
    const reopened = page.getByRole('dialog', { name: 'Custom VM — Settings' });
    await reopened.getByRole('tab', { name: 'System' }).click();
    expect(await reopened.getByLabel('Base memory (MiB)').inputValue()).toBe('200');
    expect(await reopened.getByLabel('Clock').inputValue()).toBe('deterministic');
    expect(await reopened.getByLabel('Enable I/O APIC').isChecked()).toBe(true);
    expect(await reopened.getByLabel('Kernel command line').inputValue()).toBe('console=ttyS0 loglevel=4');
    await screenshot(page, '06-settings-after-restart');
    await reopened.getByRole('button', { name: 'Cancel' }).click();
    await reopened.waitFor({ state: 'detached' });

    // The console opens in a tab, then moves to its own window (route #/console/<id>/0).
    await toolbarButton(page, 'Console').click();
    await page.getByRole('region', { name: 'COM1 — Custom VM console' }).waitFor();
    const [popup] = await Promise.all([
      page.context().waitForEvent('page'),
      page.getByRole('button', { name: 'Open console in new window' }).click(),
    ]);
    await popup.getByRole('region', { name: 'COM1 — Custom VM console' }).waitFor();
    expect(popup.url()).toMatch(/\?token=[0-9a-f]+#\/console\/[0-9a-f-]+\/0$/);
    expect(await popup.title()).toBe('COM1 — Custom VM — Popek');
    await page.getByRole('tab', { name: /Custom VM · COM1/ }).waitFor({ state: 'detached' });
    await screenshot(popup, '07-console-window');
    await popup.close();
    expect(pageProblems(page)).toEqual([]);
    await page.close();
  });
});

describe.skipIf(!hasTinyLinux)('Tiny Linux demo in the browser (needs resources/guests/tiny-linux/bzImage)', () => {
  it('creates the VM from the preset, boots to a shell, runs uname -a, pauses, resumes, resets, powers off, and survives a restart', async () => {
    const ctx = { library: await tempDir('popek-e2e-tiny-'), server: null as PopekServer | null, page: null as Page | null };
    try {
      await tinyLinuxScenario(ctx);
    } catch (error) {
      if (ctx.page) await screenshot(ctx.page, '19-tiny-linux-failure').catch(() => {});
      const log = ctx.server?.output().slice(-4000) ?? '';
      throw new Error(`${(error as Error).message}\n--- popek serve output (tail) ---\n${log}`, { cause: error });
    }
  }, 1_500_000); // the preset's VMs run under the VT-x hypervisor: two boots, slower than the bare PC's on a busy machine
});

async function tinyLinuxScenario(ctx: { library: string; server: PopekServer | null; page: Page | null }): Promise<void> {
  ctx.server = await serve(ctx.library);
  let page = (ctx.page = await openManager(ctx.server));

  await toolbarButton(page, 'New').click();
  const wizard = page.getByRole('dialog', { name: 'New virtual machine' });
  await wizard.getByLabel('Name', { exact: true }).fill('Tiny');
  expect(await wizard.getByRole('radio', { name: /Tiny Linux demo/ }).isChecked()).toBe(true);
  for (const step of ['Boot', 'Hardware', 'Disk and network', 'Summary']) {
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('heading', { name: step }).waitFor();
    if (step === 'Disk and network') {
      // A new qcow2 disk and a network adapter: the guest must see both.
      await wizard.getByRole('checkbox', { name: 'Create a new virtual hard disk' }).check();
      await wizard.getByLabel('Disk size (MiB)').fill('64');
      await wizard.getByRole('checkbox', { name: 'Add a network adapter' }).check();
      await wizard.getByLabel('Internal network').fill('lab');
    }
  }
  await expect.poll(() => wizard.locator('dd').allInnerTexts()).toContain('eth0 on internal network “lab”');
  await wizard.getByRole('button', { name: 'Create' }).click();
  await wizard.waitFor({ state: 'detached' });
  await page.getByRole('option', { name: 'Tiny' }).waitFor();

  await toolbarButton(page, 'Start').click();
  await page.getByRole('region', { name: 'COM1 — Tiny console' }).waitFor();
  await page.getByRole('option', { name: 'Tiny' }).getByText('Running').waitFor({ timeout: 60_000 });
  const screen = await waitForTerminal(page, /POPEK-READY[\s\S]*# ?$/m, 600_000);
  expect(screen).toContain('POPEK-READY');
  await screenshot(page, '10-tiny-linux-prompt');

  await page.locator('.xterm').first().click();
  await page.keyboard.type('uname -a');
  await page.keyboard.press('Enter');
  const afterUname = await waitForTerminal(page, /uname -a\s*\n\s*Linux \S+ \d+\.\d+/, 60_000);
  expect(afterUname).toMatch(/Linux \S+ 6\.1\.\S*.* i[3-6]86/);
  await screenshot(page, '11-tiny-linux-uname');

  // The wizard's new disk and network adapter reached the guest: /dev/vda (64 MiB) and eth0.
  await page.keyboard.type('cat /proc/partitions; ip -o link show eth0');
  await page.keyboard.press('Enter');
  const devices = await waitForTerminal(page, /\n\s*254\s+0\s+65536 vda[\s\S]*\d+: eth0: <BROADCAST,MULTICAST>/, 60_000);
  expect(devices).toMatch(/link\/ether 52:54:00(:[0-9a-f]{2}){3}/);

  // Reattach in its own window: the host replays the scrollback, so the answer is there again.
  const [popup] = await Promise.all([
    page.context().waitForEvent('page'),
    page.getByRole('button', { name: 'Open console in new window' }).click(),
  ]);
  await waitForTerminal(popup, /uname -a\s*\n\s*Linux /, 30_000);
  await popup.close();
  await toolbarButton(page, 'Console').click();
  await waitForTerminal(page, /uname -a\s*\n\s*Linux /, 30_000);

  // Live statistics on the details tab.
  await page.getByRole('tab', { name: 'Details' }).click();
  await page.getByRole('heading', { name: /Live statistics/ }).waitFor();
  await page.locator('[data-stat="instructions"]').waitFor();
  const instructions = Number((await page.locator('[data-stat="instructions"]').innerText()).replace(/,/g, ''));
  expect(instructions).toBeGreaterThan(0);
  await screenshot(page, '12-tiny-linux-stats');

  await toolbarButton(page, 'Pause').click();
  await toolbarButton(page, 'Resume').waitFor();
  await page.getByRole('option', { name: 'Tiny' }).getByText('Paused').waitFor();
  await screenshot(page, '13-tiny-linux-paused');
  await toolbarButton(page, 'Resume').click();
  await page.getByRole('option', { name: 'Tiny' }).getByText('Running').waitFor();

  // Still alive after resume: the shell answers.
  await page.getByRole('tab', { name: /Tiny · COM1/ }).click();
  await page.locator('.xterm').first().click();
  await page.keyboard.type('echo popek-$((6*7))');
  await page.keyboard.press('Enter');
  await waitForTerminal(page, /popek-42/, 60_000);

  // Paste from the clipboard into the guest (the Paste button; xterm turns the newline into Enter).
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ctx.server.origin });
  await page.evaluate(() => navigator.clipboard.writeText('echo pasted-$((40+2))\n'));
  await page.getByRole('button', { name: 'Paste', exact: true }).click();
  await waitForTerminal(page, /pasted-42/, 60_000);

  // Copy: double-click selects the word on the answer's row, the Copy button puts it on the clipboard.
  const answerRow = page.locator('.xterm-rows > div').filter({ hasText: /^pasted-42\s*$/ }).last();
  const box = (await answerRow.boundingBox())!;
  await page.mouse.dblclick(box.x + 6, box.y + box.height / 2);
  await page.getByRole('button', { name: 'Copy selection' }).click();
  await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe('pasted-42');

  // Reset: the guest boots again to a fresh prompt (the old session scrolls away) and answers.
  await toolbarButton(page, 'Reset').click();
  await waitForTerminal(page, /^(?![\s\S]*pasted-42)[\s\S]*POPEK-READY[\s\S]*# ?$/, 600_000);
  await page.locator('.xterm').first().click();
  await page.keyboard.type('echo after-$((2+3))');
  await page.keyboard.press('Enter');
  await waitForTerminal(page, /after-5/, 60_000);

  await toolbarButton(page, 'Power off').click();
  await page.getByRole('option', { name: 'Tiny' }).getByText('Powered Off').waitFor();
  // The state event may arrive before the power-off request returns; the button follows within a moment.
  await expect.poll(() => toolbarButton(page, 'Start').isEnabled(), { timeout: 15_000 }).toBe(true);
  await screenshot(page, '14-tiny-linux-powered-off');
  const [before] = (await callApi(ctx.server, 'listVms')) as { config: Record<string, unknown> }[];
  expect(pageProblems(page)).toEqual([]);
  await page.close();
  ctx.page = null;

  await ctx.server.stop();
  ctx.server = await serve(ctx.library);
  const [after] = (await callApi(ctx.server, 'listVms')) as { config: Record<string, unknown>; status: { state: string } }[];
  expect(after!.config).toEqual(before!.config);
  expect(after!.status.state).toBe('poweredOff');
  page = ctx.page = await openManager(ctx.server);
  await page.getByRole('option', { name: 'Tiny' }).waitFor();
  await page.getByText('Tiny Linux demo').first().waitFor();
  await screenshot(page, '15-tiny-linux-after-restart');
  await page.close();
  ctx.page = null;
}
