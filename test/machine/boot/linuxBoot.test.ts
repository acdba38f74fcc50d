import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../../core/memory/physicalMemory.ts';
import { loadLinuxKernel } from '../../../core/machine/boot/linuxBoot.ts';
import { parseSetupHeader } from '../../../core/machine/boot/setupHeader.ts';
import { BootError } from '../../../core/machine/boot/bootError.ts';
import { BOOT_CS, BOOT_DS, BOOT_GDT_ADDR } from '../../../core/machine/boot/entryState.ts';
import { fakeBzImage } from './fakeBzImage.ts';

const MiB = 1024 * 1024;

function ram(mibs: number): PhysicalMemory {
  return new PhysicalMemory(mibs * MiB);
}

function u32(m: PhysicalMemory, pa: number): number {
  return m.view.getUint32(pa, true);
}

describe('setup header parsing', () => {
  it('reads the protocol fields and treats setup_sects 0 as 4', () => {
    const h = parseSetupHeader(fakeBzImage({ setupSects: 0, version: 0x20c, cmdlineSize: 255 }));
    expect(h.setupSects).toBe(4);
    expect(h.kernelOffset).toBe(5 * 512);
    expect(h.version).toBe(0x20c);
    expect(h.cmdlineSize).toBe(255);
    expect(h.code32Start).toBe(0x100000);
    expect(h.relocatable).toBe(true);
    expect(h.kernelAlignment).toBe(0x1000);
    expect(h.prefAddress).toBe(0x100000);
    expect(h.headerEnd).toBe(0x268);
  });

  it('rejects an image without the HdrS signature', () => {
    expect(() => parseSetupHeader(fakeBzImage({ magic: 'XXXX' }))).toThrow(new BootError('not a bzImage: missing HdrS signature'));
  });

  it('rejects boot protocols older than 2.06 naming both versions', () => {
    expect(() => parseSetupHeader(fakeBzImage({ version: 0x205 }))).toThrow(/boot protocol 2\.05; Popek needs 2\.06 or newer/);
  });

  it('rejects kernels without LOADED_HIGH', () => {
    expect(() => parseSetupHeader(fakeBzImage({ loadflags: 0 }))).toThrow(/zImage \(loaded low\)/);
  });

  it('rejects a truncated file', () => {
    expect(() => parseSetupHeader(new Uint8Array(100))).toThrow(/not a bzImage: file is too small/);
  });
});

describe('Linux 32-bit boot protocol loader', () => {
  it('loads the protected-mode kernel at code32_start and enters it with ESI = boot_params', () => {
    const m = ram(16);
    const payload = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const r = loadLinuxKernel(m, { kernel: fakeBzImage({ payload }), cmdline: 'console=ttyS0' });
    expect(Array.from(m.u8.subarray(0x100000, 0x100008))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(r.entry.eip).toBe(0x100000);
    expect(r.entry.esi).toBe(0x10000);
    expect(r.entry.ebp).toBe(0);
    expect(r.entry.edi).toBe(0);
    expect(r.entry.ebx).toBe(0);
    expect(r.entry.eflags).toBe(0x2);
    expect(r.entry.cs).toBe(BOOT_CS);
    expect([r.entry.ds, r.entry.es, r.entry.ss, r.entry.fs, r.entry.gs]).toEqual([BOOT_DS, BOOT_DS, BOOT_DS, BOOT_DS, BOOT_DS]);
    expect(r.entry.gdtBase).toBe(BOOT_GDT_ADDR);
    expect(r.entry.gdtLimit).toBe(31);
    // flat 4 GiB code and data descriptors
    expect(Array.from(m.u8.subarray(0x510, 0x520))).toEqual([
      0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0, 0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0,
    ]);
  });

  it('fills boot_params: header copy, loader type, flags, cmdline, e820, RSDP, alt_mem_k, no video', () => {
    const m = ram(16);
    const kernel = fakeBzImage();
    loadLinuxKernel(m, { kernel, cmdline: 'console=ttyS0 quiet', acpiRsdpAddr: 0xf0000 });
    const bp = 0x10000;
    expect(u32(m, bp + 0x202)).toBe(0x53726448);
    expect(m.view.getUint16(bp + 0x206, true)).toBe(0x20f);
    expect(m.u8[bp + 0x210]).toBe(0xff);
    expect(m.u8[bp + 0x211]).toBe(0x81);
    expect(m.view.getUint16(bp + 0x224, true)).toBe(0xde00);
    expect(u32(m, bp + 0x228)).toBe(0x20000);
    expect(new TextDecoder().decode(m.u8.subarray(0x20000, 0x20013))).toBe('console=ttyS0 quiet');
    expect(m.u8[0x20013]).toBe(0);
    expect(u32(m, bp + 0x218)).toBe(0);
    expect(u32(m, bp + 0x21c)).toBe(0);
    expect(u32(m, bp + 0x070)).toBe(0xf0000);
    expect(u32(m, bp + 0x1e0)).toBe((16 * MiB - 0x10000 - MiB) / 1024);
    // screen_info: no VGA text console
    expect(m.u8[bp + 0x07]).toBe(0);
    expect(m.u8[bp + 0x0e]).toBe(0);
    expect(m.u8[bp + 0x0f]).toBe(0);
    expect(m.u8[bp + 0x1e8]).toBe(5);
    const e820 = [];
    for (let i = 0; i < 5; i++) {
      const at = bp + 0x2d0 + i * 20;
      e820.push([u32(m, at), u32(m, at + 8), u32(m, at + 16)]);
    }
    expect(e820).toEqual([
      [0, 0x9fc00, 1],
      [0x9fc00, 0x400, 2],
      [0xe0000, 0x20000, 2],
      [0x100000, 16 * MiB - 0x10000 - 0x100000, 1],
      [16 * MiB - 0x10000, 0x10000, 3],
    ]);
    // BIOS data area: EBDA segment and base memory size
    expect(m.view.getUint16(0x40e, true)).toBe(0x9fc0);
    expect(m.view.getUint16(0x413, true)).toBe(639);
  });

  it('does not pass the RSDP to kernels older than protocol 2.14', () => {
    const m = ram(16);
    loadLinuxKernel(m, { kernel: fakeBzImage({ version: 0x20d }), acpiRsdpAddr: 0xf0000 });
    expect(u32(m, 0x10000 + 0x070)).toBe(0);
  });

  it('places the initrd page-aligned at the top of usable RAM', () => {
    const m = ram(16);
    const initrd = new Uint8Array(5000).fill(0xab);
    const r = loadLinuxKernel(m, { kernel: fakeBzImage(), initrd });
    const expected = Math.floor((16 * MiB - 0x10000 - 5000) / 4096) * 4096;
    expect(r.initrdAddr).toBe(expected);
    expect(u32(m, 0x10000 + 0x218)).toBe(expected);
    expect(u32(m, 0x10000 + 0x21c)).toBe(5000);
    expect(m.u8[expected]).toBe(0xab);
    expect(m.u8[expected + 4999]).toBe(0xab);
  });

  it('keeps the initrd below initrd_addr_max', () => {
    const m = ram(16);
    const r = loadLinuxKernel(m, { kernel: fakeBzImage({ initrdAddrMax: 0x7fffff }), initrd: new Uint8Array(4096) });
    expect(r.initrdAddr).toBe(0x7ff000);
  });

  it('refuses an initrd that would overlap the kernel', () => {
    const m = ram(4);
    expect(() => loadLinuxKernel(m, { kernel: fakeBzImage({ initSize: 0x100000 }), initrd: new Uint8Array(3 * MiB) })).toThrow(
      new BootError('too little memory for the initrd (needs 6 MiB, machine has 4 MiB)'),
    );
  });

  it('refuses a kernel whose init_size does not fit in RAM', () => {
    const m = ram(4);
    expect(() => loadLinuxKernel(m, { kernel: fakeBzImage({ initSize: 8 * MiB }) })).toThrow(
      new BootError('kernel needs more memory than the machine has (needs 10 MiB, machine has 4 MiB)'),
    );
  });

  it('reserves init_size from pref_address for a non-relocatable kernel', () => {
    expect(() =>
      loadLinuxKernel(ram(16), { kernel: fakeBzImage({ relocatable: false, prefAddress: 0x1000000, initSize: 0x500000 }) }),
    ).toThrow(new BootError('kernel needs more memory than the machine has (needs 22 MiB, machine has 16 MiB)'));
    const r = loadLinuxKernel(ram(32), {
      kernel: fakeBzImage({ relocatable: false, prefAddress: 0x1000000, initSize: 0x500000 }),
      initrd: new Uint8Array(4096),
    });
    expect(r.kernelSpan).toBe(0x1500000 - 0x100000);
    expect(r.initrdAddr).toBe(32 * MiB - 0x10000 - 0x1000);
  });

  it('reserves init_size from the load address rounded up to kernel_alignment for a relocatable kernel', () => {
    const r = loadLinuxKernel(ram(32), { kernel: fakeBzImage({ kernelAlignment: 0x200000, initSize: 0x100000 }) });
    expect(r.kernelSpan).toBe(0x300000 - 0x100000);
  });

  it('refuses a command line longer than cmdline_size', () => {
    const m = ram(16);
    expect(() => loadLinuxKernel(m, { kernel: fakeBzImage({ cmdlineSize: 10 }), cmdline: 'console=ttyS0' })).toThrow(
      new BootError('kernel command line is 13 bytes; this kernel accepts at most 10'),
    );
  });

  it('accepts a command line of exactly cmdline_size bytes', () => {
    const m = ram(16);
    loadLinuxKernel(m, { kernel: fakeBzImage({ cmdlineSize: 13 }), cmdline: 'console=ttyS0' });
    expect(m.u8[0x20000 + 13]).toBe(0);
  });

  it('refuses code32_start below 1 MiB', () => {
    const m = ram(16);
    expect(() => loadLinuxKernel(m, { kernel: fakeBzImage({ code32Start: 0x1000 }) })).toThrow(/below 1 MiB/);
  });
});
