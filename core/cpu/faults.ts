/**
 * How a faulting instruction unwinds: handlers throw the one preallocated
 * `CPU_FAULT` (vector and error code filled in) and the run loop
 * (execLoop.ts) catches it, restarts the instruction and delivers the
 * exception. Kept apart from cpu.ts so that the modules that raise or catch
 * faults (ops, VMX, SVM, the hypervisor) do not import the Cpu class at run
 * time (cpu.ts imports most of them).
 */
import { EXC_PF } from './regs.ts';

/** The one object thrown to unwind a faulting instruction. */
export class CpuFault {
  vector = 0;
  errorCode = 0;
  hasErrorCode = false;
}
export const CPU_FAULT = new CpuFault();

const CONTRIBUTORY = new Set([0, 10, 11, 12, 13]);

/** SDM Table 6-5: which exception pairs become a double fault. */
export function causesDoubleFault(first: number, second: number): boolean {
  if (CONTRIBUTORY.has(first)) return CONTRIBUTORY.has(second);
  if (first === EXC_PF) return second === EXC_PF || CONTRIBUTORY.has(second);
  return false;
}

const EXC_NAMES = ['#DE', '#DB', 'NMI', '#BP', '#OF', '#BR', '#UD', '#NM', '#DF', 'CSO', '#TS', '#NP', '#SS', '#GP', '#PF', '15', '#MF', '#AC', '#MC', '#XM'];
/** The exception's mnemonic (#GP), for shutdown messages and logs. */
export function excName(v: number): string {
  return EXC_NAMES[v] ?? `vector ${v}`;
}
