/**
 * Guest presets offered by the New VM wizard. A preset is a guest type id
 * plus defaults; the VM keeps the id in `guestType` so the UI can show what it
 * was created as.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SerialPortConfig, VmConfigDraft } from '../machine/config.ts';
import type { GuestPreset } from './api.ts';
import { DEFAULT_ACCELERATION } from '../machine/acceleration.ts';
import { seabiosBesideGuests } from '../machine/firmware/bundledFirmware.ts';

/** Prefix of config paths that resolve against the app's bundled guests folder. */
export const BUNDLED_PREFIX = '@guests/';
/** Prefix of config paths that resolve against the bundled firmware folder (beside the guests folder). */
export const FIRMWARE_PREFIX = '@firmware/';

export const TINY_LINUX_ID = 'tiny-linux';
export const LINUX_CUSTOM_ID = 'linux-custom';
export const FIRMWARE_ROM_ID = 'firmware-rom';
export const PC_FIRMWARE_ID = 'pc-firmware';
export const ISO_INSTALL_ID = 'iso-install';

const consoleCom1: SerialPortConfig = { enabled: true, mode: 'console' };
const consoleCom2: SerialPortConfig = { enabled: false, mode: 'console' };

function baseDefaults(): Omit<VmConfigDraft, 'name' | 'guestType' | 'boot'> {
  return {
    memoryMiB: 128,
    cpus: 1,
    bootOrder: ['disk'],
    disks: [],
    serial: [{ ...consoleCom1 }, { ...consoleCom2 }],
    clock: 'realtime',
    acceleration: DEFAULT_ACCELERATION,
    nestedPaging: true,
  };
}

/** The presets, with availability checked against `guestsFolder` (the bundled guests). */
export function listPresets(guestsFolder: string): GuestPreset[] {
  const tinyKernel = join(guestsFolder, 'tiny-linux', 'bzImage');
  const tinyInitrd = join(guestsFolder, 'tiny-linux', 'initramfs.cpio.gz');
  const tinyMissing = [tinyKernel, tinyInitrd].filter((p) => !existsSync(p));
  const seabios = seabiosBesideGuests(guestsFolder);
  return [
    {
      id: TINY_LINUX_ID,
      label: 'Tiny Linux demo',
      description: 'A small Linux kernel and BusyBox initramfs bundled with Popek; its shell runs on COM1.',
      bundled: true,
      available: tinyMissing.length === 0,
      ...(tinyMissing.length ? { unavailableReason: `bundled guest files missing: ${tinyMissing.join(', ')}` } : {}),
      defaults: {
        ...baseDefaults(),
        guestType: TINY_LINUX_ID,
        boot: {
          kind: 'linux',
          kernel: `${BUNDLED_PREFIX}tiny-linux/bzImage`,
          initrd: `${BUNDLED_PREFIX}tiny-linux/initramfs.cpio.gz`,
          cmdline: 'console=ttyS0',
        },
      },
    },
    {
      id: LINUX_CUSTOM_ID,
      label: 'Linux (custom kernel)',
      description: 'Boots a Linux bzImage (and optional initrd) of your choice with your command line.',
      bundled: false,
      available: true,
      defaults: {
        ...baseDefaults(),
        memoryMiB: 256,
        guestType: LINUX_CUSTOM_ID,
        boot: { kind: 'linux', kernel: '', cmdline: 'console=ttyS0' },
      },
    },
    {
      id: PC_FIRMWARE_ID,
      label: 'PC with firmware (SeaBIOS)',
      description: 'Boots like a PC: the SeaBIOS firmware bundled with Popek starts and boots the first disk. Its messages appear on COM1.',
      // The firmware is bundled but the boot step still shows it as a ROM image (bundled means "kernel and initramfs" to the wizard).
      bundled: false,
      available: existsSync(seabios),
      ...(existsSync(seabios) ? {} : { unavailableReason: `bundled firmware missing: ${seabios}` }),
      defaults: {
        ...baseDefaults(),
        memoryMiB: 64,
        guestType: PC_FIRMWARE_ID,
        boot: { kind: 'rom', rom: `${FIRMWARE_PREFIX}seabios/bios.bin` },
      },
    },
    {
      id: ISO_INSTALL_ID,
      label: 'Install from an ISO image',
      description:
        'A PC with the bundled SeaBIOS firmware that boots an ISO image from its CD-ROM drive, then its new empty hard disk: for installing an OS from its installation CD.',
      bundled: false,
      newDisk: true,
      available: existsSync(seabios),
      ...(existsSync(seabios) ? {} : { unavailableReason: `bundled firmware missing: ${seabios}` }),
      defaults: {
        ...baseDefaults(),
        memoryMiB: 256,
        guestType: ISO_INSTALL_ID,
        boot: { kind: 'rom', rom: `${FIRMWARE_PREFIX}seabios/bios.bin` },
        bootOrder: ['cdrom', 'disk'],
        // One IDE CD-ROM drive; the wizard asks for the ISO image that goes in it.
        cdroms: [{}],
      },
    },
    {
      id: FIRMWARE_ROM_ID,
      label: 'Firmware ROM image',
      description: 'Runs a raw firmware image (a multiple of 64 KiB, reset vector in its last 16 bytes).',
      bundled: false,
      available: true,
      defaults: {
        ...baseDefaults(),
        memoryMiB: 16,
        guestType: FIRMWARE_ROM_ID,
        boot: { kind: 'rom', rom: '' },
      },
    },
  ];
}
