/**
 * EMMS (0F 77), on the AMD part only: marks every x87 register empty (tag
 * word FFFFh), after the checks of a waiting x87 instruction (#UD under
 * CR0.EM, #NM under CR0.TS, a pending unmasked x87 exception first).
 *
 * This processor has no MMX (CPUID.1:EDX.MMX = 0) and the Intel part keeps
 * EMMS undefined. The AMD part executes it because Linux does so on every
 * AMD processor of family 6 or later, whatever CPUID says (`fnclex; emms;
 * fildl` when restoring FPU state, its X86_BUG_FXSAVE_LEAK workaround): every
 * real AMD part of those families has MMX. EMMS is the only MMX instruction
 * implemented; the others stay #UD.
 */
import type { Exec } from '../insn.ts';
import { defineOp, IMM_NONE, op } from '../opcodeTable.ts';
import { CR0_EM } from '../regs.ts';
import { waitingGate } from './gate.ts';

const ALL_EMPTY = 0xff;

const emms: Exec = (cpu, i) => {
  if (cpu.model.vendor !== 'AuthenticAMD' || (cpu.cr0 & CR0_EM) !== 0) cpu.raiseUD();
  if (!waitingGate(cpu, i)) return;
  cpu.fpu.empty = ALL_EMPTY;
};

defineOp(0x177, op('emms', false, IMM_NONE, () => emms));
