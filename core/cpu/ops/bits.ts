/**
 * Bit instructions: BT/BTS/BTR/BTC (0F A3/AB/B3/BB with a register bit
 * offset, 0F BA /4-7 with imm8), BSF/BSR (0F BC/BD), SETcc (0F 90-9F),
 * CMOVcc (0F 40-4F), BSWAP (0F C8-CF), XADD (0F C0/C1), CMPXCHG (0F B0/B1)
 * and CMPXCHG8B (0F C7 /1).
 *
 * Where the SDM leaves room (test/cpu/tools/UNDEFINED_FLAGS.md says where each answer came from):
 * - BT*: only CF changes. A register bit offset with a memory operand is a
 *   signed offset: the operand addressed is EA + (offset >> 4)*2 or
 *   (offset >> 5)*4, wrapped to the address size. An imm8 offset is masked.
 * - BSF/BSR with a zero source leave the destination unchanged (Intel's
 *   architects, quoted in Linux's bitops.h) and set ZF and PF, clearing
 *   CF/OF/SF/AF (VirtualBox's Intel flag code, checked on Cascade Lake);
 *   otherwise ZF = 0, SF/PF from the index, CF/OF/AF = 0.
 * - CMOVcc reads its source even when the condition is false (a memory
 *   fault still happens) and then leaves the destination unchanged, also
 *   for 32-bit operands.
 * - BSWAP with a 16-bit operand size clears the low word (as P6 does).
 * - CMPXCHG / CMPXCHG8B always write the destination (the old value on
 *   failure), as the locked bus cycle does; so a read-only destination faults.
 */
import type { Cpu } from '../cpu.ts';
import type { Exec, Insn } from '../insn.ts';
import { defineOp, IMM_IB, IMM_NONE, op } from '../opcodeTable.ts';
import { LAZY_ADD, LAZY_SUB, PARITY, setLazy, testCondition, writeArithFlags } from '../flags.ts';
import { ARITH_FLAGS, CF, EAX, EBX, ECX, EDX, PF, SF, ZF } from '../regs.ts';
import { readReg, rmwRead, rmwWrite, writeReg } from './rmwOperand.ts';
import { vmxGroup9Exec } from '../vmx/instructions.ts';

const BT = 0, BTS = 1, BTR = 2, BTC = 3;
const ud: Exec = (cpu) => cpu.raiseUD();

function applyBit(op: number, v: number, bit: number): number {
  const m = 1 << bit;
  return op === BTS ? v | m : op === BTR ? v & ~m : v ^ m;
}

function setCarry(cpu: Cpu, v: number, bit: number): void {
  writeArithFlags(cpu, (v >>> bit) & 1 ? CF : 0, CF);
}

/** BT family, bit offset from a register (0F A3/AB/B3/BB). */
function btRegOffset(kind: number, bytes: number): Exec {
  const bits = bytes * 8;
  return (cpu, i) => {
    const src = readReg(cpu, i.reg, bytes);
    if (i.mod === 3) {
      const bit = src & (bits - 1);
      const v = readReg(cpu, i.rm, bytes);
      setCarry(cpu, v, bit);
      if (kind !== BT) writeReg(cpu, i.rm, bytes, applyBit(kind, v, bit));
      return;
    }
    // Signed bit offset: select the operand-sized unit that holds the bit.
    const offset = bytes === 2 ? (src << 16) >> 16 : src;
    const unit = bytes === 2 ? (offset >> 4) * 2 : (offset >> 5) * 4;
    const ea = cpu.ea(i) + unit;
    const addr = i.a32 ? ea | 0 : ea & 0xffff;
    const bit = offset & (bits - 1);
    if (kind === BT) {
      setCarry(cpu, bytes === 2 ? cpu.read16(i.seg, addr) : cpu.read32(i.seg, addr), bit);
      return;
    }
    const lin = cpu.rmwAddress(i.seg, addr, bytes);
    const v = bytes === 2 ? cpu.readLin16(lin) : cpu.readLin32(lin);
    const r = applyBit(kind, v, bit);
    if (bytes === 2) cpu.writeLin16(lin, r);
    else cpu.writeLin32(lin, r);
    setCarry(cpu, v, bit);
  };
}

/** BT family, imm8 bit offset masked to the operand size (0F BA /4-7). */
function btImm(kind: number, bytes: number): Exec {
  const bits = bytes * 8;
  return (cpu, i) => {
    const bit = i.imm & (bits - 1);
    if (kind === BT) {
      setCarry(cpu, bytes === 2 ? cpu.readRm16(i) : cpu.readRm32(i), bit);
      return;
    }
    const v = rmwRead(cpu, i, bytes);
    rmwWrite(cpu, i, bytes, applyBit(kind, v, bit));
    setCarry(cpu, v, bit);
  };
}

const btNames = ['bt', 'bts', 'btr', 'btc'];
const btOpcodes = [0x1a3, 0x1ab, 0x1b3, 0x1bb];
for (let kind = 0; kind < 4; kind++) {
  const h16 = btRegOffset(kind, 2), h32 = btRegOffset(kind, 4);
  defineOp(btOpcodes[kind], op(`${btNames[kind]} Ev,Gv`, true, IMM_NONE, (i) => (i.o32 ? h32 : h16), { lockable: kind !== BT }));
}
const btImm16 = [btImm(BT, 2), btImm(BTS, 2), btImm(BTR, 2), btImm(BTC, 2)];
const btImm32 = [btImm(BT, 4), btImm(BTS, 4), btImm(BTR, 4), btImm(BTC, 4)];
defineOp(0x1ba, op('grp8 Ev,Ib', true, IMM_IB, (i: Insn) => {
  if (i.reg < 4) return ud;
  if (i.lock && i.reg === 4) return ud; // LOCK BT
  return (i.o32 ? btImm32 : btImm16)[i.reg - 4];
}, { lockable: true }));

// ---- BSF / BSR ----

function bitScan(reverse: boolean, bytes: number): Exec {
  return (cpu, i) => {
    const v = bytes === 2 ? cpu.readRm16(i) : cpu.readRm32(i);
    if (v === 0) {
      writeArithFlags(cpu, ZF | PF, ARITH_FLAGS);
      return;
    }
    const index = reverse ? 31 - Math.clz32(v) : 31 - Math.clz32(v & -v);
    writeReg(cpu, i.reg, bytes, index);
    writeArithFlags(cpu, PARITY[index] | (index & 0x80 ? SF : 0), ARITH_FLAGS);
  };
}
const bsf16 = bitScan(false, 2), bsf32 = bitScan(false, 4), bsr16 = bitScan(true, 2), bsr32 = bitScan(true, 4);
defineOp(0x1bc, op('bsf Gv,Ev', true, IMM_NONE, (i) => (i.o32 ? bsf32 : bsf16)));
defineOp(0x1bd, op('bsr Gv,Ev', true, IMM_NONE, (i) => (i.o32 ? bsr32 : bsr16)));

// ---- SETcc / CMOVcc ----

for (let cc = 0; cc < 16; cc++) {
  const setcc: Exec = (cpu, i) => cpu.writeRm8(i, testCondition(cpu, cc) ? 1 : 0);
  defineOp(0x190 + cc, op('setcc Eb', true, IMM_NONE, () => setcc));
  const cmov16: Exec = (cpu, i) => {
    const v = cpu.readRm16(i);
    if (testCondition(cpu, cc)) cpu.set16(i.reg, v);
  };
  const cmov32: Exec = (cpu, i) => {
    const v = cpu.readRm32(i);
    if (testCondition(cpu, cc)) cpu.regs[i.reg] = v;
  };
  defineOp(0x140 + cc, op('cmovcc Gv,Ev', true, IMM_NONE, (i) => (i.o32 ? cmov32 : cmov16)));
}

// ---- BSWAP ----

for (let r = 0; r < 8; r++) {
  const bswap32: Exec = (cpu) => {
    const v = cpu.regs[r];
    cpu.regs[r] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
  };
  const bswap16: Exec = (cpu) => cpu.set16(r, 0);
  defineOp(0x1c8 + r, op('bswap r', false, IMM_NONE, (i) => (i.o32 ? bswap32 : bswap16)));
}

// ---- XADD ----

function xadd(bytes: number): Exec {
  const bits = bytes * 8;
  return (cpu, i) => {
    const dst = rmwRead(cpu, i, bytes);
    const src = readReg(cpu, i.reg, bytes);
    const sum = dst + src;
    setLazy(cpu, LAZY_ADD, bits, dst, src, sum);
    // Source first, so that with both operands the same register the sum wins (SDM order).
    writeReg(cpu, i.reg, bytes, dst);
    rmwWrite(cpu, i, bytes, sum);
  };
}
const xadd8 = xadd(1), xadd16 = xadd(2), xadd32 = xadd(4);
defineOp(0x1c0, op('xadd Eb,Gb', true, IMM_NONE, () => xadd8, { lockable: true }));
defineOp(0x1c1, op('xadd Ev,Gv', true, IMM_NONE, (i) => (i.o32 ? xadd32 : xadd16), { lockable: true }));

// ---- CMPXCHG ----

function cmpxchg(bytes: number): Exec {
  const bits = bytes * 8;
  return (cpu, i) => {
    const dst = rmwRead(cpu, i, bytes);
    const acc = readReg(cpu, EAX, bytes);
    setLazy(cpu, LAZY_SUB, bits, acc, dst, acc - dst);
    if (acc === dst) {
      rmwWrite(cpu, i, bytes, readReg(cpu, i.reg, bytes));
    } else {
      if (i.mod !== 3) rmwWrite(cpu, i, bytes, dst);
      writeReg(cpu, EAX, bytes, dst);
    }
  };
}
const cmpxchg8 = cmpxchg(1), cmpxchg16 = cmpxchg(2), cmpxchg32 = cmpxchg(4);
defineOp(0x1b0, op('cmpxchg Eb,Gb', true, IMM_NONE, () => cmpxchg8, { lockable: true }));
defineOp(0x1b1, op('cmpxchg Ev,Gv', true, IMM_NONE, (i) => (i.o32 ? cmpxchg32 : cmpxchg16), { lockable: true }));

const cmpxchg8b: Exec = (cpu, i) => {
  const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 8);
  const lo = cpu.readLin32(lin);
  const hi = cpu.readLin32((lin + 4) | 0);
  const r = cpu.regs;
  if (lo === r[EAX] && hi === r[EDX]) {
    cpu.writeLin32(lin, r[EBX]);
    cpu.writeLin32((lin + 4) | 0, r[ECX]);
    writeArithFlags(cpu, ZF, ZF);
  } else {
    cpu.writeLin32(lin, lo);
    cpu.writeLin32((lin + 4) | 0, hi);
    r[EAX] = lo;
    r[EDX] = hi;
    writeArithFlags(cpu, 0, ZF);
  }
};
defineOp(0x1c7, op('grp9', true, IMM_NONE, (i) => (i.reg === 1 && i.mod !== 3 ? cmpxchg8b : i.reg >= 6 ? vmxGroup9Exec(i) : ud), { lockable: true }));
