import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../../core/memory/physicalMemory.ts';
import { PCI_MEM_WINDOW, buildAcpiTables, installAcpiTables } from '../../../core/machine/firmware/acpiTables.ts';
import { DSDT_AML } from '../../../core/machine/firmware/dsdtAml.ts';
import { ACPI_S5_SLP_TYP } from '../../../core/devices/acpiPm.ts';

const TABLES = 0x7ff0000;
const RSDP = 0xf0000;

/** Reads a table out of the built set by physical address. */
function tableAt(set: ReturnType<typeof buildAcpiTables>, pa: number): { bytes: Uint8Array; v: DataView; sig: string } {
  const off = pa - set.tablesAddr;
  const length = new DataView(set.tables.buffer, set.tables.byteOffset + off).getUint32(4, true);
  const bytes = set.tables.subarray(off, off + length);
  return { bytes, v: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), sig: ascii(bytes, 0, 4) };
}

function ascii(b: Uint8Array, off: number, len: number): string {
  return String.fromCharCode(...b.subarray(off, off + len));
}

function sum(b: Uint8Array): number {
  return b.reduce((s, x) => (s + x) & 0xff, 0);
}

function gas(v: DataView, off: number): [number, number, number] {
  return [v.getUint8(off), v.getUint8(off + 1), Number(v.getBigUint64(off + 4, true))];
}

describe('ACPI tables', () => {
  const set = buildAcpiTables(TABLES, RSDP);

  it('RSDP is revision 2 with both checksums correct and points at RSDT and XSDT', () => {
    const r = set.rsdp;
    const v = new DataView(r.buffer);
    expect(ascii(r, 0, 8)).toBe('RSD PTR ');
    expect(sum(r.subarray(0, 20))).toBe(0);
    expect(sum(r)).toBe(0);
    expect(r[15]).toBe(2);
    expect(v.getUint32(20, true)).toBe(36);
    expect(v.getUint32(16, true)).toBe(set.addresses.rsdt);
    expect(Number(v.getBigUint64(24, true))).toBe(set.addresses.xsdt);
  });

  it('every SDT checksums to zero and RSDT/XSDT list exactly the FADT', () => {
    for (const pa of [set.addresses.dsdt, set.addresses.fadt, set.addresses.rsdt, set.addresses.xsdt]) {
      expect(sum(tableAt(set, pa).bytes)).toBe(0);
    }
    const rsdt = tableAt(set, set.addresses.rsdt);
    expect(rsdt.sig).toBe('RSDT');
    expect(rsdt.bytes.length).toBe(40);
    expect(rsdt.v.getUint32(36, true)).toBe(set.addresses.fadt);
    const xsdt = tableAt(set, set.addresses.xsdt);
    expect(xsdt.sig).toBe('XSDT');
    expect(xsdt.bytes.length).toBe(44);
    expect(Number(xsdt.v.getBigUint64(36, true))).toBe(set.addresses.fadt);
  });

  it('FADT describes the PM block, SCI 9, no SMM, and the 0xCF9 reset register', () => {
    const f = tableAt(set, set.addresses.fadt);
    expect(f.sig).toBe('FACP');
    expect(f.bytes.length).toBe(244);
    expect(f.bytes[8]).toBe(3);
    expect(f.v.getUint32(36, true)).toBe(set.addresses.facs);
    expect(f.v.getUint32(40, true)).toBe(set.addresses.dsdt);
    expect(f.v.getUint16(46, true)).toBe(9);
    expect(f.v.getUint32(48, true)).toBe(0);
    expect(f.v.getUint32(56, true)).toBe(0x600);
    expect(f.v.getUint32(64, true)).toBe(0x604);
    expect(f.v.getUint32(76, true)).toBe(0x608);
    expect([f.bytes[88], f.bytes[89], f.bytes[90], f.bytes[91], f.bytes[92]]).toEqual([4, 2, 0, 4, 0]);
    expect(f.v.getUint32(80, true)).toBe(0); // no GPE0 block
    expect(f.v.getUint16(109, true)).toBe(0b111);
    // WBINVD | PROC_C1 | SLP_BUTTON | FIX_RTC | RESET_REG_SUP; 24-bit timer
    expect(f.v.getUint32(112, true)).toBe(0x1 | 0x4 | 0x20 | 0x40 | 0x400);
    expect(gas(f.v, 116)).toEqual([1, 8, 0xcf9]);
    expect(f.bytes[128]).toBe(6);
    expect(Number(f.v.getBigUint64(132, true))).toBe(0); // X_FIRMWARE_CTRL unused: FACS is below 4 GiB
    expect(Number(f.v.getBigUint64(140, true))).toBe(set.addresses.dsdt);
    expect(gas(f.v, 148)).toEqual([1, 32, 0x600]);
    expect(gas(f.v, 172)).toEqual([1, 16, 0x604]);
    expect(gas(f.v, 208)).toEqual([1, 32, 0x608]);
  });

  it('DSDT is the AML compiled from dsdt.asl under the header every table shares, starting with \\_S5 = {5, 5, 0, 0}', () => {
    const d = tableAt(set, set.addresses.dsdt);
    expect(d.sig).toBe('DSDT');
    expect(d.bytes[8]).toBe(2); // revision 2: 64-bit integers
    expect(ascii(d.bytes, 10, 6)).toBe('POPEK ');
    expect(ascii(d.bytes, 16, 8)).toBe('POPEKVM ');
    expect(d.bytes.length).toBe(DSDT_AML.length);
    expect(Array.from(d.bytes.subarray(36))).toEqual(Array.from(DSDT_AML.subarray(36)));
    // Name(_S5, Package(4){SLP_TYPa, SLP_TYPb, 0, 0}): iasl drops the redundant root prefix of \_S5.
    const s5 = [0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x08, 0x04, 0x0a, ACPI_S5_SLP_TYP, 0x0a, ACPI_S5_SLP_TYP, 0, 0];
    expect(Array.from(d.bytes.subarray(36, 36 + s5.length))).toEqual(s5);
  });

  it('DSDT gives the PCI root bridge the fixed memory window 0x80000000-0xFEBFFFFF', () => {
    const d = tableAt(set, set.addresses.dsdt);
    // DWordMemory descriptor: tag 0x87, length 0x17, producer/fixed flags, then granularity, min, max, translation, length.
    const body = Array.from(d.bytes);
    const le32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
    const window = [...le32(0), ...le32(PCI_MEM_WINDOW.base), ...le32(PCI_MEM_WINDOW.limit), ...le32(0), ...le32(PCI_MEM_WINDOW.limit - PCI_MEM_WINDOW.base + 1)];
    const at = indexOfSeq(body, window);
    expect(at).toBeGreaterThan(0);
    expect(body.slice(at - 6, at - 3)).toEqual([0x87, 0x17, 0x00]);
  });

  it('refuses to install tables when RAM would reach into the PCI memory window', () => {
    const ram = { u8: new Uint8Array(0), ramSize: PCI_MEM_WINDOW.base + 0x100000 };
    expect(() => installAcpiTables(ram)).toThrow(RangeError);
  });

  it('FACS is 64-byte aligned with its signature and length', () => {
    expect(set.addresses.facs % 64).toBe(0);
    const off = set.addresses.facs - TABLES;
    expect(ascii(set.tables, off, 4)).toBe('FACS');
    expect(new DataView(set.tables.buffer).getUint32(off + 4, true)).toBe(64);
  });

  it('installs the tables at the top of RAM and the RSDP at 0xF0000', () => {
    const m = new PhysicalMemory(128 * 1024 * 1024);
    const installed = installAcpiTables(m);
    expect(installed.tablesAddr).toBe(128 * 1024 * 1024 - 0x10000);
    expect(ascii(m.u8, 0xf0000, 8)).toBe('RSD PTR ');
    expect(ascii(m.u8, installed.addresses.fadt, 4)).toBe('FACP');
  });

  it.runIf(hasIasl())('disassembles cleanly with iasl', () => {
    const dir = mkdtempSync(join(tmpdir(), 'popek-acpi-'));
    try {
      const names: Record<string, number> = { dsdt: set.addresses.dsdt, facp: set.addresses.fadt };
      for (const [name, pa] of Object.entries(names)) {
        writeFileSync(join(dir, `${name}.dat`), tableAt(set, pa).bytes);
        execFileSync('iasl', ['-d', `${name}.dat`], { cwd: dir, stdio: 'pipe' });
      }
      const dsl = readFileSync(join(dir, 'dsdt.dsl'), 'utf8');
      expect(dsl).toMatch(/Name \(_S5, Package \(0x04\)/);
      expect(dsl).toMatch(/Name \(_HID, EisaId \("PNP0A03"\)/);
      const facp = readFileSync(join(dir, 'facp.dsl'), 'utf8');
      expect(facp).not.toMatch(/Invalid|Error|incorrect/i);
      expect(facp).toMatch(/PM1A Control Block Address : 00000604/);
      expect(facp).toMatch(/Reset Register Supported \(V2\) : 1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function indexOfSeq(haystack: number[], needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function hasIasl(): boolean {
  try {
    execFileSync('iasl', ['-v'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}
