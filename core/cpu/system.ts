/**
 * System registers of the bare processor: CPUID, MSRs, control and debug
 * registers. Called through the seam (seam.ts) after the instruction's own
 * privilege checks.
 */
import type { Cpu } from './cpu.ts';
import { refreshAllSegments } from './segments.ts';
import {
  CR0_CD, CR0_ET, CR0_NW, CR0_PE, CR0_PG, CR0_WP, CR4_DE, CR4_IMPLEMENTED, CR4_PAE, CR4_PGE, CR4_PSE, EAX, EBX, ECX, EDX,
} from './regs.ts';
import { CR3_STORED, paePagingControl, readEferIntel, writeEferIntel, MSR_EFER } from './paeControl.ts';
import { intelExtendedCpuid, INTEL_MAX_EXTENDED_LEAF } from './cpuidExtended.ts';
import { intelBasicCpuid } from './cpuidIntel.ts';
import { readIntelModelMsr, writeIntelModelMsr } from './intelModelMsrs.ts';
import { CR4_VMXE } from './vmx/capabilities.ts';
import { rdmsrVmx, vmxCrValueAllowed, wrmsrVmx } from './vmx/msrs.ts';
import { rdmsrSvm, wrmsrSvm } from './svm/msrs.ts';
import { svmCpuid } from './svm/cpuid.ts';
import { INTEL_VMX_MODEL } from './processorModel.ts';

/** CPUID.1:EAX of the Intel part — family 6, model 0Eh, stepping 8: a Core Solo (processorModel.ts). */
export const CPUID_SIGNATURE = INTEL_VMX_MODEL.signature;

/**
 * CPUID.1:EDX feature bits, exactly what this CPU implements (the part has
 * more: VME, MCE, APIC, SEP, MTRR, MCA, PAT, DS, ACPI, SS, TM, PBE, and on
 * the Core Duo HTT; each stays clear until it exists here).
 */
export const CPUID_FEATURES = {
  FPU: 1 << 0,
  DE: 1 << 2,
  PSE: 1 << 3,
  TSC: 1 << 4,
  MSR: 1 << 5,
  PAE: 1 << 6, // the Intel part only: svm/cpuid.ts clears it for the AMD part (paeControl.ts)
  CX8: 1 << 8,
  PGE: 1 << 13,
  CMOV: 1 << 15,
  CLFLUSH: 1 << 19, // CLFSH (sse/stateOps.ts), line size in CPUID.1:EBX[15:8]
  MMX: 1 << 23, // sse/mmx.ts
  FXSR: 1 << 24, // FXSAVE/FXRSTOR, CR4.OSFXSR (sse/stateOps.ts)
  SSE: 1 << 25, // sse/*
  SSE2: 1 << 26,
} as const;
export const CPUID_EDX = Object.values(CPUID_FEATURES).reduce((a, b) => a | b, 0);
/**
 * Leaf-1 EDX bits AMD parts do not mirror in 8000_0001h EDX, where bits 19,
 * 25 and 26 mean other things (reserved, FFXSR, Page1GB): svm/cpuid.ts.
 */
export const CPUID_EDX_LEAF1_ONLY = CPUID_FEATURES.CLFLUSH | CPUID_FEATURES.SSE | CPUID_FEATURES.SSE2;
/** CPUID.1:EBX[15:8]: the CLFLUSH line size in 8-byte units (64 bytes); the other fields (brand index, APIC ID) are 0. */
export const CPUID_EBX_CLFLUSH_LINE = 8 << 8;
/**
 * CPUID.1:ECX: VMX (bit 5), the virtualization extension in cpu/vmx. The
 * part also has SSE3, MONITOR, EST, TM2, xTPR and PDCM, not implemented here.
 */
export const CPUID_ECX_VMX = 1 << 5;
export const CPUID_ECX = CPUID_ECX_VMX;

/** CPUID.1:EDX.APIC: the local APIC; set by the board that has one (Cpu.boardCpuidEdx). */
export const CPUID_EDX_APIC = 1 << 9;

export function cpuid(cpu: Cpu): void {
  const leaf1 = cpu.regs[EAX] === 1;
  processorCpuid(cpu);
  if (leaf1) cpu.regs[EDX] |= cpu.boardCpuidEdx;
}

function processorCpuid(cpu: Cpu): void {
  if (cpu.model.extension === 'svm') {
    svmCpuid(cpu); // the AMD part (svm/cpuid.ts)
    return;
  }
  const leaf = cpu.regs[EAX] >>> 0;
  if (leaf >= 0x8000_0000 && leaf <= INTEL_MAX_EXTENDED_LEAF) intelExtendedCpuid(cpu, leaf);
  else intelBasicCpuid(cpu, leaf, intelLeaf1); // leaves beyond the maxima answer as the highest basic leaf
}

function intelLeaf1(cpu: Cpu): void {
  const r = cpu.regs;
  r[EAX] = CPUID_SIGNATURE;
  r[EBX] = CPUID_EBX_CLFLUSH_LINE;
  r[ECX] = CPUID_ECX;
  r[EDX] = CPUID_EDX;
}

export const MSR_TSC = 0x10;
export const MSR_UCODE_REV = 0x8b; // IA32_BIOS_SIGN_ID

export function rdmsr(cpu: Cpu): void {
  const r = cpu.regs;
  switch (r[ECX] >>> 0) {
    case MSR_TSC: {
      const t = cpu.clock.tsc() + cpu.tscOffset;
      r[EAX] = t % 0x1_0000_0000 | 0;
      r[EDX] = Math.floor(t / 0x1_0000_0000) | 0;
      return;
    }
    case MSR_UCODE_REV:
      r[EAX] = 0;
      r[EDX] = 0; // no microcode update loaded
      return;
    case MSR_EFER:
      if (cpu.model.extension === 'vmx') { readEferIntel(cpu); return; }
      if (!rdmsrSvm(cpu)) cpu.raiseGP(0);
      return;
    default: {
      const board = cpu.boardMsrs?.readMsr(r[ECX] >>> 0);
      if (board) {
        r[EAX] = board[0];
        r[EDX] = board[1];
        return;
      }
      const model = cpu.model.extension === 'vmx' ? readIntelModelMsr(r[ECX] >>> 0) : null;
      if (model !== null) {
        r[EAX] = model[0];
        r[EDX] = model[1];
        return;
      }
      if (!(cpu.model.extension === 'svm' ? rdmsrSvm(cpu) : rdmsrVmx(cpu))) cpu.raiseGP(0);
    }
  }
}

export function wrmsr(cpu: Cpu): void {
  const r = cpu.regs;
  switch (r[ECX] >>> 0) {
    case MSR_TSC: {
      const value = (r[EDX] >>> 0) * 0x1_0000_0000 + (r[EAX] >>> 0);
      cpu.tscOffset = value - cpu.clock.tsc();
      return;
    }
    case MSR_UCODE_REV:
      return; // writing 0 before CPUID is how software asks for the revision
    case MSR_EFER:
      if (cpu.model.extension === 'vmx') { writeEferIntel(cpu); return; }
      if (!wrmsrSvm(cpu)) cpu.raiseGP(0);
      return;
    default: {
      if (cpu.boardMsrs?.readMsr(r[ECX] >>> 0)) {
        if (!cpu.boardMsrs.writeMsr(r[ECX] >>> 0, r[EAX], r[EDX])) cpu.raiseGP(0);
        return;
      }
      const model = cpu.model.extension === 'vmx' ? writeIntelModelMsr(r[ECX] >>> 0, r[EAX], r[EDX]) : null;
      if (model === false) cpu.raiseGP(0);
      if (model === true) return;
      if (!(cpu.model.extension === 'svm' ? wrmsrSvm(cpu) : wrmsrVmx(cpu))) cpu.raiseGP(0);
    }
  }
}

export function readControlRegister(cpu: Cpu, cr: number): number {
  switch (cr) {
    case 0: return cpu.cr0;
    case 2: return cpu.cr2;
    case 3: return cpu.cr3;
    case 4: return cpu.cr4;
    default: return cpu.raiseUD();
  }
}

export function writeControlRegister(cpu: Cpu, cr: number, value: number): void {
  value |= 0;
  switch (cr) {
    case 0: {
      if ((value & CR0_PG) !== 0 && (value & CR0_PE) === 0) cpu.raiseGP(0);
      if ((value & CR0_NW) !== 0 && (value & CR0_CD) === 0) cpu.raiseGP(0);
      if (cpu.vmx.inVmxOperation && !vmxCrValueAllowed(cpu, 0, value)) cpu.raiseGP(0);
      const old = cpu.cr0;
      const next = (value | CR0_ET) & ~0x1ffa_ffc0; // reserved bits read as 0; ET is hardwired on P6
      if (!paePagingControl(cpu, next, cpu.cr4, (old ^ next) & (CR0_PG | CR0_CD | CR0_NW))) cpu.raiseGP(0);
      cpu.cr0 = next;
      const changed = old ^ cpu.cr0;
      if (changed & (CR0_PG | CR0_WP | CR0_PE)) cpu.flushTlb(true);
      if (changed & CR0_PE) refreshAllSegments(cpu);
      cpu.refreshAccessMode(); // CR0.AM
      cpu.exitBlock = true;
      return;
    }
    case 2:
      cpu.cr2 = value;
      return;
    case 3: {
      // PAE paging in use: the PDPTEs are loaded from the new CR3 first (#GP(0), CR3 unchanged, if one is invalid).
      const cr3 = value & CR3_STORED;
      if (!paePagingControl(cpu, cpu.cr0, cpu.cr4, 1, cr3)) cpu.raiseGP(0);
      cpu.cr3 = cr3;
      cpu.flushTlb(false);
      return;
    }
    case 4: {
      // CR4.VMXE and CR4.PAE exist on the Intel part only.
      if ((value & ~(CR4_IMPLEMENTED | (cpu.model.extension === 'vmx' ? CR4_VMXE | CR4_PAE : 0))) !== 0) cpu.raiseGP(0);
      if (cpu.vmx.inVmxOperation && !vmxCrValueAllowed(cpu, 4, value)) cpu.raiseGP(0);
      const changed = cpu.cr4 ^ value;
      if (!paePagingControl(cpu, cpu.cr0, value, changed & (CR4_PAE | CR4_PGE | CR4_PSE))) cpu.raiseGP(0);
      cpu.cr4 = value;
      if (changed & (CR4_PSE | CR4_PGE | CR4_PAE)) cpu.flushTlb(true);
      if (changed & CR4_DE) cpu.refreshBreakpoints();
      cpu.exitBlock = true;
      return;
    }
    default:
      cpu.raiseUD();
  }
}

export function readDebugRegister(cpu: Cpu, n: number): number {
  if (n === 4 || n === 5) {
    if ((cpu.cr4 & CR4_DE) !== 0) cpu.raiseUD();
    n += 2;
  }
  if (n === 6) return cpu.dr[6] | 0xffff_0ff0;
  if (n === 7) return (cpu.dr[7] & ~0xd800) | 0x400;
  return cpu.dr[n];
}

export function writeDebugRegister(cpu: Cpu, n: number, value: number): void {
  if (n === 4 || n === 5) {
    if ((cpu.cr4 & CR4_DE) !== 0) cpu.raiseUD();
    n += 2;
  }
  cpu.dr[n] = value;
  cpu.refreshBreakpoints();
}
