/**
 * The VMX instructions as the decoder sees them (SDM Vol. 2 / Vol. 3C ch. 31):
 *   0F 01 C1 VMCALL, C2 VMLAUNCH, C3 VMRESUME, C4 VMXOFF   (group 7, mod = 3, reg = 0)
 *   0F C7 /6 m64: VMPTRLD; 66: VMCLEAR; F3: VMXON           (group 9)
 *   0F C7 /7 m64: VMPTRST
 *   0F 78 VMREAD r/m32, r32;  0F 79 VMWRITE r32, r/m32
 *   66 0F 38 80 INVEPT r32, m128;  66 0F 38 81 INVVPID r32, m128
 * They report through CF/ZF (VMsucceed, VMfailInvalid, VMfailValid) and, in
 * VMX non-root operation, cause VM exits with the instruction-information
 * field describing their operands.
 */
import type { Cpu } from '../cpu.ts';
import type { Exec, Insn } from '../insn.ts';
import { defineOp, IMM_NONE, op } from '../opcodeTable.ts';
import { writeArithFlags } from '../flags.ts';
import { ARITH_FLAGS, CF, VM, ZF } from '../regs.ts';
import * as ops from './operations.ts';
import { vmEntry, VM_ENTERED } from './entry.ts';
import { raiseVmExit } from './exit.ts';
import type { VmxResult } from './vmx.ts';
import * as F from './vmcsFields.ts';

const ud: Exec = (cpu) => cpu.raiseUD();

/** CF/ZF and the other arithmetic flags as the SDM's VMsucceed / VMfail conventions set them. */
function report(cpu: Cpu, r: VmxResult): void {
  if (r === VM_ENTERED) return; // the guest's (or, after a failed entry, the host's) RFLAGS are in place
  const value = r.ok ? 0 : r.kind === 'failInvalid' ? CF : ZF;
  writeArithFlags(cpu, value, ARITH_FLAGS);
}

/** The VM-exit instruction-information field for a ModRM operand (SDM Tables 27-13/27-14); reg2 in bits 31:28. */
function instructionInfo(i: Insn, reg2: number): number {
  const addressSize = (i.a32 ? 1 : 0) << 7;
  // A register operand: the address size is undefined in the SDM; 0, as Bochs writes it.
  if (i.mod === 3) return (i.rm << 3) | (1 << 10) | (reg2 << 28);
  return i.scale | addressSize | (i.seg << 15)
    | (i.index >= 0 ? i.index << 18 : 1 << 22)
    | (i.base >= 0 ? i.base << 23 : 1 << 27)
    | (reg2 << 28);
}

/** The exit a VMX instruction causes in non-root operation: qualification = the displacement. */
function exitFor(cpu: Cpu, i: Insn, reason: number, withOperand: boolean, reg2 = 0): () => never {
  return () => {
    cpu.vmx.exitInstructionInfo = withOperand ? instructionInfo(i, reg2) : 0;
    return raiseVmExit(cpu, reason, withOperand && i.mod !== 3 ? i.disp : 0);
  };
}

function readPointer(cpu: Cpu, i: Insn): () => void {
  return () => {
    const off = cpu.ea(i);
    ops.operand.lo = cpu.read32(i.seg, off);
    ops.operand.hi = cpu.read32(i.seg, (off + 4) | 0);
  };
}

function readDescriptor(cpu: Cpu, i: Insn): () => void {
  return () => {
    const off = cpu.ea(i);
    for (let k = 0; k < 4; k++) ops.descriptor[k] = cpu.read32(i.seg, (off + 4 * k) | 0);
  };
}

const vmcall: Exec = (cpu, i) => {
  const vmx = cpu.vmx;
  if (!vmx.inVmxOperation) cpu.raiseUD();
  if (vmx.nonRoot) exitFor(cpu, i, F.EXIT_REASON_VMCALL, false)();
  if ((cpu.flags & VM) !== 0) cpu.raiseUD();
  if (cpu.cpl > 0) cpu.raiseGP(0);
  // No SMM dual-monitor treatment: VMCALL in root operation fails.
  report(cpu, ops.vmFail(cpu, F.VMERR_VMCALL_IN_ROOT));
};
const vmlaunch: Exec = (cpu, i) => report(cpu, vmEntry(cpu, true, exitFor(cpu, i, F.EXIT_REASON_VMLAUNCH, false)));
const vmresume: Exec = (cpu, i) => report(cpu, vmEntry(cpu, false, exitFor(cpu, i, F.EXIT_REASON_VMRESUME, false)));
const vmxoff: Exec = (cpu, i) => report(cpu, ops.vmxoff(cpu, exitFor(cpu, i, F.EXIT_REASON_VMXOFF, false)));

/** Group 7 with mod = 3 and reg = 0 (0F 01 C0-C7). */
export function vmxGroup7(i: Insn): Exec {
  i.endsBlock = true;
  switch (i.rm) {
    case 1: return vmcall;
    case 2: return vmlaunch;
    case 3: return vmresume;
    case 4: return vmxoff;
    default: return ud;
  }
}

const vmptrld: Exec = (cpu, i) => report(cpu, ops.vmptrld(cpu, readPointer(cpu, i), exitFor(cpu, i, F.EXIT_REASON_VMPTRLD, true)));
const vmclear: Exec = (cpu, i) => report(cpu, ops.vmclear(cpu, readPointer(cpu, i), exitFor(cpu, i, F.EXIT_REASON_VMCLEAR, true)));
const vmxon: Exec = (cpu, i) => report(cpu, ops.vmxon(cpu, readPointer(cpu, i), exitFor(cpu, i, F.EXIT_REASON_VMXON, true)));
const vmptrst: Exec = (cpu, i) => report(cpu, ops.vmptrst(cpu, (lo, hi) => {
  const off = cpu.ea(i);
  cpu.rmwAddress(i.seg, off, 8); // both dwords writable before either is written
  cpu.write32(i.seg, off, lo);
  cpu.write32(i.seg, (off + 4) | 0, hi);
}, exitFor(cpu, i, F.EXIT_REASON_VMPTRST, true)));

/** Group 9 /6 and /7 with a memory operand; the prefix picks the instruction. */
export function vmxGroup9(i: Insn, has66: boolean): Exec {
  if (i.mod === 3 || i.lock) return ud;
  i.endsBlock = true;
  if (i.reg === 7) return has66 || i.rep !== 0 ? ud : vmptrst;
  if (i.rep === 1 /* F3 */ && !has66) return vmxon;
  if (i.rep !== 0) return ud;
  return has66 ? vmclear : vmptrld;
}

const vmreadOp: Exec = (cpu, i) => {
  const field = cpu.regs[i.reg];
  report(cpu, ops.vmread(cpu, field, (value) => {
    if (i.mod === 3) cpu.regs[i.rm] = value;
    else cpu.write32(i.seg, cpu.ea(i), value);
  }, exitFor(cpu, i, F.EXIT_REASON_VMREAD, true, i.reg)));
};
const vmwriteOp: Exec = (cpu, i) => {
  const field = cpu.regs[i.reg];
  report(cpu, ops.vmwrite(cpu, field, () => (i.mod === 3 ? cpu.regs[i.rm] : cpu.read32(i.seg, cpu.ea(i))),
    exitFor(cpu, i, F.EXIT_REASON_VMWRITE, true, i.reg)));
};
/** 66/F2/F3 prefixes make 0F 78/79 other (SSE4a) instructions this processor does not have. */
const noPrefix = (f: Exec): Exec => (cpu, i) => {
  if (i.rep !== 0 || i.o32 !== cpu.cs32) cpu.raiseUD();
  f(cpu, i);
};
const vmreadChecked = noPrefix(vmreadOp), vmwriteChecked = noPrefix(vmwriteOp);
defineOp(0x178, op('vmread Ed,Gd', true, IMM_NONE, () => vmreadChecked, { endsBlock: true }));
defineOp(0x179, op('vmwrite Gd,Ed', true, IMM_NONE, () => vmwriteChecked, { endsBlock: true }));

const inveptOp: Exec = (cpu, i) => {
  report(cpu, ops.invept(cpu, cpu.regs[i.reg], readDescriptor(cpu, i), exitFor(cpu, i, F.EXIT_REASON_INVEPT, true, i.reg)));
};
const invvpidOp: Exec = (cpu, i) => {
  report(cpu, ops.invvpid(cpu, cpu.regs[i.reg], readDescriptor(cpu, i), exitFor(cpu, i, F.EXIT_REASON_INVVPID, true, i.reg)));
};
defineOp(0x280, op('invept Gd,Mdq', true, IMM_NONE, (i) => (i.mod === 3 || i.rep !== 0 ? ud : inveptChecked), { endsBlock: true }));
defineOp(0x281, op('invvpid Gd,Mdq', true, IMM_NONE, (i) => (i.mod === 3 || i.rep !== 0 ? ud : invvpidChecked), { endsBlock: true }));

/**
 * INVEPT/INVVPID exist only with the 66 prefix, which the decoder records as
 * an operand-size flip: present when the operand size differs from CS's default.
 */
function requires66(f: Exec): Exec {
  return (cpu, i) => {
    if (i.o32 === cpu.cs32) cpu.raiseUD();
    f(cpu, i);
  };
}
const inveptChecked = requires66(inveptOp), invvpidChecked = requires66(invvpidOp);

const group9: Exec = (cpu, i) => vmxGroup9(i, i.o32 !== cpu.cs32)(cpu, i);
/**
 * Group 9 /6 and /7: which instruction the prefixes select is decided at
 * execution, because the decoder records a 66 prefix only as an operand-size
 * flip relative to CS's default size.
 */
export function vmxGroup9Exec(i: Insn): Exec {
  i.endsBlock = true;
  return group9;
}
