/**
 * Miscellaneous integer instructions: ENTER C8, LEAVE C9, BOUND 62, XLAT D7,
 * SALC D6 (undocumented, present on P6: AL = CF ? FF : 00), UD2 0F 0B, the
 * far-pointer loads LES C4 / LDS C5 / LSS 0F B2 / LFS 0F B4 / LGS 0F B5, and
 * the multi-byte NOPs 0F 19-0F 1F (defined on the P6 family).
 *
 * All of them read and check everything before changing a register, so a
 * fault restarts them cleanly. LSS does not create an interrupt shadow (only
 * MOV SS and POP SS do).
 */
import type { Exec } from '../insn.ts';
import { defineOp, IMM_IWIB, IMM_NONE, op } from '../opcodeTable.ts';
import { getFlag } from '../flags.ts';
import { CF, DS, EAX, EBP, EBX, ES, ESP, EXC_BR, FS, GS, SS } from '../regs.ts';
import { loadSegment } from '../segments.ts';

const ud: Exec = (cpu) => cpu.raiseUD();

// ---- ENTER ----

/**
 * ENTER size, level (SDM "ENTER" operation): pushes (E)BP, copies level-1
 * frame pointers from the enclosing frame, pushes the new frame pointer, and
 * reserves `size` bytes. The stack size (SS.B) picks SP/BP vs ESP/EBP for
 * addressing; the operand size picks the width of what is pushed and whether
 * BP or EBP is written. The frame pointer is the whole ESP after the push of
 * EBP with a 32-bit operand size, SP with a 16-bit one (SDM ENTER:
 * "FrameTemp := ESP" / "FrameTemp := SP"; Bochs ENTER32_IwIb): on a 16-bit
 * stack a 32-bit ENTER gives EBP the upper half of ESP. The final stack
 * pointer is checked for a write of the operand size (#SS on the limit, #PF
 * on the page: SDM ENTER exceptions; Bochs touches it the same way). Memory
 * is written at computed offsets first and the registers change only at the end.
 */
function wrapSp(ss32: boolean, v: number): number {
  return ss32 ? v | 0 : v & 0xffff;
}

function enter(o32: boolean): Exec {
  const w = o32 ? 4 : 2;
  return (cpu, i) => {
    const size = i.imm & 0xffff;
    const level = i.imm2 & 0x1f;
    const r = cpu.regs;
    const ss32 = cpu.ss32;
    let sp = wrapSp(ss32, r[ESP] - w);
    if (o32) cpu.write32(SS, sp, r[EBP]);
    else cpu.write16(SS, sp, r[EBP]);
    // With a 16-bit stack only SP moved: the upper half of ESP stays in the frame pointer.
    const frame = o32 && !ss32 ? (r[ESP] & ~0xffff) | sp : sp;
    if (level > 0) {
      let bp = ss32 ? r[EBP] : r[EBP] & 0xffff;
      for (let n = 1; n < level; n++) {
        bp = wrapSp(ss32, bp - w);
        const v = o32 ? cpu.read32(SS, bp) : cpu.read16(SS, bp);
        sp = wrapSp(ss32, sp - w);
        if (o32) cpu.write32(SS, sp, v);
        else cpu.write16(SS, sp, v);
      }
      sp = wrapSp(ss32, sp - w);
      if (o32) cpu.write32(SS, sp, frame);
      else cpu.write16(SS, sp, frame);
    }
    const newSp = wrapSp(ss32, sp - size);
    // The new stack top must be writable (#SS(0) past the limit, #PF on its page).
    if (newSp >>> 0 < cpu.segWLo[SS] || (newSp >>> 0) + w - 1 > cpu.segWHi[SS]) cpu.segFault(SS);
    cpu.probeWrite((cpu.segBase[SS] + newSp) | 0, w);
    if (o32) r[EBP] = frame;
    else r[EBP] = (r[EBP] & ~0xffff) | (frame & 0xffff);
    if (ss32) r[ESP] = newSp;
    else r[ESP] = (r[ESP] & ~0xffff) | newSp;
  };
}
const enter16 = enter(false), enter32 = enter(true);
defineOp(0xc8, op('enter Iw,Ib', false, IMM_IWIB, (i) => (i.o32 ? enter32 : enter16)));

// ---- LEAVE ----

const leave16: Exec = (cpu) => {
  const r = cpu.regs;
  const sp = cpu.ss32 ? r[EBP] : r[EBP] & 0xffff;
  const v = cpu.read16(SS, sp);
  if (cpu.ss32) r[ESP] = (sp + 2) | 0;
  else r[ESP] = (r[ESP] & ~0xffff) | ((sp + 2) & 0xffff);
  cpu.set16(EBP, v);
};
const leave32: Exec = (cpu) => {
  const r = cpu.regs;
  const sp = cpu.ss32 ? r[EBP] : r[EBP] & 0xffff;
  const v = cpu.read32(SS, sp);
  if (cpu.ss32) r[ESP] = (sp + 4) | 0;
  else r[ESP] = (r[ESP] & ~0xffff) | ((sp + 4) & 0xffff);
  r[EBP] = v;
};
defineOp(0xc9, op('leave', false, IMM_NONE, (i) => (i.o32 ? leave32 : leave16)));

// ---- BOUND ----

const bound16: Exec = (cpu, i) => {
  const ea = cpu.ea(i);
  const lower = (cpu.read16(i.seg, ea) << 16) >> 16;
  const upper = (cpu.read16(i.seg, i.a32 ? (ea + 2) | 0 : (ea + 2) & 0xffff) << 16) >> 16;
  const index = (cpu.regs[i.reg] << 16) >> 16;
  if (index < lower || index > upper) cpu.fault(EXC_BR, 0, false);
};
const bound32: Exec = (cpu, i) => {
  const ea = cpu.ea(i);
  const lower = cpu.read32(i.seg, ea);
  const upper = cpu.read32(i.seg, i.a32 ? (ea + 4) | 0 : (ea + 4) & 0xffff);
  const index = cpu.regs[i.reg];
  if (index < lower || index > upper) cpu.fault(EXC_BR, 0, false);
};
defineOp(0x62, op('bound Gv,Ma', true, IMM_NONE, (i) => (i.mod === 3 ? ud : i.o32 ? bound32 : bound16)));

// ---- XLAT / SALC / UD2 / NOP Ev ----

const xlat: Exec = (cpu, i) => {
  const r = cpu.regs;
  const off = i.a32 ? (r[EBX] + (r[EAX] & 0xff)) | 0 : (r[EBX] + (r[EAX] & 0xff)) & 0xffff;
  cpu.set8(EAX, cpu.read8(i.seg, off));
};
defineOp(0xd7, op('xlat', false, IMM_NONE, () => xlat));

const salc: Exec = (cpu) => cpu.set8(EAX, getFlag(cpu, CF) !== 0 ? 0xff : 0);
defineOp(0xd6, op('salc', false, IMM_NONE, () => salc));

defineOp(0x10b, op('ud2', false, IMM_NONE, () => ud, { endsBlock: true }));

/**
 * 0F 1F /r (the documented multi-byte NOP) and the rest of the P6 "hintable
 * NOP" space 0F 19-0F 1E: a ModRM operand that is decoded but never accessed.
 * (0F 18 is left undefined: it became PREFETCHh with SSE.)
 */
const nopEv: Exec = () => {};
for (let opcode = 0x119; opcode <= 0x11f; opcode++) defineOp(opcode, op('nop Ev', true, IMM_NONE, () => nopEv));

// ---- LES / LDS / LSS / LFS / LGS ----

/** Loads a far pointer m16:16 / m16:32: offset into Gv, selector into `seg` (checked first). */
function loadFarPointer(seg: number): (i: { o32: boolean; mod: number }) => Exec {
  const h16: Exec = (cpu, i) => {
    const ea = cpu.ea(i);
    const off = cpu.read16(i.seg, ea);
    const sel = cpu.read16(i.seg, i.a32 ? (ea + 2) | 0 : (ea + 2) & 0xffff);
    loadSegment(cpu, seg, sel);
    cpu.set16(i.reg, off);
  };
  const h32: Exec = (cpu, i) => {
    const ea = cpu.ea(i);
    const off = cpu.read32(i.seg, ea);
    const sel = cpu.read16(i.seg, i.a32 ? (ea + 4) | 0 : (ea + 4) & 0xffff);
    loadSegment(cpu, seg, sel);
    cpu.regs[i.reg] = off;
  };
  return (i) => (i.mod === 3 ? ud : i.o32 ? h32 : h16);
}
defineOp(0xc4, op('les Gv,Mp', true, IMM_NONE, loadFarPointer(ES)));
defineOp(0xc5, op('lds Gv,Mp', true, IMM_NONE, loadFarPointer(DS)));
defineOp(0x1b2, op('lss Gv,Mp', true, IMM_NONE, loadFarPointer(SS)));
defineOp(0x1b4, op('lfs Gv,Mp', true, IMM_NONE, loadFarPointer(FS)));
defineOp(0x1b5, op('lgs Gv,Mp', true, IMM_NONE, loadFarPointer(GS)));
