/**
 * CPUID as a guest of Popek's hypervisor sees it: the processor's own answer
 * for the leaf, with the hardware-virtualization extension hidden (no nested
 * virtualization yet: VMX, SVM and SVM's feature leaf) and the "running under a hypervisor" bit set
 * (CPUID.1:ECX bit 31, the bit Linux shows as `hypervisor` in
 * /proc/cpuinfo), plus the hypervisor leaves at 0x40000000 that name Popek,
 * the convention KVM, Xen and Hyper-V follow.
 */
import { EAX, EBX, ECX, EDX } from '../../cpu/regs.ts';

export const CPUID_HYPERVISOR_BASE = 0x40000000;
/** The 12-byte signature in EBX, ECX, EDX of leaf 0x40000000. */
export const POPEK_SIGNATURE = 'PopekPopekHV';
const ECX_VMX = 1 << 5;
const ECX_SVM_LEAF = 0x80000001; // AMD puts SVM in 0x80000001:ECX bit 2
const ECX_SVM = 1 << 2;
const ECX_HYPERVISOR = 1 << 31;
const EDX_PAE = 1 << 6;
const EXT_FEATURES_LEAF = 0x80000001;
const EXT_EDX_NX = 1 << 20;
/** SVM's revision, ASID count and features (AMD): all zero while SVM is hidden, as KVM answers without nested SVM. */
const SVM_FEATURES_LEAF = 0x8000000a;

const sigDword = (i: number): number =>
  (POPEK_SIGNATURE.charCodeAt(i) | (POPEK_SIGNATURE.charCodeAt(i + 1) << 8) | (POPEK_SIGNATURE.charCodeAt(i + 2) << 16) | (POPEK_SIGNATURE.charCodeAt(i + 3) << 24)) | 0;

/**
 * Answers the guest's CPUID in `regs` (EAX = leaf, ECX = subleaf on entry).
 * `physical` runs the processor's own CPUID on the same registers.
 * `shadowPaging`: the domain's memory is mapped by shadow page tables
 * (nested paging off), which follow only the two-level guest format
 * (hypervisor/shadow): PAE (leaf 1 EDX bit 6) and NX (8000_0001h EDX bit
 * 20, usable only with PAE) are hidden, so Linux keeps to two-level paging
 * there (a PAE-only kernel stops and says it needs PAE).
 */
export function guestCpuid(regs: Int32Array, physical: (regs: Int32Array) => void, shadowPaging = false): void {
  const leaf = regs[EAX] >>> 0;
  if (leaf >= CPUID_HYPERVISOR_BASE && leaf <= CPUID_HYPERVISOR_BASE + 0xff) {
    if (leaf === CPUID_HYPERVISOR_BASE) {
      regs[EAX] = CPUID_HYPERVISOR_BASE; // the highest hypervisor leaf
      regs[EBX] = sigDword(0);
      regs[ECX] = sigDword(4);
      regs[EDX] = sigDword(8);
    } else {
      regs[EAX] = regs[EBX] = regs[ECX] = regs[EDX] = 0;
    }
    return;
  }
  physical(regs);
  if (leaf === 1) regs[ECX] = (regs[ECX] & ~ECX_VMX) | ECX_HYPERVISOR;
  if (leaf === ECX_SVM_LEAF) regs[ECX] &= ~ECX_SVM;
  if (shadowPaging && leaf === 1) regs[EDX] &= ~EDX_PAE;
  if (shadowPaging && leaf === EXT_FEATURES_LEAF) regs[EDX] &= ~EXT_EDX_NX;
  if (leaf === SVM_FEATURES_LEAF) regs[EAX] = regs[EBX] = regs[ECX] = regs[EDX] = 0;
}
