/**
 * System instructions (the protected-mode engineer completes this file):
 * HLT, MOV to/from control registers, LGDT/LIDT, CPUID, RDTSC, RDMSR/WRMSR.
 */
import type { Exec } from '../insn.ts';
import { defineOp, IMM_NONE, op } from '../opcodeTable.ts';


const hlt: Exec = (cpu) => {
  if (cpu.cpl !== 0) cpu.raiseGP(0);
  cpu.seam.hlt(cpu);
};
defineOp(0xf4, op('hlt', false, IMM_NONE, () => hlt, { endsBlock: true }));

// MOV r32, CRn / MOV CRn, r32 (mod is ignored: always register form).
const movFromCr: Exec = (cpu, i) => {
  if (cpu.cpl !== 0 || cpu.v86Mode) cpu.raiseGP(0);
  cpu.regs[i.rm] = cpu.seam.readCr(cpu, i.reg);
};
const movToCr: Exec = (cpu, i) => {
  if (cpu.cpl !== 0 || cpu.v86Mode) cpu.raiseGP(0);
  cpu.seam.writeCr(cpu, i.reg, cpu.regs[i.rm]);
};
defineOp(0x120, op('mov Rd,Cd', true, IMM_NONE, () => movFromCr));
defineOp(0x122, op('mov Cd,Rd', true, IMM_NONE, () => movToCr, { endsBlock: true }));

const lgdtLidt: Exec = (cpu, i) => {
  if (cpu.cpl !== 0 || cpu.v86Mode) cpu.raiseGP(0);
  const ea = cpu.ea(i);
  const limit = cpu.read16(i.seg, ea);
  let base = cpu.read32(i.seg, (ea + 2) | 0);
  if (!i.o32) base &= 0x00ff_ffff; // 16-bit operand size loads a 24-bit base
  const which = i.reg === 2 ? 'gdt' : 'idt';
  cpu.seam.loadDescriptorTable(cpu, which, () => {
    if (which === 'gdt') { cpu.gdtBase = base; cpu.gdtLimit = limit; }
    else { cpu.idtBase = base; cpu.idtLimit = limit; }
  });
};
const ud: Exec = (cpu) => cpu.raiseUD();
defineOp(0x101, op('grp7', true, IMM_NONE, (i) => {
  if ((i.reg === 2 || i.reg === 3) && i.mod !== 3) return lgdtLidt;
  return ud;
}));

const cpuidOp: Exec = (cpu) => cpu.seam.cpuid(cpu);
defineOp(0x1a2, op('cpuid', false, IMM_NONE, () => cpuidOp, { endsBlock: true }));
const rdtsc: Exec = (cpu) => {
  if ((cpu.cr4 & 4) !== 0 && cpu.cpl !== 0) cpu.raiseGP(0); // CR4.TSD
  cpu.seam.rdtsc(cpu);
};
defineOp(0x131, op('rdtsc', false, IMM_NONE, () => rdtsc));
const rdmsr: Exec = (cpu) => { if (cpu.cpl !== 0 || cpu.v86Mode) cpu.raiseGP(0); cpu.seam.rdmsr(cpu); };
const wrmsr: Exec = (cpu) => { if (cpu.cpl !== 0 || cpu.v86Mode) cpu.raiseGP(0); cpu.seam.wrmsr(cpu); };
defineOp(0x132, op('rdmsr', false, IMM_NONE, () => rdmsr));
defineOp(0x130, op('wrmsr', false, IMM_NONE, () => wrmsr, { endsBlock: true }));

