/**
 * FNSTENV/FLDENV and FNSAVE/FRSTOR: the 14-byte (16-bit operand size) and
 * 28-byte (32-bit) environment images in their protected-mode and
 * real/V86-mode layouts (SDM Vol. 1 Figures 8-9 to 8-12), followed for
 * FNSAVE/FRSTOR by the eight registers as 80-bit values in ST order.
 *
 * Reserved halves of the 32-bit image are written as FFFFH, as Intel
 * processors do. In real/V86 mode the image holds 20-bit linear instruction
 * and operand addresses; loading one leaves FCS/FDS = 0 and the linear
 * address in FIP/FDP. The tag word stored is computed from the registers;
 * a loaded tag word only decides which registers are empty.
 *
 * Everything is read (FLDENV/FRSTOR) or the destination checked
 * (FNSTENV/FNSAVE) before any state changes, so faults are precise.
 */
import type { Cpu } from '../cpu.ts';
import type { Insn } from '../insn.ts';
import { VM } from '../regs.ts';

/** Scratch image: up to 108 bytes. */
const image = new Uint8Array(108);
const view = new DataView(image.buffer);

/** Environment size by operand size. */
export function envSize(i: Insn): number {
  return i.o32 ? 28 : 14;
}

function realLayout(cpu: Cpu): boolean {
  return !cpu.protectedMode || (cpu.flags & VM) !== 0;
}

/** Fills `image` with the environment (bytes 0 .. envSize-1). */
function buildEnvironment(cpu: Cpu, i: Insn): void {
  const f = cpu.fpu;
  const cw = f.control, sw = f.statusWord(), tw = f.tagWord();
  if (realLayout(cpu)) {
    const ip = ((f.fcs << 4) + f.fip) >>> 0, dp = ((f.fds << 4) + f.fdp) >>> 0;
    if (i.o32) {
      view.setUint32(0, 0xffff_0000 | cw, true);
      view.setUint32(4, 0xffff_0000 | sw, true);
      view.setUint32(8, 0xffff_0000 | tw, true);
      view.setUint32(12, 0xffff_0000 | (ip & 0xffff), true);
      view.setUint32(16, (((ip & 0xffff_0000) >>> 4) | f.fop) >>> 0, true);
      view.setUint32(20, 0xffff_0000 | (dp & 0xffff), true);
      view.setUint32(24, (dp & 0xffff_0000) >>> 4, true);
    } else {
      view.setUint16(0, cw, true);
      view.setUint16(2, sw, true);
      view.setUint16(4, tw, true);
      view.setUint16(6, ip & 0xffff, true);
      view.setUint16(8, ((ip & 0xf_0000) >>> 4) | f.fop, true);
      view.setUint16(10, dp & 0xffff, true);
      view.setUint16(12, (dp & 0xf_0000) >>> 4, true);
    }
  } else if (i.o32) {
    view.setUint32(0, 0xffff_0000 | cw, true);
    view.setUint32(4, 0xffff_0000 | sw, true);
    view.setUint32(8, 0xffff_0000 | tw, true);
    view.setUint32(12, f.fip >>> 0, true);
    view.setUint32(16, (f.fcs | (f.fop << 16)) >>> 0, true);
    view.setUint32(20, f.fdp >>> 0, true);
    view.setUint32(24, 0xffff_0000 | f.fds, true);
  } else {
    view.setUint16(0, cw, true);
    view.setUint16(2, sw, true);
    view.setUint16(4, tw, true);
    view.setUint16(6, f.fip & 0xffff, true);
    view.setUint16(8, f.fcs, true);
    view.setUint16(10, f.fdp & 0xffff, true);
    view.setUint16(12, f.fds, true);
  }
}

/** Applies an environment image held in `image`. */
function applyEnvironment(cpu: Cpu, i: Insn): void {
  const f = cpu.fpu;
  let cw: number, sw: number, tw: number;
  if (i.o32) {
    cw = view.getUint16(0, true); sw = view.getUint16(4, true); tw = view.getUint16(8, true);
  } else {
    cw = view.getUint16(0, true); sw = view.getUint16(2, true); tw = view.getUint16(4, true);
  }
  if (realLayout(cpu)) {
    if (i.o32) {
      const w = view.getUint32(16, true);
      f.fip = ((w & 0x0fff_f000) << 4) | view.getUint16(12, true);
      f.fop = w & 0x7ff;
      f.fdp = ((view.getUint32(24, true) & 0x0fff_f000) << 4) | view.getUint16(20, true);
    } else {
      const w = view.getUint16(8, true);
      f.fip = ((w & 0xf000) << 4) | view.getUint16(6, true);
      f.fop = w & 0x7ff;
      f.fdp = ((view.getUint16(12, true) & 0xf000) << 4) | view.getUint16(10, true);
    }
    f.fcs = 0;
    f.fds = 0;
  } else if (i.o32) {
    f.fip = view.getUint32(12, true) | 0;
    const w = view.getUint32(16, true);
    f.fcs = w & 0xffff;
    f.fop = (w >>> 16) & 0x7ff;
    f.fdp = view.getUint32(20, true) | 0;
    f.fds = view.getUint16(24, true);
  } else {
    f.fip = view.getUint16(6, true);
    f.fcs = view.getUint16(8, true);
    f.fdp = view.getUint16(10, true);
    f.fds = view.getUint16(12, true);
    f.fop = 0;
  }
  f.control = (cw & ~0xe0c0) | 0x0040; // reserved bits 7, 13-15 read 0; bit 6 reads 1
  f.loadStatusWord(sw);
  f.loadTagWord(tw);
  f.updateSummary();
}

function readImage(cpu: Cpu, i: Insn, ea: number, size: number): void {
  for (let k = 0; k < size; k++) image[k] = cpu.read8(i.seg, i.a32 ? (ea + k) | 0 : (ea + k) & 0xffff);
}

function writeImage(cpu: Cpu, i: Insn, ea: number, size: number): void {
  // Check every byte's segment offset and page before writing any.
  const lin = cpu.rmwAddress(i.seg, ea, size);
  for (let k = 0; k < size; k++) cpu.writeLin8((lin + k) | 0, image[k]);
}

/** FNSTENV: stores the environment, then masks all exceptions (which clears ES and B: nothing is pending any more). */
export function storeEnvironment(cpu: Cpu, i: Insn): void {
  const ea = cpu.ea(i);
  buildEnvironment(cpu, i);
  writeImage(cpu, i, ea, envSize(i));
  cpu.fpu.control |= 0x3f;
  cpu.fpu.updateSummary();
}

export function loadEnvironment(cpu: Cpu, i: Insn): void {
  const ea = cpu.ea(i);
  readImage(cpu, i, ea, envSize(i));
  applyEnvironment(cpu, i);
}

/** FNSAVE: environment + ST(0)..ST(7), then the FNINIT state. */
export function saveState(cpu: Cpu, i: Insn): void {
  const ea = cpu.ea(i);
  const f = cpu.fpu;
  const base = envSize(i);
  buildEnvironment(cpu, i);
  for (let n = 0; n < 8; n++) {
    const x = f.get(n);
    view.setUint32(base + n * 10, x.lo, true);
    view.setUint32(base + n * 10 + 4, x.hi, true);
    view.setUint16(base + n * 10 + 8, x.se, true);
  }
  writeImage(cpu, i, ea, base + 80);
  f.init();
}

/** FRSTOR: environment + registers (ST order; the loaded TOP decides the physical registers). */
export function restoreState(cpu: Cpu, i: Insn): void {
  const ea = cpu.ea(i);
  const base = envSize(i);
  readImage(cpu, i, ea, base + 80);
  applyEnvironment(cpu, i);
  const f = cpu.fpu;
  const empty = f.empty;
  for (let n = 0; n < 8; n++) {
    const se = view.getUint16(base + n * 10 + 8, true);
    const hi = view.getUint32(base + n * 10 + 4, true), lo = view.getUint32(base + n * 10, true);
    f.set(n, { se, hi, lo });
  }
  f.empty = empty; // set() marks registers in use; the loaded tag word decides
}
