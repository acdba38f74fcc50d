/**
 * System instructions (SDM Vol. 2 pseudo-code): HLT, MOV to/from CRn and
 * DRn, CLTS, INVD/WBINVD, group 6 (SLDT, STR, LLDT, LTR, VERR, VERW),
 * group 7 (SGDT, SIDT, LGDT, LIDT, SMSW, LMSW, INVLPG), LAR, LSL, ARPL,
 * CPUID, RDTSC, RDPMC, RDMSR/WRMSR.
 *
 * Privileged ones check CPL (V86 is CPL 3) and then go through `cpu.seam`.
 * SGDT, SIDT, SLDT, STR, SMSW, LAR, LSL, VERR, VERW are sensitive but
 * unprivileged: they never trap at CPL 3 on the bare CPU (the Popek-Goldberg
 * problem the software hypervisor solves by translation). SMSW reads CR0
 * through the seam so a hypervisor can show a shadow value.
 */
import type { Cpu } from '../cpu.ts';
import type { Exec, Insn } from '../insn.ts';
import { defineOp, IMM_NONE, op } from '../opcodeTable.ts';
import { writeArithFlags } from '../flags.ts';
import {
  CR0_PE, CR0_TS, CR4_DE, CR4_PCE, EAX, ECX, EDX, EXC_DB, EXC_GP, EXC_NP, LDTR, RF, TR, ZF,
} from '../regs.ts';
import { descAttr, descBase, descLimit, setSegmentCache } from '../segments.ts';
import {
  Descriptor, SYS_LDT, SYS_TSS16, SYS_TSS32, TSS_BUSY_BIT, dplOf, isCode, isConforming, isPresent, isRw, isSegment,
  limitOf, readDescriptor, systemType,
} from '../protected/descriptors.ts';
import { vmxGroup7 } from '../vmx/instructions.ts';
import { svmGroup7 } from '../svm/instructions.ts';
import { svmCacheInvalidation, svmDescriptorTableRead, svmDescriptorTableWrite, svmRdpmc } from '../svm/guestOps.ts';
import { vmxDescriptorTableAccess, vmxInvd, vmxRdpmc } from '../vmx/nonRoot.ts';

const ud: Exec = (cpu) => cpu.raiseUD();
const d = new Descriptor();

/** CPL 0 required (#GP(0) otherwise; V86 mode runs at CPL 3). */
function requireCpl0(cpu: Cpu): void {
  if (cpu.cpl !== 0) cpu.raiseGP(0);
}
/** Group 6, LAR, LSL, ARPL are not recognized in real and V86 mode. */
function requireProtectedMode(cpu: Cpu): void {
  if (!cpu.protectedMode || cpu.v86Mode) cpu.raiseUD();
}

/** Stores a 16-bit selector-like value: memory gets a word, a 32-bit register is zero-extended (P6). */
function storeSelector(cpu: Cpu, i: Insn, v: number): void {
  if (i.mod === 3 && i.o32) cpu.regs[i.rm] = v & 0xffff;
  else cpu.writeRm16(i, v);
}

// ---- HLT ----
const hlt: Exec = (cpu) => {
  requireCpl0(cpu);
  cpu.seam.hlt(cpu);
};
defineOp(0xf4, op('hlt', false, IMM_NONE, () => hlt, { endsBlock: true }));

// ---- MOV r32, CRn / MOV CRn, r32 (mod is ignored: always the register form) ----
// CR1, CR5-CR7 do not exist: #UD is decided at decode time, before the privilege check (as on P6/Bochs).
const crExists = (n: number): boolean => n === 0 || n === 2 || n === 3 || n === 4;
const movFromCr: Exec = (cpu, i) => {
  requireCpl0(cpu);
  cpu.regs[i.rm] = cpu.seam.readCr(cpu, i.reg);
};
const movToCr: Exec = (cpu, i) => {
  requireCpl0(cpu);
  cpu.seam.writeCr(cpu, i.reg, cpu.regs[i.rm]);
};
defineOp(0x120, op('mov Rd,Cd', true, IMM_NONE, (i) => (crExists(i.reg) ? movFromCr : ud)));
defineOp(0x122, op('mov Cd,Rd', true, IMM_NONE, (i) => (crExists(i.reg) ? movToCr : ud), { endsBlock: true }));

// ---- MOV r32, DRn / MOV DRn, r32 ----
/**
 * DR7.GD: any debug-register access raises #DB (fault) with DR6.BD set; GD is
 * cleared so the handler can proceed. It is a fault-class exception that is
 * not an instruction breakpoint, so the EFLAGS image has RF = 1 (SDM Vol. 3B
 * 17.3.1.1; interrupts.ts sets RF for the other faults by vector, which
 * cannot tell this #DB from an instruction breakpoint's).
 */
function checkGeneralDetect(cpu: Cpu): void {
  if ((cpu.dr[7] & (1 << 13)) !== 0) {
    cpu.dr[6] |= 1 << 13;
    cpu.dr[7] &= ~(1 << 13);
    cpu.flags |= RF;
    cpu.fault(EXC_DB, 0, false);
  }
}
const movFromDr: Exec = (cpu, i) => {
  requireCpl0(cpu);
  if ((i.reg === 4 || i.reg === 5) && (cpu.cr4 & CR4_DE) !== 0) cpu.raiseUD();
  checkGeneralDetect(cpu);
  cpu.regs[i.rm] = cpu.seam.readDr(cpu, i.reg);
};
const movToDr: Exec = (cpu, i) => {
  requireCpl0(cpu);
  if ((i.reg === 4 || i.reg === 5) && (cpu.cr4 & CR4_DE) !== 0) cpu.raiseUD();
  checkGeneralDetect(cpu);
  cpu.seam.writeDr(cpu, i.reg, cpu.regs[i.rm]);
};
defineOp(0x121, op('mov Rd,Dd', true, IMM_NONE, () => movFromDr));
defineOp(0x123, op('mov Dd,Rd', true, IMM_NONE, () => movToDr, { endsBlock: true }));

// ---- CLTS, INVD, WBINVD ----
const clts: Exec = (cpu) => {
  requireCpl0(cpu);
  // CLTS and LMSW read CR0 as part of a CR0 write: VMX's read shadow applies, SVM's CR0 read intercept does not.
  cpu.seam.writeCr(cpu, 0, (cpu.svm.guest ? cpu.cr0 : cpu.seam.readCr(cpu, 0)) & ~CR0_TS);
};
defineOp(0x106, op('clts', false, IMM_NONE, () => clts, { endsBlock: true }));
// Caches are not modelled: memory is always coherent, so invalidation is a no-op after the privilege check.
const wbinvd: Exec = (cpu) => {
  requireCpl0(cpu);
  if (cpu.svm.guest) svmCacheInvalidation(cpu, true);
};
const invd: Exec = (cpu) => {
  requireCpl0(cpu);
  if (cpu.vmx.nonRoot) vmxInvd(cpu); // INVD always exits in VMX non-root operation
  if (cpu.svm.guest) svmCacheInvalidation(cpu, false);
};
defineOp(0x108, op('invd', false, IMM_NONE, () => invd));
defineOp(0x109, op('wbinvd', false, IMM_NONE, () => wbinvd));

// =====================================================================
// Group 6 (0F 00)
// =====================================================================

const sldt: Exec = (cpu, i) => {
  requireProtectedMode(cpu);
  if (cpu.vmx.nonRoot) vmxDescriptorTableAccess(cpu, i, false, 0);
  if (cpu.svm.guest) svmDescriptorTableRead(cpu, 'ldt');
  storeSelector(cpu, i, cpu.segSel[LDTR]);
};
const str: Exec = (cpu, i) => {
  requireProtectedMode(cpu);
  if (cpu.vmx.nonRoot) vmxDescriptorTableAccess(cpu, i, false, 1);
  if (cpu.svm.guest) svmDescriptorTableRead(cpu, 'tr');
  storeSelector(cpu, i, cpu.segSel[TR]);
};

const lldt: Exec = (cpu, i) => {
  requireProtectedMode(cpu);
  requireCpl0(cpu);
  if (cpu.svm.guest) svmDescriptorTableWrite(cpu, 'ldt'); // SVM intercepts before the operand is read
  if (cpu.vmx.nonRoot) vmxDescriptorTableAccess(cpu, i, false, 2); // so does VMX descriptor-table exiting
  const sel = cpu.readRm16(i);
  if ((sel & 0xfffc) === 0) {
    cpu.seam.loadDescriptorTable(cpu, 'ldt', () => setSegmentCache(cpu, LDTR, sel, 0, 0, 0));
    return;
  }
  const err = sel & 0xfffc;
  if ((sel & 4) !== 0) cpu.raiseGP(err);
  readDescriptor(cpu, sel, d, EXC_GP, err);
  if (isSegment(d.hi) || systemType(d.hi) !== SYS_LDT) cpu.raiseGP(err);
  if (!isPresent(d.hi)) cpu.fault(EXC_NP, err, true);
  const base = descBase(d.lo, d.hi), limit = descLimit(d.lo, d.hi), attr = descAttr(d.hi);
  cpu.seam.loadDescriptorTable(cpu, 'ldt', () => setSegmentCache(cpu, LDTR, sel, base, limit, attr));
};

const ltr: Exec = (cpu, i) => {
  requireProtectedMode(cpu);
  requireCpl0(cpu);
  if (cpu.svm.guest) svmDescriptorTableWrite(cpu, 'tr');
  if (cpu.vmx.nonRoot) vmxDescriptorTableAccess(cpu, i, false, 3);
  const sel = cpu.readRm16(i);
  if ((sel & 0xfffc) === 0) cpu.raiseGP(0);
  const err = sel & 0xfffc;
  if ((sel & 4) !== 0) cpu.raiseGP(err);
  readDescriptor(cpu, sel, d, EXC_GP, err);
  const type = systemType(d.hi);
  if (isSegment(d.hi) || (type !== SYS_TSS16 && type !== SYS_TSS32)) cpu.raiseGP(err);
  if (!isPresent(d.hi)) cpu.fault(EXC_NP, err, true);
  const hi = d.hi | (TSS_BUSY_BIT << 8);
  const addr = d.addr;
  const base = descBase(d.lo, hi), limit = descLimit(d.lo, hi), attr = descAttr(hi);
  cpu.seam.loadDescriptorTable(cpu, 'tr', () => {
    cpu.writeSys32((addr + 4) | 0, hi);
    setSegmentCache(cpu, TR, sel, base, limit, attr);
  });
};

/**
 * VERR/VERW/LAR/LSL visibility: a segment descriptor is visible when it is
 * conforming code, or its DPL >= max(CPL, RPL). Table lookups beyond the
 * limit and null selectors just clear ZF (no fault).
 */
function fetchVisible(cpu: Cpu, sel: number): boolean {
  if ((sel & 0xfffc) === 0) return false;
  const index = sel & 0xfff8;
  if ((sel & 4) !== 0) {
    if ((cpu.segAttr[LDTR] & 0x80) === 0 || (cpu.segSel[LDTR] & 0xfffc) === 0 || index + 7 > cpu.segLimit[LDTR]) return false;
  } else if (index + 7 > cpu.gdtLimit) {
    return false;
  }
  readDescriptor(cpu, sel, d, EXC_GP, 0);
  if (isSegment(d.hi) && isCode(d.hi) && isConforming(d.hi)) return true;
  const dpl = dplOf(d.hi);
  return dpl >= cpu.cpl && dpl >= (sel & 3);
}

function setZf(cpu: Cpu, on: boolean): void {
  writeArithFlags(cpu, on ? ZF : 0, ZF);
}

const verr: Exec = (cpu, i) => {
  requireProtectedMode(cpu);
  const sel = cpu.readRm16(i);
  // Readable: any data segment, or readable code.
  setZf(cpu, fetchVisible(cpu, sel) && isSegment(d.hi) && (!isCode(d.hi) || isRw(d.hi)));
};
const verw: Exec = (cpu, i) => {
  requireProtectedMode(cpu);
  const sel = cpu.readRm16(i);
  setZf(cpu, fetchVisible(cpu, sel) && isSegment(d.hi) && !isCode(d.hi) && isRw(d.hi));
};

defineOp(0x100, op('grp6', true, IMM_NONE, (i) => {
  switch (i.reg) {
    case 0: return sldt;
    case 1: return str;
    case 2: i.endsBlock = true; return lldt;
    case 3: i.endsBlock = true; return ltr;
    case 4: return verr;
    case 5: return verw;
    default: return ud;
  }
}));

// =====================================================================
// Group 7 (0F 01)
// =====================================================================

/**
 * SGDT/SIDT: limit word, then the base dword. With a 16-bit operand size only
 * 24 bits of the base are stored and the sixth byte is 0: the SDM's
 * compatibility note names the P6 family among the parts that write 0s there
 * (the 286 wrote 1s).
 */
function storeTable(cpu: Cpu, i: Insn, base: number, limit: number): void {
  const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 6);
  cpu.writeLin16(lin, limit);
  cpu.writeLin32((lin + 2) | 0, i.o32 ? base : base & 0x00ff_ffff);
}
const sgdt: Exec = (cpu, i) => {
  if (cpu.vmx.nonRoot) vmxDescriptorTableAccess(cpu, i, true, 0);
  if (cpu.svm.guest) svmDescriptorTableRead(cpu, 'gdt');
  storeTable(cpu, i, cpu.gdtBase, cpu.gdtLimit);
};
const sidt: Exec = (cpu, i) => {
  if (cpu.vmx.nonRoot) vmxDescriptorTableAccess(cpu, i, true, 1);
  if (cpu.svm.guest) svmDescriptorTableRead(cpu, 'idt');
  storeTable(cpu, i, cpu.idtBase, cpu.idtLimit);
};

const lgdtLidt: Exec = (cpu, i) => {
  requireCpl0(cpu);
  if (cpu.svm.guest) svmDescriptorTableWrite(cpu, i.reg === 2 ? 'gdt' : 'idt');
  if (cpu.vmx.nonRoot) vmxDescriptorTableAccess(cpu, i, true, i.reg === 2 ? 2 : 3);
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

/** SMSW: a 32-bit register destination receives all of CR0 (P6, Bochs); memory gets the low word. */
const smsw: Exec = (cpu, i) => {
  const cr0 = cpu.seam.readCr(cpu, 0);
  if (i.mod === 3 && i.o32) cpu.regs[i.rm] = cr0;
  else cpu.writeRm16(i, cr0);
};

/** LMSW: loads PE, MP, EM, TS from the source; it can set PE but never clear it. */
const lmsw: Exec = (cpu, i) => {
  requireCpl0(cpu);
  const src = cpu.readRm16(i);
  const cr0 = cpu.svm.guest ? cpu.cr0 : cpu.seam.readCr(cpu, 0);
  cpu.seam.writeCr(cpu, 0, (cr0 & ~0xe) | (src & 0xf) | (cr0 & CR0_PE));
};

const invlpg: Exec = (cpu, i) => {
  requireCpl0(cpu);
  cpu.seam.invlpg(cpu, (cpu.segBase[i.seg] + cpu.ea(i)) | 0);
};

defineOp(0x101, op('grp7', true, IMM_NONE, (i) => {
  switch (i.reg) {
    case 0: return i.mod === 3 ? vmxGroup7(i) : sgdt; // 0F 01 C1-C4: VMCALL, VMLAUNCH, VMRESUME, VMXOFF
    case 1: return i.mod === 3 ? ud : sidt;
    case 2: i.endsBlock = true; return i.mod === 3 ? ud : lgdtLidt;
    case 3: i.endsBlock = true; return i.mod === 3 ? svmGroup7(i) : lgdtLidt; // 0F 01 D8-DF: the SVM instructions
    case 4: return smsw;
    case 6: i.endsBlock = true; return lmsw;
    case 7: i.endsBlock = true; return i.mod === 3 ? ud : invlpg;
    default: return ud;
  }
}));

// =====================================================================
// LAR, LSL, ARPL
// =====================================================================

/** System types LAR accepts (SDM LAR table): TSSs, LDT, call and task gates. */
const LAR_SYSTEM_OK = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 9) | (1 << 11) | (1 << 12);
/** System types LSL accepts: those with a limit (TSSs, LDT). */
const LSL_SYSTEM_OK = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 9) | (1 << 11);

function larLslTarget(cpu: Cpu, i: Insn, okSystem: number): boolean {
  requireProtectedMode(cpu);
  const sel = cpu.readRm16(i);
  // System descriptors get the DPL check too (only conforming code is exempt).
  if (!fetchVisible(cpu, sel)) return false;
  if (!isSegment(d.hi) && (okSystem & (1 << systemType(d.hi))) === 0) return false;
  return true;
}

const lar: Exec = (cpu, i) => {
  const ok = larLslTarget(cpu, i, LAR_SYSTEM_OK);
  if (ok) {
    if (i.o32) cpu.regs[i.reg] = d.hi & 0x00ff_ff00;
    else cpu.set16(i.reg, d.hi & 0xff00);
  }
  setZf(cpu, ok);
};
const lsl: Exec = (cpu, i) => {
  const ok = larLslTarget(cpu, i, LSL_SYSTEM_OK);
  if (ok) {
    const limit = limitOf(d);
    if (i.o32) cpu.regs[i.reg] = limit | 0;
    else cpu.set16(i.reg, limit);
  }
  setZf(cpu, ok);
};
defineOp(0x102, op('lar Gv,Ew', true, IMM_NONE, () => lar));
defineOp(0x103, op('lsl Gv,Ew', true, IMM_NONE, () => lsl));

/** ARPL Ew, Gw: raises the destination selector's RPL to the source's (ZF = 1 when it changed). */
const arpl: Exec = (cpu, i) => {
  requireProtectedMode(cpu);
  const src = cpu.regs[i.reg] & 3;
  if (i.mod === 3) {
    const dst = cpu.regs[i.rm] & 0xffff;
    if ((dst & 3) < src) cpu.set16(i.rm, (dst & ~3) | src);
    setZf(cpu, (dst & 3) < src);
    return;
  }
  const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 2);
  const dst = cpu.readLin16(lin);
  if ((dst & 3) < src) cpu.writeLin16(lin, (dst & ~3) | src);
  setZf(cpu, (dst & 3) < src);
};
defineOp(0x63, op('arpl Ew,Gw', true, IMM_NONE, () => arpl));

// =====================================================================
// CPUID, RDTSC, RDPMC, MSRs
// =====================================================================

const cpuidOp: Exec = (cpu) => cpu.seam.cpuid(cpu);
defineOp(0x1a2, op('cpuid', false, IMM_NONE, () => cpuidOp, { endsBlock: true }));
const rdtsc: Exec = (cpu) => {
  if ((cpu.cr4 & 4) !== 0 && cpu.cpl !== 0) cpu.raiseGP(0); // CR4.TSD
  cpu.seam.rdtsc(cpu);
};
defineOp(0x131, op('rdtsc', false, IMM_NONE, () => rdtsc));

/**
 * RDPMC: the P6 has two performance counters (ECX = 0, 1). This CPU counts
 * no events (the event-select MSRs are not implemented), so both read 0.
 * CPL > 0 needs CR4.PCE; other counter numbers are #GP(0).
 */
const rdpmc: Exec = (cpu) => {
  if ((cpu.cr4 & CR4_PCE) === 0 && cpu.cpl !== 0) cpu.raiseGP(0);
  if (cpu.vmx.nonRoot) vmxRdpmc(cpu); // VMX "RDPMC exiting"
  if (cpu.svm.guest) svmRdpmc(cpu);
  if ((cpu.regs[ECX] >>> 0) > 1) cpu.raiseGP(0);
  cpu.regs[EAX] = 0;
  cpu.regs[EDX] = 0;
};
defineOp(0x133, op('rdpmc', false, IMM_NONE, () => rdpmc));

const rdmsr: Exec = (cpu) => { requireCpl0(cpu); cpu.seam.rdmsr(cpu); };
const wrmsr: Exec = (cpu) => { requireCpl0(cpu); cpu.seam.wrmsr(cpu); };
defineOp(0x132, op('rdmsr', false, IMM_NONE, () => rdmsr));
defineOp(0x130, op('wrmsr', false, IMM_NONE, () => wrmsr, { endsBlock: true }));
