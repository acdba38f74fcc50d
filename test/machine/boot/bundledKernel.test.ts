import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../../core/memory/physicalMemory.ts';
import { bootKernel } from '../../../core/machine/boot/kernelBoot.ts';
import { loadLinuxKernel } from '../../../core/machine/boot/linuxBoot.ts';
import { parseSetupHeader } from '../../../core/machine/boot/setupHeader.ts';

const GUEST = join(import.meta.dirname, '../../../resources/guests/tiny-linux');
const MiB = 1024 * 1024;

describe.runIf(existsSync(join(GUEST, 'bzImage')))('the bundled tiny-linux bzImage', () => {
  const kernel = new Uint8Array(readFileSync(join(GUEST, 'bzImage')));
  const initrd = new Uint8Array(readFileSync(join(GUEST, 'initramfs.cpio.gz')));

  it('has a setup header Popek can boot: protocol 2.15, LOADED_HIGH, loaded at 1 MiB', () => {
    const h = parseSetupHeader(kernel);
    expect(h.version).toBe(0x20f);
    expect(h.loadflags & 1).toBe(1);
    expect(h.code32Start).toBe(0x100000);
    expect(h.cmdlineSize).toBe(2047);
    expect(h.initrdAddrMax).toBe(0x7fffffff);
    expect(h.kernelOffset).toBe((h.setupSects + 1) * 512);
    expect(h.initSize).toBeGreaterThan(kernel.length - h.kernelOffset);
  });

  it('loads with its initramfs into 128 MiB: payload at 1 MiB, initrd at the top, boot_params filled', () => {
    const m = new PhysicalMemory(128 * MiB);
    const h = parseSetupHeader(kernel);
    const r = loadLinuxKernel(m, { kernel, initrd, cmdline: 'console=ttyS0', acpiRsdpAddr: 0xf0000 });
    expect(Array.from(m.u8.subarray(0x100000, 0x100010))).toEqual(Array.from(kernel.subarray(h.kernelOffset, h.kernelOffset + 16)));
    const expectedInitrd = Math.floor((128 * MiB - 0x10000 - initrd.length) / 4096) * 4096;
    expect(r.initrdAddr).toBe(expectedInitrd);
    expect(Array.from(m.u8.subarray(expectedInitrd, expectedInitrd + 2))).toEqual([0x1f, 0x8b]); // gzip magic
    expect(m.view.getUint32(0x10000 + 0x202, true)).toBe(0x53726448);
    expect(m.view.getUint32(0x10000 + 0x21c, true)).toBe(initrd.length);
    expect(m.view.getUint32(0x10000 + 0x070, true)).toBe(0xf0000);
    expect(r.entry.eip).toBe(0x100000);
  });

  it('needs room for decompression from 16 MiB (pref_address) and says so in a small machine', () => {
    expect(parseSetupHeader(kernel).prefAddress).toBe(0x1000000);
    expect(() => bootKernel(new PhysicalMemory(6 * MiB), { kernel, initrd })).toThrow(
      /^kernel needs more memory than the machine has \(needs 2\d MiB, machine has 6 MiB\)$/,
    );
  });

  it('keeps the initramfs clear of the decompressed kernel', () => {
    const h = parseSetupHeader(kernel);
    // Just enough RAM for the kernel's own footprint, not for the initramfs as well.
    const mibs = Math.ceil((h.prefAddress + h.initSize + 0x10000) / MiB);
    expect(() => bootKernel(new PhysicalMemory(mibs * MiB), { kernel })).not.toThrow();
    expect(() => bootKernel(new PhysicalMemory(mibs * MiB), { kernel, initrd })).toThrow(
      new RegExp(`^too little memory for the initrd \\(needs \\d+ MiB, machine has ${mibs} MiB\\)$`),
    );
  });
});
