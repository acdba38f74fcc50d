/**
 * A small machine for the translator's tests: 4 MiB of RAM, paging off, a
 * guest GDT (what the guest kernel wrote: ring-0 code and data) and a
 * "shadow" GDT (what the processor runs on under ring compression: the same
 * segments at DPL 1, at another address). The same guest code runs twice:
 *
 * - natively at CPL 0 on the guest GDT (the reference: what the guest
 *   believes it does), and
 * - translated, from the translation cache, at CPL 1 on the shadow GDT, the
 *   callouts emulating against a vCPU record that holds the guest's view.
 *
 * Both runs stop at the guest's HLT (natively it halts; at CPL 1 it traps,
 * and the TC map names the guest HLT) or at the first other exception
 * (recorded with the guest EIP it is reported at).
 */
import { MemoryBus } from '../../../../core/memory/bus.ts';
import { PhysicalMemory } from '../../../../core/memory/physicalMemory.ts';
import { GuestClock } from '../../../../core/cpu/clock.ts';
import { Cpu, STOP_HALT, STOP_REQUEST } from '../../../../core/cpu/cpu.ts';
import { bareMetal, type SensitiveOps } from '../../../../core/cpu/seam.ts';
import { INT_EXCEPTION } from '../../../../core/cpu/interrupts.ts';
import { LDTR, TR, EXC_GP } from '../../../../core/cpu/regs.ts';
import { setSegmentCache } from '../../../../core/cpu/segments.ts';
import type { Insn } from '../../../../core/cpu/insn.ts';
import { assemble } from '../../../../scripts/nasm.ts';
import { newVirtualCpu, type VirtualCpu } from '../../../../core/hypervisor/software/virtualCpu.ts';
import { BinaryTranslator, type TranslatorOptions } from '../../../../core/hypervisor/software/bt/binaryTranslator.ts';
import type { CalloutKind } from '../../../../core/hypervisor/software/bt/calloutKinds.ts';

export const GUEST_GDT = 0x1000;
export const SHADOW_GDT = 0x2000;
export const LDT_BASE = 0x3000;
export const TSS_BASE = 0x4000;
export const CODE = 0x10000;
export const DATA = 0x20000;
export const STACK_TOP = 0x30000;
export const TC = { linear: 0x100000, physical: 0x100000, size: 0x10000 };

/** Guest selectors (as the guest names them) and the GDT layout. */
export const KCODE = 0x08, KDATA = 0x10, LDT_SEL = 0x28, TSS_SEL = 0x30, UDATA = 0x3b;

function descriptor(base: number, limit: number, access: number, flags: number): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff00_0000) | ((flags & 0xf) << 20) | (limit & 0xf_0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
  return [lo | 0, hi | 0];
}

/** The GDT; `dpl` is what the kernel segments get (0 for the guest's, 1 for the shadow). */
function gdt(dpl: number): [number, number][] {
  return [
    [0, 0],
    descriptor(0, 0xfffff, 0x9a | (dpl << 5), 0xc), // 0x08 kernel code
    descriptor(0, 0xfffff, 0x92 | (dpl << 5), 0xc), // 0x10 kernel data
    descriptor(0, 0, 0, 0), // 0x18 unused
    descriptor(0, 0, 0, 0), // 0x20 unused
    descriptor(LDT_BASE, 0x17, 0x82, 0), // 0x28 LDT (3 entries)
    descriptor(TSS_BASE, 0x67, 0x8b, 0), // 0x30 busy 32-bit TSS
    descriptor(0x5000, 0xfff, 0xf2, 0x4), // 0x38 user data, byte-granular limit 0xFFF
  ];
}

export interface Stop {
  kind: 'halt' | 'exception' | 'monitor' | 'budget';
  vector?: number;
  errorCode?: number;
  /** Guest EIP where the run stopped (of the HLT, the faulting instruction, the instruction handed to the monitor). */
  guestEip: number;
  calloutKind?: CalloutKind;
}

export interface Machine {
  cpu: Cpu;
  bus: MemoryBus;
  stop: Stop | null;
}

function newMachine(code: Uint8Array): Machine {
  const memory = new PhysicalMemory(4 << 20, 0);
  const bus = new MemoryBus(memory);
  const cpu = new Cpu(bus, new GuestClock('deterministic'));
  cpu.pollIntr = false;
  for (const [base, table] of [[GUEST_GDT, gdt(0)], [SHADOW_GDT, gdt(1)]] as const) {
    table.forEach(([lo, hi], k) => { bus.write32(base + 8 * k, lo); bus.write32(base + 8 * k + 4, hi); });
  }
  // The LDT: a null entry, a DPL-0 data segment (0x0C), a DPL-3 data segment (0x17 with RPL 3).
  const ldt = [[0, 0], descriptor(0x6000, 0xff, 0x92, 0x4), descriptor(0x7000, 0x1ff, 0xf2, 0x4)];
  ldt.forEach(([lo, hi], k) => { bus.write32(LDT_BASE + 8 * k, lo); bus.write32(LDT_BASE + 8 * k + 4, hi); });
  code.forEach((b, k) => bus.write8(CODE + k, b));
  return { cpu, bus, stop: null };
}

function run(m: Machine, budget: number): void {
  const cpu = m.cpu;
  let left = budget;
  while (m.stop === null && left > 0) {
    const before = cpu.clock.retired;
    const r = cpu.run(Math.min(left, 100_000));
    left -= Math.max(1, cpu.clock.retired - before);
    if (r === STOP_HALT && m.stop === null) m.stop = { kind: 'halt', guestEip: (cpu.eip - 1) | 0 };
    if (r === STOP_REQUEST) cpu.stopRequested = false;
  }
  if (m.stop === null) m.stop = { kind: 'budget', guestEip: cpu.eip };
}

/** Assembles 32-bit guest code at CODE (`bits 32`, `org` given). */
export function guestCode(body: string): Uint8Array {
  return assemble(`bits 32\norg ${CODE}\n${body}\n`);
}

export interface RunOptions {
  /** Guest EFLAGS at entry (the IF and IOPL the guest believes in). */
  eflags?: number;
  regs?: Partial<Record<'eax' | 'ebx' | 'ecx' | 'edx' | 'esi' | 'edi' | 'ebp', number>>;
  budget?: number;
  translator?: TranslatorOptions;
  /** Compile hot blocks (TC blocks included) with the processor's JIT, from the first execution. */
  jit?: boolean;
  /** A translation cache smaller than TC's (the same place), to make it fill up. */
  tcSize?: number;
}

function entry(opts: RunOptions, cs: number, ss: number, gdtBase: number, eflags: number) {
  const r = opts.regs ?? {};
  return {
    eax: r.eax ?? 0, ebx: r.ebx ?? 0, ecx: r.ecx ?? 0, edx: r.edx ?? 0, esi: r.esi ?? 0, edi: r.edi ?? 0, ebp: r.ebp ?? 0,
    esp: STACK_TOP, eip: CODE, eflags, gdtBase, gdtLimit: 0x3f,
    cs, ss, ds: KDATA, es: KDATA, fs: KDATA, gs: KDATA,
  };
}

/** The guest's LDTR and TR as the guest loaded them. */
function loadLdtAndTr(cpu: Cpu): void {
  setSegmentCache(cpu, LDTR, LDT_SEL, LDT_BASE, 0x17, 0x82);
  setSegmentCache(cpu, TR, TSS_SEL, TSS_BASE, 0x67, 0x8b);
}

/** Runs guest code natively at CPL 0: the reference. */
export function runNative(code: Uint8Array, opts: RunOptions = {}): Machine {
  const m = newMachine(code);
  const cpu = m.cpu;
  cpu.jit.configure({ enabled: opts.jit === true, hotThreshold: 1 });
  cpu.loadEntryState(entry(opts, KCODE, KDATA, GUEST_GDT, opts.eflags ?? 0x2));
  loadLdtAndTr(cpu);
  cpu.idtBase = 0x8000;
  cpu.idtLimit = 0x7ff;
  const seam: SensitiveOps = {
    ...bareMetal,
    interrupt(c, vector, kind, errorCode) {
      m.stop = { kind: 'exception', vector, errorCode, guestEip: c.eip };
      c.requestStop();
    },
  };
  cpu.seam = seam;
  run(m, opts.budget ?? 1_000_000);
  return m;
}

export interface TranslatedMachine extends Machine {
  vcpu: VirtualCpu;
  bt: BinaryTranslator;
  /** The monitor-kind callouts that reached the monitor hook: kind, guest EIP, the next guest EIP. */
  transfers: { kind: CalloutKind; guestEip: number; eipOnEntry: number; insn: Insn }[];
}

/** Prepares the translated machine (ring compression: CPL 1 on the shadow GDT, guest view in the vCPU) without running it. */
export function prepareTranslated(code: Uint8Array, opts: RunOptions = {}): TranslatedMachine {
  const base = newMachine(code);
  const cpu = base.cpu;
  cpu.jit.configure({ enabled: opts.jit === true, hotThreshold: 1 });
  const guestEflags = opts.eflags ?? 0x2;
  // The processor: IF = 1, IOPL = 0 (the monitor's); the rest as the guest's.
  cpu.loadEntryState(entry(opts, KCODE | 1, KDATA | 1, SHADOW_GDT, (guestEflags & ~0x3200) | 0x200));
  cpu.cr0 |= (1 << 5) | (1 << 16); // NE, WP: the monitor's CR0 differs from the guest's
  setSegmentCache(cpu, LDTR, 0, 0, 0, 0); // the monitor's LDTR and TR, not the guest's
  setSegmentCache(cpu, TR, 0, 0, 0xffff, 0x8b);
  const vcpu = newVirtualCpu();
  vcpu.interruptFlag = (guestEflags & 0x200) !== 0;
  vcpu.iopl = (guestEflags >>> 12) & 3;
  vcpu.gdtBase = GUEST_GDT; vcpu.gdtLimit = 0x3f;
  vcpu.idtBase = 0x8000; vcpu.idtLimit = 0x7ff;
  vcpu.ldtr = LDT_SEL; vcpu.ldtBase = LDT_BASE; vcpu.ldtLimit = 0x17;
  vcpu.tr = TSS_SEL; vcpu.trBase = TSS_BASE; vcpu.trLimit = 0x67;
  vcpu.cr0 = 0x11;
  const transfers: TranslatedMachine['transfers'] = [];
  const m: TranslatedMachine = { ...base, vcpu, bt: null!, transfers, stop: null };
  m.bt = new BinaryTranslator(cpu, vcpu, opts.tcSize === undefined ? TC : { ...TC, size: opts.tcSize }, {
    controlTransfer(c, insn, kind, guestEip) {
      transfers.push({ kind, guestEip, eipOnEntry: c.eip, insn });
      m.stop = { kind: 'monitor', guestEip, calloutKind: kind };
      c.eip = guestEip;
      c.requestStop();
    },
    setInterruptFlag(_c, on) { vcpu.interruptFlag = on; },
  }, opts.translator);
  cpu.seam = {
    ...bareMetal,
    interrupt(c, vector, kind, errorCode) {
      if (m.bt.handleInterrupt(c, vector, kind)) return;
      const guestEip = m.bt.currentGuestEip();
      const isHlt = kind === INT_EXCEPTION && vector === EXC_GP && c.readLin8((c.segBase[1] + guestEip) | 0) === 0xf4;
      m.stop = isHlt ? { kind: 'halt', guestEip } : { kind: 'exception', vector, errorCode, guestEip };
      c.requestStop();
    },
  };
  return m;
}

/** Runs guest code from the translation cache at CPL 1. */
export function runTranslated(code: Uint8Array, opts: RunOptions = {}): TranslatedMachine {
  const m = prepareTranslated(code, opts);
  m.bt.enter();
  run(m, opts.budget ?? 1_000_000);
  return m;
}

/** Resumes a translated machine after a stop (the test changed something): from guest EIP `guestEip`. */
export function resumeTranslated(m: TranslatedMachine, guestEip: number, budget = 1_000_000): void {
  m.stop = null;
  m.cpu.eip = guestEip;
  m.bt.enter();
  run(m, budget);
}

/** The general registers, in EAX..EDI order. */
export const regsOf = (m: Machine): number[] => Array.from(m.cpu.regs, (v) => v >>> 0);

export function readBytes(m: Machine, pa: number, n: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < n; k++) out.push(m.bus.read8(pa + k));
  return out;
}
