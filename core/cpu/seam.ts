/**
 * The one seam for sensitive operations. Instruction code performs the
 * architectural privilege checks (CPL, IOPL, I/O bitmap) and then calls
 * `cpu.seam`; `bareMetal` is what a physical processor does. A virtualization
 * extension (VMX non-root, SVM guest mode) or the software hypervisor installs
 * its own SensitiveOps that decides per operation whether to exit/trap or to
 * fall through to `bareMetal` — without touching instruction code.
 */
import type { Cpu } from './cpu.ts';
import type { AccessSize } from '../memory/bus.ts';
import { deliverInterrupt } from './interrupts.ts';
import { cpuid, rdmsr, wrmsr, writeControlRegister, readControlRegister, writeDebugRegister, readDebugRegister } from './system.ts';

export interface SensitiveOps {
  portIn(cpu: Cpu, port: number, size: AccessSize): number;
  portOut(cpu: Cpu, port: number, size: AccessSize, value: number): void;
  /** CPUID: reads EAX/ECX, writes EAX/EBX/ECX/EDX. */
  cpuid(cpu: Cpu): void;
  /** RDMSR/WRMSR: ECX selects, EDX:EAX is the value. */
  rdmsr(cpu: Cpu): void;
  wrmsr(cpu: Cpu): void;
  /** RDTSC: writes EDX:EAX. */
  rdtsc(cpu: Cpu): void;
  hlt(cpu: Cpu): void;
  readCr(cpu: Cpu, cr: number): number;
  writeCr(cpu: Cpu, cr: number, value: number): void;
  readDr(cpu: Cpu, dr: number): number;
  writeDr(cpu: Cpu, dr: number, value: number): void;
  invlpg(cpu: Cpu, lin: number): void;
  /** LGDT/LIDT (base, limit) and LLDT/LTR (selector) after their own checks; `apply` performs the load. */
  loadDescriptorTable(cpu: Cpu, which: 'gdt' | 'idt' | 'ldt' | 'tr', apply: () => void): void;
  /** Interrupt/exception delivery (kind: INT_* of interrupts.ts). */
  interrupt(cpu: Cpu, vector: number, kind: number, errorCode: number, hasErrorCode: boolean): void;
}

export const bareMetal: SensitiveOps = {
  portIn: (cpu, port, size) => cpu.bus.portRead(port, size),
  portOut: (cpu, port, size, value) => cpu.bus.portWrite(port, size, value),
  cpuid,
  rdmsr,
  wrmsr,
  rdtsc(cpu) {
    const t = cpu.clock.tsc() + cpu.tscOffset;
    cpu.regs[0] = t % 0x1_0000_0000 | 0;
    cpu.regs[2] = Math.floor(t / 0x1_0000_0000) | 0;
  },
  hlt(cpu) {
    cpu.halted = true;
    cpu.exitBlock = true;
  },
  readCr: readControlRegister,
  writeCr: writeControlRegister,
  readDr: readDebugRegister,
  writeDr: writeDebugRegister,
  invlpg: (cpu, lin) => cpu.invalidatePage(lin),
  loadDescriptorTable: (_cpu, _which, apply) => apply(),
  interrupt: deliverInterrupt,
};
