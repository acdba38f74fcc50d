import { describe, expect, it } from 'vitest';
import { emulatePortIo, emulateStringPortIo, STRING_IO_PORTION, type PortBus, type PortSize } from '../../../core/hypervisor/exits/portIo.ts';
import { GuestPageFault, guestLinearToPhysical } from '../../../core/hypervisor/exits/guestPaging.ts';
import { DomainMemory } from '../../../core/hypervisor/memory/domainMemory.ts';
import { MachineMemory } from '../../../core/hypervisor/memory/machineMemory.ts';

const EAX = 0, ECX = 1, ESI = 6, EDI = 7;

/** A device that answers reads from a counter and records writes. */
class Recorder implements PortBus {
  writes: [number, number, number][] = [];
  next = 0x11;
  portRead(_port: number, size: PortSize): number {
    const v = this.next;
    this.next += 0x11;
    return size === 1 ? v & 0xff : v;
  }
  portWrite(port: number, size: PortSize, value: number): void {
    this.writes.push([port, size, value]);
  }
}

const flat = { cr0: 0x11, cr3: 0, cr4: 0, cpl: 0 };

function memory(): DomainMemory {
  const m = new DomainMemory(MachineMemory.create(0));
  m.populateRam(0, 64 * 4096);
  return m;
}

describe('port I/O emulation', () => {
  it('IN merges the value into AL/AX and replaces EAX; OUT sends AL/AX/EAX', () => {
    const bus = new Recorder();
    const regs = new Int32Array(8);
    regs[EAX] = 0x12345678;
    emulatePortIo(bus, regs, { port: 0x3f8, size: 1, input: true, string: false, rep: false });
    expect(regs[EAX] >>> 0).toBe(0x12345611);
    emulatePortIo(bus, regs, { port: 0x70, size: 2, input: true, string: false, rep: false });
    expect(regs[EAX] >>> 0).toBe(0x12340022);
    emulatePortIo(bus, regs, { port: 0xcfc, size: 4, input: true, string: false, rep: false });
    expect(regs[EAX] >>> 0).toBe(0x33);
    regs[EAX] = 0xaabbccdd;
    emulatePortIo(bus, regs, { port: 0x80, size: 1, input: false, string: false, rep: false });
    emulatePortIo(bus, regs, { port: 0xcfc, size: 4, input: false, string: false, rep: false });
    expect(bus.writes).toEqual([[0x80, 1, 0xdd], [0xcfc, 4, 0xaabbccdd]]);
  });

  it('REP OUTSB sends guest memory from DS:ESI and counts ECX down to 0', () => {
    const mem = memory();
    mem.write(0x1000, new TextEncoder().encode('hello'));
    const bus = new Recorder();
    const regs = new Int32Array(8);
    regs[ESI] = 0x1000;
    regs[ECX] = 5;
    const done = emulateStringPortIo(bus, mem, regs, { port: 0x3f8, size: 1, input: false, string: true, rep: true }, {
      sourceBase: 0, esBase: 0, addr32: true, down: false, paging: flat,
    });
    expect(done).toBe(true);
    expect(String.fromCharCode(...bus.writes.map((w) => w[2]))).toBe('hello');
    expect([regs[ECX], regs[ESI]]).toEqual([0, 0x1005]);
  });

  it('REP INSW fills ES:EDI backwards under DF, 16-bit addressing wrapping DI', () => {
    const mem = memory();
    const bus = new Recorder();
    const regs = new Int32Array(8);
    regs[EDI] = 0xabcd0002;
    regs[ECX] = 0x00010002; // 16-bit addressing counts CX only
    const done = emulateStringPortIo(bus, mem, regs, { port: 0x1f0, size: 2, input: true, string: true, rep: true }, {
      sourceBase: 0, esBase: 0x2000, addr32: false, down: true, paging: flat,
    });
    expect(done).toBe(true);
    expect(mem.readU16(0x2002)).toBe(0x11);
    expect(mem.readU16(0x2000)).toBe(0x22);
    expect([regs[ECX] >>> 0, regs[EDI] >>> 0]).toEqual([0x00010000, 0xabcdfffe]);
  });

  it('does a long REP in portions: the instruction is re-executed with the registers where it stopped', () => {
    const mem = memory();
    const bus = new Recorder();
    const regs = new Int32Array(8);
    regs[ECX] = STRING_IO_PORTION + 3;
    const req = { port: 0x80, size: 1 as const, input: false, string: true, rep: true };
    const ops = { sourceBase: 0, esBase: 0, addr32: true, down: false, paging: flat };
    expect(emulateStringPortIo(bus, mem, regs, req, ops)).toBe(false);
    expect([regs[ECX], regs[ESI]]).toEqual([3, STRING_IO_PORTION]);
    expect(emulateStringPortIo(bus, mem, regs, req, ops)).toBe(true);
    expect(bus.writes.length).toBe(STRING_IO_PORTION + 3);
  });
});

describe('guest paging walk', () => {
  /** Page directory at 0x10000; page table at 0x11000 maps linear 0x00400000.. ; a 4 MiB page at linear 0x00800000. */
  function paged(): DomainMemory {
    const mem = memory();
    const u32 = (at: number, v: number) => mem.write(at, Uint8Array.of(v, v >>> 8, v >>> 16, v >>> 24));
    u32(0x10000 + 1 * 4, 0x11000 | 0x7); // PDE for 0x00400000: present, writable, user
    u32(0x11000 + 2 * 4, 0x5000 | 0x5); // PTE for 0x00402000 -> 0x5000, present, user, read-only
    u32(0x10000 + 2 * 4, 0x00000000 | 0x83); // PDE for 0x00800000: 4 MiB page at 0, supervisor writable
    return mem;
  }
  const paging = (cpl: number) => ({ cr0: 0x80010011, cr3: 0x10000, cr4: 0x10, cpl });

  it('translates 4 KiB and 4 MiB pages and sets accessed/dirty bits', () => {
    const mem = paged();
    expect(guestLinearToPhysical(mem, paging(0), 0x00402123, false)).toBe(0x5123);
    expect(mem.readU32(0x11000 + 8) & 0x20).toBe(0x20);
    expect(guestLinearToPhysical(mem, paging(0), 0x00812345, true)).toBe(0x12345);
    expect(mem.readU32(0x10000 + 8) & 0x60).toBe(0x60);
  });

  it('reports the page fault the guest takes: not present, write to read-only (CR0.WP), user to supervisor', () => {
    const mem = paged();
    expect(() => guestLinearToPhysical(mem, paging(0), 0x00c00000, false)).toThrow(new GuestPageFault(0x00c00000, 0));
    expect(() => guestLinearToPhysical(mem, paging(0), 0x00402000, true)).toThrow(new GuestPageFault(0x00402000, 3));
    expect(() => guestLinearToPhysical(mem, paging(3), 0x00800000, false)).toThrow(new GuestPageFault(0x00800000, 5));
    expect(() => guestLinearToPhysical(mem, paging(3), 0x00402000, true)).toThrow(new GuestPageFault(0x00402000, 7));
  });

  it('is the identity with paging off', () => {
    expect(guestLinearToPhysical(memory(), flat, 0xfffff000, true)).toBe(0xfffff000);
  });
});
