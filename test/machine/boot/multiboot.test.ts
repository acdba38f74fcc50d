import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../../core/memory/physicalMemory.ts';
import { findMultibootHeader, loadMultibootKernel } from '../../../core/machine/boot/multiboot.ts';
import { bootKernel } from '../../../core/machine/boot/kernelBoot.ts';
import { BootError } from '../../../core/machine/boot/bootError.ts';
import { fakeBzImage } from './fakeBzImage.ts';

const MiB = 1024 * 1024;

/** An a.out-kludge kernel: the header at file offset 64, loaded at 1 MiB, 0x100 bytes of bss. */
function aoutKernel(flags = 0x10003, code = [0xf4]): Uint8Array {
  const img = new Uint8Array(256);
  const v = new DataView(img.buffer);
  const h = 64;
  v.setUint32(h, 0x1badb002, true);
  v.setUint32(h + 4, flags, true);
  v.setUint32(h + 8, (-(0x1badb002 + flags)) >>> 0, true);
  v.setUint32(h + 12, 0x100000 + h, true); // header_addr
  v.setUint32(h + 16, 0x100000, true); // load_addr
  v.setUint32(h + 20, 0x100000 + img.length, true); // load_end_addr
  v.setUint32(h + 24, 0x100000 + img.length + 0x100, true); // bss_end_addr
  v.setUint32(h + 28, 0x100000 + 128, true); // entry_addr
  img.set(code, 128);
  return img;
}

/** An ELF32 kernel with one PT_LOAD segment at 2 MiB: 16 bytes in the file, 64 in memory. */
function elfKernel(): Uint8Array {
  const img = new Uint8Array(0x1000 + 16);
  const v = new DataView(img.buffer);
  img.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 3, true); // EM_386
  v.setUint32(20, 1, true);
  v.setUint32(24, 0x200004, true); // e_entry
  v.setUint32(28, 52, true); // e_phoff
  v.setUint16(40, 52, true);
  v.setUint16(42, 32, true); // e_phentsize
  v.setUint16(44, 1, true); // e_phnum
  const ph = 52;
  v.setUint32(ph, 1, true); // PT_LOAD
  v.setUint32(ph + 4, 0x1000, true); // p_offset
  v.setUint32(ph + 8, 0x200000, true); // p_vaddr
  v.setUint32(ph + 12, 0x200000, true); // p_paddr
  v.setUint32(ph + 16, 16, true); // p_filesz
  v.setUint32(ph + 20, 64, true); // p_memsz
  // Multiboot header (no a.out kludge) at file offset 0x200
  v.setUint32(0x200, 0x1badb002, true);
  v.setUint32(0x204, 0x2, true);
  v.setUint32(0x208, (-(0x1badb002 + 2)) >>> 0, true);
  img.fill(0xcc, 0x1000, 0x1010);
  return img;
}

describe('Multiboot v1 loader', () => {
  it('finds a header only with a valid checksum', () => {
    expect(findMultibootHeader(aoutKernel())?.offset).toBe(64);
    const bad = aoutKernel();
    bad[64 + 8] ^= 1;
    expect(findMultibootHeader(bad)).toBeUndefined();
  });

  it('loads an a.out-kludge image, zeroes its bss and enters with the Multiboot registers', () => {
    const m = new PhysicalMemory(16 * MiB);
    m.u8.fill(0x55, 0x100100, 0x100200);
    const r = loadMultibootKernel(m, { kernel: aoutKernel(), cmdline: 'hello' });
    expect(r.entry.eax).toBe(0x2badb002);
    expect(r.entry.ebx).toBe(0x10000);
    expect(r.entry.eip).toBe(0x100080);
    expect(r.entry.cs).toBe(0x10);
    expect(r.entry.eflags).toBe(2);
    expect(m.u8[0x100080]).toBe(0xf4);
    expect(m.u8[0x100100]).toBe(0);
    expect(m.u8[0x1001ff]).toBe(0);
    expect(r.kernelEnd).toBe(0x100200);
  });

  it('builds the info structure: memory, cmdline, mmap, loader name', () => {
    const m = new PhysicalMemory(16 * MiB);
    loadMultibootKernel(m, { kernel: aoutKernel(), cmdline: 'hello' });
    const v = m.view;
    const info = 0x10000;
    expect(v.getUint32(info, true)).toBe(0x1 | 0x4 | 0x40 | 0x200);
    expect(v.getUint32(info + 4, true)).toBe(639);
    expect(v.getUint32(info + 8, true)).toBe((16 * MiB - 0x10000 - MiB) / 1024);
    const cmd = v.getUint32(info + 16, true);
    expect(new TextDecoder().decode(m.u8.subarray(cmd, cmd + 6))).toBe('hello\0');
    const name = v.getUint32(info + 64, true);
    expect(new TextDecoder().decode(m.u8.subarray(name, name + 6))).toBe('Popek\0');
    const mmapLength = v.getUint32(info + 44, true);
    const mmap = v.getUint32(info + 48, true);
    expect(mmapLength).toBe(5 * 24);
    const entries = [];
    for (let at = mmap; at < mmap + mmapLength; at += v.getUint32(at, true) + 4) {
      entries.push([Number(v.getBigUint64(at + 4, true)), Number(v.getBigUint64(at + 12, true)), v.getUint32(at + 20, true)]);
    }
    expect(entries).toEqual([
      [0, 0x9fc00, 1],
      [0x9fc00, 0x400, 2],
      [0xe0000, 0x20000, 2],
      [0x100000, 16 * MiB - 0x10000 - MiB, 1],
      [16 * MiB - 0x10000, 0x10000, 3],
    ]);
  });

  it('passes the initrd as module 0, page aligned after the kernel', () => {
    const m = new PhysicalMemory(16 * MiB);
    const r = loadMultibootKernel(m, { kernel: aoutKernel(), initrd: new Uint8Array([9, 8, 7]) });
    const v = m.view;
    expect(v.getUint32(0x10000, true) & 0x8).toBe(0x8);
    expect(v.getUint32(0x10000 + 20, true)).toBe(1);
    const mods = v.getUint32(0x10000 + 24, true);
    expect(v.getUint32(mods, true)).toBe(0x101000);
    expect(v.getUint32(mods + 4, true)).toBe(0x101003);
    expect(r.moduleAddr).toBe(0x101000);
    expect(Array.from(m.u8.subarray(0x101000, 0x101003))).toEqual([9, 8, 7]);
  });

  it('loads ELF32 PT_LOAD segments at their physical address and zeroes the rest of memsz', () => {
    const m = new PhysicalMemory(16 * MiB);
    m.u8.fill(0x55, 0x200000, 0x200100);
    const r = loadMultibootKernel(m, { kernel: elfKernel() });
    expect(r.entry.eip).toBe(0x200004);
    expect(m.u8[0x200000]).toBe(0xcc);
    expect(m.u8[0x20000f]).toBe(0xcc);
    expect(m.u8[0x200010]).toBe(0);
    expect(m.u8[0x20003f]).toBe(0);
    expect(m.u8[0x200040]).toBe(0x55);
  });

  it('rejects kernels that require a video mode', () => {
    const m = new PhysicalMemory(16 * MiB);
    expect(() => loadMultibootKernel(m, { kernel: aoutKernel(0x10004) })).toThrow(
      new BootError('Multiboot kernel requires a video mode (header flag 2); Popek has no display adapter'),
    );
  });

  it('rejects unknown required flags', () => {
    const m = new PhysicalMemory(16 * MiB);
    expect(() => loadMultibootKernel(m, { kernel: aoutKernel(0x10010) })).toThrow(/unsupported required flags 0x10/);
  });

  it('rejects an image that would load below 1 MiB or beyond RAM', () => {
    const low = aoutKernel();
    const v = new DataView(low.buffer);
    v.setUint32(64 + 12, 0x1000 + 64, true);
    v.setUint32(64 + 16, 0x1000, true);
    v.setUint32(64 + 20, 0x1000 + 256, true);
    v.setUint32(64 + 24, 0, true);
    v.setUint32(64 + 28, 0x1080, true);
    expect(() => loadMultibootKernel(new PhysicalMemory(16 * MiB), { kernel: low })).toThrow(/must lie between 1 MiB/);
    const huge = aoutKernel();
    new DataView(huge.buffer).setUint32(64 + 24, 0xffff0000, true);
    expect(() => loadMultibootKernel(new PhysicalMemory(16 * MiB), { kernel: huge })).toThrow(/must lie between 1 MiB/);
  });

  it('rejects a file that is neither bzImage nor Multiboot', () => {
    expect(() => bootKernel(new PhysicalMemory(16 * MiB), { kernel: new Uint8Array(4096) })).toThrow(
      new BootError('not a kernel Popek can boot: no bzImage HdrS signature and no Multiboot header'),
    );
  });

  it('bootKernel picks the protocol from the image and installs ACPI tables', () => {
    const m = new PhysicalMemory(16 * MiB);
    expect(bootKernel(m, { kernel: aoutKernel() }).protocol).toBe('multiboot');
    expect(String.fromCharCode(...m.u8.subarray(0xf0000, 0xf0008))).toBe('RSD PTR ');
    const m2 = new PhysicalMemory(16 * MiB);
    const r = bootKernel(m2, { kernel: fakeBzImage() });
    expect(r.protocol).toBe('linux');
    expect(m2.view.getUint32(0x10000 + 0x70, true)).toBe(0xf0000);
  });
});
