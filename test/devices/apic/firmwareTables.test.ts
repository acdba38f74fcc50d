/**
 * How the board describes its APICs to guests: the ACPI MADT beside the
 * other tables (listed in the RSDT and XSDT, and in the firmware's table
 * loader script), and the MP floating pointer and configuration table in
 * the BIOS area that a direct kernel boot writes. Checksums, the entries a
 * kernel parses, and the IRQ 0 -> pin 2 override.
 */
import { describe, expect, it } from 'vitest';
import { buildAcpiTables } from '../../../core/machine/firmware/acpiTables.ts';
import { buildAcpiLoaderFiles } from '../../../core/machine/firmware/acpiTableLoader.ts';
import { buildMpTables } from '../../../core/machine/firmware/mpTable.ts';
import { bootKernel } from '../../../core/machine/boot/kernelBoot.ts';
import { MP_FLOATING_ADDR } from '../../../core/machine/boot/memoryLayout.ts';

const sum = (b: Uint8Array) => b.reduce((a, x) => (a + x) & 0xff, 0);
const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
const u16 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint16(at, true);
const text = (b: Uint8Array, at: number, n: number) => String.fromCharCode(...b.subarray(at, at + n));

describe('ACPI MADT', () => {
  const base = 0x7ff0000;
  const set = buildAcpiTables(base, 0xf0000, { apic: true });
  const at = (addr: number) => set.tables.subarray(addr - base);

  it('is listed in the RSDT and XSDT after the FADT, with a valid checksum', () => {
    const rsdt = at(set.addresses.rsdt);
    expect(u32(rsdt, 4)).toBe(36 + 8);
    expect([u32(rsdt, 36), u32(rsdt, 40)]).toEqual([set.addresses.fadt, set.addresses.madt]);
    const xsdt = at(set.addresses.xsdt);
    expect([u32(xsdt, 36), u32(xsdt, 44)]).toEqual([set.addresses.fadt, set.addresses.madt]);
    const madt = at(set.addresses.madt);
    expect(text(madt, 0, 4)).toBe('APIC');
    expect(sum(madt.subarray(0, u32(madt, 4)))).toBe(0);
  });

  it('describes the local APIC, the I/O APIC, the IRQ 0 and SCI overrides and LINT1 NMI', () => {
    const madt = at(set.addresses.madt);
    expect(u32(madt, 36)).toBe(0xfee00000);
    expect(u32(madt, 40)).toBe(1); // PCAT_COMPAT
    const entries: string[] = [];
    for (let off = 44; off < u32(madt, 4); off += madt[off + 1]) {
      const e = madt.subarray(off, off + madt[off + 1]);
      if (e[0] === 0) entries.push(`lapic uid=${e[2]} id=${e[3]} flags=${u32(e, 4)}`);
      if (e[0] === 1) entries.push(`ioapic id=${e[2]} addr=${u32(e, 4).toString(16)} gsi=${u32(e, 8)}`);
      if (e[0] === 2) entries.push(`override irq=${e[3]} gsi=${u32(e, 4)} flags=${u16(e, 8)}`);
      if (e[0] === 4) entries.push(`nmi uid=${e[2]} lint=${e[5]}`);
    }
    expect(entries).toEqual(['lapic uid=0 id=0 flags=1', 'ioapic id=1 addr=fec00000 gsi=0', 'override irq=0 gsi=2 flags=0', 'override irq=9 gsi=9 flags=13', 'nmi uid=255 lint=1']);
  });

  it('is absent on a PIC-only board', () => {
    expect(buildAcpiTables(base, 0xf0000).addresses.madt).toBe(0);
  });

  it('the firmware loader script patches and checksums it', () => {
    const files = buildAcpiLoaderFiles({ apic: true });
    expect(files.tables.length).toBe(set.tables.length);
    const commands = files.loader.length / 128;
    expect(commands).toBe(buildAcpiLoaderFiles().loader.length / 128 + 3); // two pointers, one checksum
  });
});

describe('MP table', () => {
  const mp = buildMpTables(MP_FLOATING_ADDR, 0x6e8, 0x0789_a37d);

  it('has a floating pointer in the BIOS area naming the configuration table', () => {
    expect(text(mp.floating, 0, 4)).toBe('_MP_');
    expect(u32(mp.floating, 4)).toBe(mp.configAddr);
    expect([mp.floating[8], mp.floating[9], mp.floating[11], mp.floating[12]]).toEqual([1, 4, 0, 0]);
    expect(sum(mp.floating)).toBe(0);
    expect(mp.floatingAddr >= 0xf0000 && mp.configAddr + mp.config.length <= 0x100000).toBe(true);
  });

  it('lists the processor, the buses, the I/O APIC, 15 ISA interrupts and the local interrupts', () => {
    const c = mp.config;
    expect(text(c, 0, 4)).toBe('PCMP');
    expect(u16(c, 4)).toBe(c.length);
    expect(sum(c)).toBe(0);
    expect(u32(c, 36)).toBe(0xfee00000);
    const lines: string[] = [];
    let off = 44;
    for (let i = 0; i < u16(c, 34); i++) {
      const type = c[off];
      if (type === 0) lines.push(`cpu apic=${c[off + 1]} ver=${c[off + 2].toString(16)} flags=${c[off + 3]} sig=${u32(c, off + 4).toString(16)}`);
      if (type === 1) lines.push(`bus ${c[off + 1]} ${text(c, off + 2, 6).trim()}`);
      if (type === 2) lines.push(`ioapic ${c[off + 1]} ver=${c[off + 2].toString(16)} addr=${u32(c, off + 4).toString(16)}`);
      if (type === 3 || type === 4) lines.push(`${type === 3 ? 'io' : 'local'} type=${c[off + 1]} flags=${u16(c, off + 2)} bus=${c[off + 4]} irq=${c[off + 5]} -> ${c[off + 6]}:${c[off + 7]}`);
      off += type === 0 ? 20 : 8;
    }
    expect(off).toBe(c.length);
    expect(lines.slice(0, 4)).toEqual(['cpu apic=0 ver=14 flags=3 sig=6e8', 'bus 0 PCI', 'bus 1 ISA', 'ioapic 1 ver=11 addr=fec00000']);
    expect(lines).toContain('io type=0 flags=0 bus=1 irq=0 -> 1:2');
    expect(lines).toContain('io type=0 flags=13 bus=1 irq=9 -> 1:9');
    expect(lines.filter((l) => l.startsWith('io ')).length).toBe(15);
    expect(lines.slice(-2)).toEqual(['local type=3 flags=0 bus=1 irq=0 -> 255:0', 'local type=1 flags=0 bus=1 irq=0 -> 255:1']);
  });

  it('is written by a direct kernel boot on a board with the APICs, and not without', () => {
    const kernel = new Uint8Array(8192);
    // A minimal Multiboot v1 header (magic, flags 0, checksum) so bootKernel takes the image.
    new DataView(kernel.buffer).setUint32(0, 0x1badb002, true);
    new DataView(kernel.buffer).setUint32(8, (-0x1badb002) >>> 0, true);
    const ram = () => ({ u8: new Uint8Array(8 << 20), ramSize: 8 << 20 });
    const withApic = ram();
    try {
      bootKernel(withApic, { kernel, apic: { cpuSignature: 0x6e8, cpuFeatures: 0 } });
    } catch {
      // A header without a load address may be refused after the tables are written; the tables are what is checked.
    }
    expect(text(withApic.u8, MP_FLOATING_ADDR, 4)).toBe('_MP_');
    const without = ram();
    try {
      bootKernel(without, { kernel });
    } catch {
      // as above
    }
    expect(text(without.u8, MP_FLOATING_ADDR, 4)).toBe('\0\0\0\0');
  });
});
