/**
 * The memory accessors: linear (readLin*, writeLin*), implicit supervisor
 * (readSys*, writeSys*: descriptor tables, TSS, interrupt frames) and
 * segmented (read8..write32) reads and writes, with their TLB fast paths
 * inline and the page walk, alignment and data-breakpoint checks on the
 * slow paths.
 *
 * They are methods of Cpu (cpu.ts installs them on Cpu.prototype, its
 * state stays on the Cpu): every instruction handler and the compiled code
 * (jit/translate.ts emits calls such as cpu.readLin32 by name) calls them
 * on the one Cpu class, so the calls stay monomorphic and V8 inlines the
 * fast paths into them, as it did when they were written in the class.
 */
import type { Cpu } from './cpu.ts';
import { EXC_AC, SS, EXC_SS, EXC_GP } from './regs.ts';
import { TLB_SUPERVISOR } from './tlb.ts';

export const memoryAccess = {
  // PageTableMemory: the walker's view of physical memory.
  readPhys32(this: Cpu, pa: number): number {
    return this.bus.read32(pa & this.a20Mask);
  },
  writePhys32(this: Cpu, pa: number, value: number): void {
    this.bus.write32(pa & this.a20Mask, value);
  },

  // ---- linear memory: fast paths inline, slow paths below ----

  readLin8(this: Cpu, lin: number): number {
    const e = this.tlbRead[lin >>> 12];
    if ((e & this.tlbBit) !== 0) return this.u8[(e & ~0xfff) | (lin & 0xfff)];
    return this.readSlow(lin, 1, this.cpl === 3);
  },

  readLin16(this: Cpu, lin: number): number {
    const e = this.tlbRead[lin >>> 12];
    if ((e & this.tlbBit) !== 0 && (lin & 0xfff) <= 0xffe) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      return this.u8[p] | (this.u8[p + 1] << 8);
    }
    return this.readSlow(lin, 2, this.cpl === 3);
  },

  readLin32(this: Cpu, lin: number): number {
    const e = this.tlbRead[lin >>> 12];
    if ((e & this.tlbBit) !== 0 && (lin & 0xfff) <= 0xffc) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      if ((p & 3) === 0) return this.i32[p >> 2];
      const m = this.u8;
      return m[p] | (m[p + 1] << 8) | (m[p + 2] << 16) | (m[p + 3] << 24);
    }
    return this.readSlow(lin, 4, this.cpl === 3);
  },

  writeLin8(this: Cpu, lin: number, v: number): void {
    const e = this.tlbWrite[lin >>> 12];
    if ((e & this.tlbBit) !== 0) {
      this.u8[(e & ~0xfff) | (lin & 0xfff)] = v;
      return;
    }
    this.writeSlow(lin, 1, v, this.cpl === 3);
  },

  writeLin16(this: Cpu, lin: number, v: number): void {
    const e = this.tlbWrite[lin >>> 12];
    if ((e & this.tlbBit) !== 0 && (lin & 0xfff) <= 0xffe) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      this.u8[p] = v;
      this.u8[p + 1] = v >> 8;
      return;
    }
    this.writeSlow(lin, 2, v, this.cpl === 3);
  },

  writeLin32(this: Cpu, lin: number, v: number): void {
    const e = this.tlbWrite[lin >>> 12];
    if ((e & this.tlbBit) !== 0 && (lin & 0xfff) <= 0xffc) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      if ((p & 3) === 0) {
        this.i32[p >> 2] = v;
        return;
      }
      const m = this.u8;
      m[p] = v;
      m[p + 1] = v >> 8;
      m[p + 2] = v >> 16;
      m[p + 3] = v >> 24;
      return;
    }
    this.writeSlow(lin, 4, v, this.cpl === 3);
  },

  /** Checks that [lin, lin+size) may be written now (translating it, so #PF comes before any write). */
  probeWrite(this: Cpu, lin: number, size: number): void {
    const e = this.tlbWrite[lin >>> 12];
    if ((e & this.tlbBit) !== 0 && (lin & 0xfff) <= 0x1000 - size) return;
    const user = this.cpl === 3;
    this.translateSlow(lin, true, user);
    const last = (lin + size - 1) | 0;
    if ((last >>> 12) !== (lin >>> 12)) this.translateSlow(last, true, user);
  },

  // Implicit supervisor accesses (descriptor tables, TSS, IDT): privilege-free, supervisor-mode paging
  // rules at any CPL. A TLB entry that allows supervisor access serves them (without it every interrupt,
  // system call and segment load walked the page tables, two-dimensionally under EPT or nested paging).
  readSys16(this: Cpu, lin: number): number {
    const e = this.tlbRead[lin >>> 12];
    if ((e & TLB_SUPERVISOR) !== 0 && (lin & 0xfff) <= 0xffe && !this.dataBreakpoints) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      return this.u8[p] | (this.u8[p + 1] << 8);
    }
    return this.readSlow(lin, 2, false);
  },

  readSys32(this: Cpu, lin: number): number {
    const e = this.tlbRead[lin >>> 12];
    if ((e & TLB_SUPERVISOR) !== 0 && (lin & 0xfff) <= 0xffc && !this.dataBreakpoints) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      const m = this.u8;
      return m[p] | (m[p + 1] << 8) | (m[p + 2] << 16) | (m[p + 3] << 24);
    }
    return this.readSlow(lin, 4, false);
  },

  // Implicit supervisor writes (an interrupt's frame on the inner stack, descriptor busy/accessed bits,
  // the TSS) likewise: a TLB entry allowing supervisor writes (RAM, dirty, no decoded code) serves them;
  // without it every interrupt or system call from user mode walked the page tables once per pushed word.
  writeSys16(this: Cpu, lin: number, v: number): void {
    const e = this.tlbWrite[lin >>> 12];
    if ((e & TLB_SUPERVISOR) !== 0 && (lin & 0xfff) <= 0xffe && !this.dataBreakpoints) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      this.u8[p] = v;
      this.u8[p + 1] = v >> 8;
      return;
    }
    this.writeSlow(lin, 2, v, false);
  },

  writeSys32(this: Cpu, lin: number, v: number): void {
    const e = this.tlbWrite[lin >>> 12];
    if ((e & TLB_SUPERVISOR) !== 0 && (lin & 0xfff) <= 0xffc && !this.dataBreakpoints) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      if ((p & 3) === 0) this.i32[p >> 2] = v;
      else {
        const m = this.u8;
        m[p] = v;
        m[p + 1] = v >> 8;
        m[p + 2] = v >> 16;
        m[p + 3] = v >> 24;
      }
      return;
    }
    this.writeSlow(lin, 4, v, false);
  },

  readSlow(this: Cpu, lin: number, size: number, user: boolean): number {
    lin |= 0;
    if (user && this.alignmentCheck && (lin & (size - 1)) !== 0) this.fault(EXC_AC, 0, true);
    if (this.dataBreakpoints) this.matchDataBreakpoints(lin, size, false);
    if (((lin & 0xfff) + size) <= 0x1000) {
      const pa = this.translateSlow(lin, false, user);
      return size === 1 ? this.bus.read8(pa) : size === 2 ? this.bus.read16(pa) : this.bus.read32(pa) | 0;
    }
    // Crosses a page: translate both halves before touching either.
    const pa1 = this.translateSlow(lin, false, user);
    const pa2 = this.translateSlow((lin + size - 1) & ~0xfff, false, user);
    let v = 0;
    for (let i = 0; i < size; i++) {
      const l = (lin + i) | 0;
      const pa = (l >>> 12) === (lin >>> 12) ? pa1 + i : pa2 + (l & 0xfff);
      v |= this.bus.read8(pa >>> 0) << (8 * i);
    }
    return v;
  },

  writeSlow(this: Cpu, lin: number, size: number, v: number, user: boolean): void {
    lin |= 0;
    if (user && this.alignmentCheck && (lin & (size - 1)) !== 0) this.fault(EXC_AC, 0, true);
    if (this.dataBreakpoints) this.matchDataBreakpoints(lin, size, true);
    if (((lin & 0xfff) + size) <= 0x1000) {
      const pa = this.translateSlow(lin, true, user);
      if (size === 1) this.bus.write8(pa, v & 0xff);
      else if (size === 2) this.bus.write16(pa, v & 0xffff);
      else this.bus.write32(pa, v);
      return;
    }
    const pa1 = this.translateSlow(lin, true, user);
    const pa2 = this.translateSlow((lin + size - 1) & ~0xfff, true, user);
    for (let i = 0; i < size; i++) {
      const l = (lin + i) | 0;
      const pa = (l >>> 12) === (lin >>> 12) ? pa1 + i : pa2 + (l & 0xfff);
      this.bus.write8(pa >>> 0, (v >>> (8 * i)) & 0xff);
    }
  },

  // ---- segmented memory ----

  /** Raises the fault for a failed segment check: #SS(0) for the stack segment, #GP(0) otherwise. */
  segFault(this: Cpu, seg: number): never {
    return this.fault(seg === SS ? EXC_SS : EXC_GP, 0, true);
  },

  read8(this: Cpu, seg: number, off: number): number {
    const o = off >>> 0;
    if (o < this.segRLo[seg] || o > this.segRHi[seg]) this.segFault(seg);
    return this.readLin8((this.segBase[seg] + o) | 0);
  },
  read16(this: Cpu, seg: number, off: number): number {
    const o = off >>> 0;
    if (o < this.segRLo[seg] || o + 1 > this.segRHi[seg]) this.segFault(seg);
    return this.readLin16((this.segBase[seg] + o) | 0);
  },
  read32(this: Cpu, seg: number, off: number): number {
    const o = off >>> 0;
    if (o < this.segRLo[seg] || o + 3 > this.segRHi[seg]) this.segFault(seg);
    return this.readLin32((this.segBase[seg] + o) | 0);
  },
  write8(this: Cpu, seg: number, off: number, v: number): void {
    const o = off >>> 0;
    if (o < this.segWLo[seg] || o > this.segWHi[seg]) this.segFault(seg);
    this.writeLin8((this.segBase[seg] + o) | 0, v);
  },
  write16(this: Cpu, seg: number, off: number, v: number): void {
    const o = off >>> 0;
    if (o < this.segWLo[seg] || o + 1 > this.segWHi[seg]) this.segFault(seg);
    this.writeLin16((this.segBase[seg] + o) | 0, v);
  },
  write32(this: Cpu, seg: number, off: number, v: number): void {
    const o = off >>> 0;
    if (o < this.segWLo[seg] || o + 3 > this.segWHi[seg]) this.segFault(seg);
    this.writeLin32((this.segBase[seg] + o) | 0, v);
  },

  /**
   * For read-modify-write operands: checks the segment for writing and the
   * page for writing, and returns the linear address to use with readLin/writeLin.
   */
  rmwAddress(this: Cpu, seg: number, off: number, size: number): number {
    const o = off >>> 0;
    if (o < this.segWLo[seg] || o + size - 1 > this.segWHi[seg]) this.segFault(seg);
    const lin = (this.segBase[seg] + o) | 0;
    this.probeWrite(lin, size);
    return lin;
  },
};
