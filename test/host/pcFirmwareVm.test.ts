/**
 * The app's path to a firmware boot, end to end below the UI: a VM created
 * from the "PC with firmware (SeaBIOS)" preset, with a raw disk whose boot
 * sector is built here with nasm, started by the host in its machine worker;
 * SeaBIOS's messages and the boot sector's lines arrive on the VM's COM1
 * console stream, as the app's console shows them, and (through the bundled
 * VGA BIOS the host hands the firmware) on the VM's screen.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostService } from '../../core/host/hostService.ts';
import { VmLibrary } from '../../core/host/library.ts';
import { PC_FIRMWARE_ID } from '../../core/host/presets.ts';
import { assemble } from '../../scripts/nasm.ts';

const GUESTS = fileURLToPath(new URL('../../resources/guests', import.meta.url));
const MBR = assemble(readFileSync(new URL('../machine/seabiosMbr.asm', import.meta.url), 'utf8'));

let root: string;
let host: HostService;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'popek-pc-firmware-'));
  host = new HostService({ library: new VmLibrary(join(root, 'machines'), GUESTS), mode: 'server', version: 'test' });
});

afterEach(async () => {
  await host.shutdown();
  await rm(root, { recursive: true, force: true });
});

describe('a VM made from the "PC with firmware" preset', () => {
  it('boots the bundled SeaBIOS, which boots the VM\'s disk; both print on COM1 and on the screen', async () => {
    const disk = join(root, 'boot.raw');
    const image = new Uint8Array(1024 * 1024);
    image.set(MBR);
    await writeFile(disk, image);
    const preset = (await host.listPresets()).find((p) => p.id === PC_FIRMWARE_ID)!;
    const created = await host.createVm({
      config: { ...preset.defaults, name: 'pc', clock: 'deterministic', disks: [{ path: disk, format: 'raw', sizeMiB: 1 }] },
    });
    if (!created.ok) throw new Error(JSON.stringify(created.errors));
    const chunks: Uint8Array[] = [];
    host.subscribeSerial(created.vm.id, 0, (d) => chunks.push(d));
    let screenLines: string[] = [];
    host.subscribeScreen(created.vm.id, (s) => {
      if (s.mode === 'text') screenLines = s.lines.map((l) => l.trimEnd());
    });
    await host.startVm(created.vm.id);
    const text = () => Buffer.concat(chunks).toString('latin1');
    const deadline = Date.now() + 120_000;
    while (!text().includes('POPEK-MBR: writing to the UART at 0x3F8\r\n') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(text()).toBe(
      '\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n' +
        'Booting from Hard Disk...\r\n' +
        'POPEK-MBR: loaded by the firmware, printing through INT 10h\r\n' +
        'POPEK-MBR: writing to the UART at 0x3F8\r\n',
    );
    // The app's VMs have a VGA, and the host hands the firmware the bundled VGA BIOS: the Screen tab shows the same text.
    const screenShows = (line: string) => screenLines.includes(line);
    while (!screenShows('POPEK-MBR: loaded by the firmware, printing through INT 10h') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(screenLines.slice(0, 3)).toEqual([
      'SeaBIOS (version 1.16.2-debian-1.16.2-1)',
      'Booting from Hard Disk...',
      'POPEK-MBR: loaded by the firmware, printing through INT 10h',
    ]);
  }, 180_000);

  it('passes the VM\'s Boot order setting to the firmware: with only Optical checked the disk does not boot', async () => {
    const disk = join(root, 'boot.raw');
    const image = new Uint8Array(1024 * 1024);
    image.set(MBR);
    await writeFile(disk, image);
    const preset = (await host.listPresets()).find((p) => p.id === PC_FIRMWARE_ID)!;
    const created = await host.createVm({
      config: { ...preset.defaults, name: 'pc-cd', clock: 'deterministic', bootOrder: ['cdrom'], disks: [{ path: disk, format: 'raw', sizeMiB: 1 }] },
    });
    if (!created.ok) throw new Error(JSON.stringify(created.errors));
    const chunks: Uint8Array[] = [];
    host.subscribeSerial(created.vm.id, 0, (d) => chunks.push(d));
    await host.startVm(created.vm.id);
    const text = () => Buffer.concat(chunks).toString('latin1');
    const deadline = Date.now() + 120_000;
    while (!text().includes('Retrying in 60 seconds.\r\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(text()).toBe('\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\nNo bootable device.  Retrying in 60 seconds.\r\n');
  }, 180_000);
});
