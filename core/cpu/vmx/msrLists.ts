/**
 * The MSR areas of the VMCS (SDM Vol. 3C §24.7.2, §24.8.2, §26.4, §27.4,
 * §27.6): 16-byte entries (MSR index, reserved dword, 64-bit value) that
 * VM entry loads, VM exit stores the guest's MSRs into, and VM exit loads
 * for the host. A failing entry is reported by its 1-based number.
 */
import type { Cpu } from '../cpu.ts';
import { CPU_FAULT } from '../faults.ts';
import { EAX, ECX, EDX } from '../regs.ts';
import { rdmsr, wrmsr } from '../system.ts';

/** MSRs no list may load: FS/GS base, IA32_SMM_MONITOR_CTL, the x2APIC range. */
function loadForbidden(index: number): boolean {
  return index === 0xc000_0100 || index === 0xc000_0101 || index === 0x9b || (index >>> 8) === 8;
}

/** Runs `f` with ECX/EAX/EDX as scratch, restoring them after; false if it raised an exception. */
function withMsrRegisters(cpu: Cpu, f: () => void): boolean {
  const r = cpu.regs;
  const saved0 = r[EAX], saved1 = r[ECX], saved2 = r[EDX];
  try {
    f();
    return true;
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    return false;
  } finally {
    r[EAX] = saved0; r[ECX] = saved1; r[EDX] = saved2;
  }
}

/** Loads `count` MSRs from the list at `area` (WRMSR semantics). Returns 0, or the number of the failing entry. */
export function loadMsrList(cpu: Cpu, area: number, count: number): number {
  for (let i = 0; i < count >>> 0; i++) {
    const a = (area + i * 16) >>> 0;
    const index = cpu.bus.read32(a) >>> 0;
    if (cpu.bus.read32(a + 4) !== 0 || loadForbidden(index)) return i + 1;
    const lo = cpu.bus.read32(a + 8), hi = cpu.bus.read32(a + 12);
    const ok = withMsrRegisters(cpu, () => {
      cpu.regs[ECX] = index;
      cpu.regs[EAX] = lo;
      cpu.regs[EDX] = hi;
      wrmsr(cpu);
    });
    if (!ok) return i + 1;
  }
  return 0;
}

/** Stores the current values of the `count` MSRs listed at `area` into their entries (RDMSR semantics). */
export function storeMsrList(cpu: Cpu, area: number, count: number): number {
  for (let i = 0; i < count >>> 0; i++) {
    const a = (area + i * 16) >>> 0;
    const index = cpu.bus.read32(a) >>> 0;
    if (cpu.bus.read32(a + 4) !== 0 || (index >>> 8) === 8 || index === 0x9e) return i + 1; // x2APIC, IA32_SMBASE
    let lo = 0, hi = 0;
    const ok = withMsrRegisters(cpu, () => {
      cpu.regs[ECX] = index;
      rdmsr(cpu);
      lo = cpu.regs[EAX];
      hi = cpu.regs[EDX];
    });
    if (!ok) return i + 1;
    cpu.bus.write32(a + 8, lo);
    cpu.bus.write32(a + 12, hi);
  }
  return 0;
}
