/**
 * The MMIO emulator's string instructions (core/hypervisor/exits/mmio.ts):
 * MOVS, STOS and LODS on device memory, with and without REP, 16- and 32-bit
 * addressing, both directions, operands mixing RAM and a device, as a VGA
 * BIOS scrolls its text screen under the hypervisor. The instructions are the
 * processor's own decoding of real bytes; the "board" is a RAM array and a
 * device window at 0xB8000 that logs every access with its width. Then
 * domainPhysicalBus, the `physical` bus a vendor layer gives them: a
 * domain's RAM, ROM and devices by guest-physical address.
 */
import { describe, expect, it } from 'vitest';
import { decodeInstruction } from '../../../core/cpu/decoder.ts';
import { DS, ECX, EDI, ES, ESI, FS } from '../../../core/cpu/regs.ts';
import { domainPhysicalBus, emulateMmioAccess, type GuestGprs, type MmioBus, type StringAccessContext } from '../../../core/hypervisor/exits/mmio.ts';
import { DomainMemory } from '../../../core/hypervisor/memory/domainMemory.ts';
import { FRAME_SIZE } from '../../../core/hypervisor/memory/frameAllocator.ts';
import { MachineMemory } from '../../../core/hypervisor/memory/machineMemory.ts';

const VGA = 0xb8000;
const VGA_BYTES = 0x8000;
const DF = 1 << 10;

/** Guest RAM below 1 MiB except the device window, which is the device's own memory with an access log. */
function board() {
  const ram = new Uint8Array(0x100000);
  const device = new Uint8Array(VGA_BYTES);
  const log: string[] = [];
  const isDevice = (pa: number) => pa >= VGA && pa < VGA + VGA_BYTES;
  const read = (pa: number, size: number) => {
    const bytes = isDevice(pa) ? device.subarray(pa - VGA) : ram.subarray(pa);
    let value = 0;
    for (let i = size - 1; i >= 0; i--) value = value * 256 + bytes[i]!;
    if (isDevice(pa)) log.push(`r${size * 8} ${pa.toString(16)}`);
    return value;
  };
  const write = (pa: number, size: number, value: number) => {
    const bytes = isDevice(pa) ? device.subarray(pa - VGA) : ram.subarray(pa);
    for (let i = 0; i < size; i++) bytes[i] = (value >>> (8 * i)) & 0xff;
    if (isDevice(pa)) log.push(`w${size * 8} ${pa.toString(16)}=${value.toString(16)}`);
  };
  const physical: MmioBus = {
    read8: (pa) => read(pa, 1), read16: (pa) => read(pa, 2), read32: (pa) => read(pa, 4),
    write8: (pa, v) => write(pa, 1, v), write16: (pa, v) => write(pa, 2, v), write32: (pa, v) => write(pa, 4, v),
  };
  return { ram, device, log, physical };
}

function registers(initial: Record<number, number>): GuestGprs & { regs: Int32Array } {
  const regs = new Int32Array(8);
  for (const [i, v] of Object.entries(initial)) regs[Number(i)] = v;
  return { regs, get: (i) => regs[i]!, set: (i, v) => (regs[i] = v) };
}

const decode = (bytes: number[], cs32: boolean) => decodeInstruction((offset) => bytes[offset] ?? 0x90, cs32, 0);

/** Real-mode-like segments (base = selector * 16) and identity paging, unless a test replaces them. */
function context(physical: MmioBus, bases: Partial<Record<number, number>>, eflags = 0, linearToPhysical = (la: number) => la): StringAccessContext {
  return { eflags, segmentBase: (seg) => bases[seg] ?? 0, linearToPhysical, physical };
}

describe('string instructions on device memory', () => {
  it('REP MOVSW scrolls the text screen up a row inside the device (16-bit addressing keeps the registers\' upper halves)', () => {
    const b = board();
    for (let i = 0; i < 25 * 80; i++) b.device[i * 2] = 0x41 + Math.floor(i / 80); // row r is full of 'A' + r
    const gprs = registers({ [ESI]: 0x1234_0000 + 160, [EDI]: 0x5678_0000, [ECX]: 0x7fff_0000 + 24 * 80 });
    const outcome = emulateMmioAccess(decode([0xf3, 0xa5], false), VGA, gprs, b.physical, context(b.physical, { [DS]: VGA, [ES]: VGA }));
    expect(outcome).toEqual({ ok: true });
    expect(Array.from({ length: 25 }, (_, r) => String.fromCharCode(b.device[r * 160]!))).toEqual([...'BCDEFGHIJKLMNOPQRSTUVWXYY']);
    expect(gprs.regs[ESI]).toBe(0x1234_0000 + 160 + 24 * 160);
    expect(gprs.regs[EDI]).toBe(0x5678_0000 + 24 * 160);
    expect(gprs.regs[ECX]).toBe(0x7fff_0000);
    expect(b.log.length).toBe(2 * 24 * 80);
    expect(b.log.slice(0, 2)).toEqual(['r16 b80a0', 'w16 b8000=42']);
  });

  it('REP STOSW clears the last row with AX (blank, attribute 07)', () => {
    const b = board();
    b.device.fill(0x55);
    const gprs = registers({ 0: 0x0720, [EDI]: 24 * 160, [ECX]: 80 });
    expect(emulateMmioAccess(decode([0xf3, 0xab], false), VGA + 24 * 160, gprs, b.physical, context(b.physical, { [ES]: VGA }))).toEqual({ ok: true });
    expect([...b.device.subarray(24 * 160, 25 * 160)]).toEqual(Array.from({ length: 160 }, (_, i) => (i % 2 ? 0x07 : 0x20)));
    expect(b.device[24 * 160 - 1]).toBe(0x55);
    expect(b.device[25 * 160]).toBe(0x55);
    expect([gprs.regs[EDI], gprs.regs[ECX]]).toEqual([25 * 160, 0]);
  });

  it('REP MOVSD in 32-bit code copies RAM to the device in 32-bit accesses; REP with ECX = 0 does nothing', () => {
    const b = board();
    b.ram.set([1, 2, 3, 4, 5, 6, 7, 8], 0x2000);
    const gprs = registers({ [ESI]: 0x2000, [EDI]: VGA + 0x100, [ECX]: 2 });
    const flat = context(b.physical, {});
    expect(emulateMmioAccess(decode([0xf3, 0xa5], true), VGA + 0x100, gprs, b.physical, flat)).toEqual({ ok: true });
    expect(b.log).toEqual(['w32 b8100=4030201', 'w32 b8104=8070605']);
    expect([gprs.regs[ESI], gprs.regs[EDI], gprs.regs[ECX]]).toEqual([0x2008, VGA + 0x108, 0]);
    b.log.length = 0;
    expect(emulateMmioAccess(decode([0xf3, 0xa5], true), VGA + 0x108, gprs, b.physical, flat)).toEqual({ ok: true });
    expect(b.log).toEqual([]);
    expect([gprs.regs[ESI], gprs.regs[EDI], gprs.regs[ECX]]).toEqual([0x2008, VGA + 0x108, 0]);
  });

  it('MOVSB without REP moves one byte, backwards with DF set, from an FS-overridden source', () => {
    const b = board();
    b.device[0x10] = 0x99;
    const gprs = registers({ [ESI]: 0x10, [EDI]: 0x3000, [ECX]: 5 });
    const ctx = context(b.physical, { [FS]: VGA, [ES]: 0 }, DF);
    expect(emulateMmioAccess(decode([0x64, 0xa4], true), VGA + 0x10, gprs, b.physical, ctx)).toEqual({ ok: true });
    expect(b.ram[0x3000]).toBe(0x99);
    expect([gprs.regs[ESI], gprs.regs[EDI], gprs.regs[ECX]]).toEqual([0x0f, 0x2fff, 5]);
  });

  it('LODSD and LODSB load EAX and AL from the device', () => {
    const b = board();
    b.device.set([0x78, 0x56, 0x34, 0x12, 0xab], 0x20);
    const gprs = registers({ 0: 0x1111_1111, [ESI]: VGA + 0x20 });
    const flat = context(b.physical, {});
    expect(emulateMmioAccess(decode([0xad], true), VGA + 0x20, gprs, b.physical, flat)).toEqual({ ok: true });
    expect(gprs.regs[0]! >>> 0).toBe(0x1234_5678);
    expect(emulateMmioAccess(decode([0xac], true), VGA + 0x24, gprs, b.physical, flat)).toEqual({ ok: true });
    expect(gprs.regs[0]! >>> 0).toBe(0x1234_56ab);
    expect(gprs.regs[ESI]).toBe(VGA + 0x25);
  });

  it('goes through the guest\'s paging for each element, and stops at an unmapped page with the iterations done so far in the registers', () => {
    const b = board();
    // Linear 0x400000.. maps to the device; linear page 0x401000 is not mapped.
    const paging = (la: number) => {
      if (la >= 0x401000) throw new Error(`no mapping for linear 0x${la.toString(16)}`);
      return la - 0x400000 + VGA;
    };
    const gprs = registers({ 0: 0x0741, [EDI]: 0x400ffc, [ECX]: 4 });
    const outcome = emulateMmioAccess(decode([0xf3, 0xab], true), VGA + 0xffc, gprs, b.physical, context(b.physical, {}, 0, paging));
    expect(outcome).toEqual({ ok: false, reason: 'string instruction AB: no mapping for linear 0x401000' });
    expect(b.log).toEqual(['w32 b8ffc=741']);
    expect([gprs.regs[EDI], gprs.regs[ECX]]).toEqual([0x401000, 3]);
  });

  it('refuses a string instruction when the vendor layer gave no context for it', () => {
    const b = board();
    expect(emulateMmioAccess(decode([0xf3, 0xa5], false), VGA, registers({}), b.physical)).toEqual({
      ok: false,
      reason: "string instruction A5 on device memory needs the guest's segments and paging (no StringAccessContext)",
    });
  });
});

describe('domainPhysicalBus', () => {
  it('sends RAM pages to the domain\'s frames, drops writes to ROM, and the rest to the devices, straddling accesses byte by byte', () => {
    const machine = MachineMemory.create(16 * FRAME_SIZE);
    const memory = new DomainMemory(machine);
    memory.populateRam(0, 2 * FRAME_SIZE); // pages 0-1 RAM, page 2 a device, page 3 ROM
    memory.mapRom(new Uint8Array(FRAME_SIZE).fill(0xee), [{ base: 3 * FRAME_SIZE, size: FRAME_SIZE }]);
    const log: string[] = [];
    const devices: MmioBus = {
      read8: (pa) => (log.push(`r8 ${pa.toString(16)}`), 0xd0 + (pa & 0xf)),
      read16: (pa) => (log.push(`r16 ${pa.toString(16)}`), 0xd1d0),
      read32: (pa) => (log.push(`r32 ${pa.toString(16)}`), 0xd3d2d1d0),
      write8: (pa, v) => log.push(`w8 ${pa.toString(16)}=${v.toString(16)}`),
      write16: (pa, v) => log.push(`w16 ${pa.toString(16)}=${v.toString(16)}`),
      write32: (pa, v) => log.push(`w32 ${pa.toString(16)}=${v.toString(16)}`),
    };
    const bus = domainPhysicalBus(memory, devices);
    bus.write32(0x1000, 0x12345678);
    expect(memory.readU32(0x1000)).toBe(0x12345678);
    expect(bus.read16(0x1002)).toBe(0x1234);
    bus.write16(0x2010, 0xabcd);
    expect(bus.read32(0x2020)).toBe(0xd3d2d1d0);
    bus.write32(0x3000, 0);
    expect(bus.read32(0x3000)).toBe(0xeeeeeeee);
    bus.write32(0x1ffe, 0x44332211); // two bytes of RAM, two of the device
    expect([memory.readU8(0x1ffe), memory.readU8(0x1fff)]).toEqual([0x11, 0x22]);
    expect(bus.read16(0x1fff)).toBe(0xd022);
    expect(log).toEqual(['w16 2010=abcd', 'r32 2020', 'w8 2000=33', 'w8 2001=44', 'r8 2000']);
  });
});
