/**
 * What this processor's VMX implements, as software discovers it: the VMX
 * capability MSRs (SDM Vol. 3D Appendix A) and IA32_FEATURE_CONTROL. Every
 * allowed-1 bit below is a control the implementation honours; everything
 * else is fixed to its default setting, so software can tell exactly what
 * exists.
 */
import * as F from './vmcsFields.ts';
import { CR4_IMPLEMENTED, CR4_PAE } from '../regs.ts';

export const MSR_IA32_FEATURE_CONTROL = 0x3a;
export const MSR_IA32_VMX_BASIC = 0x480;
export const MSR_IA32_VMX_PINBASED_CTLS = 0x481;
export const MSR_IA32_VMX_PROCBASED_CTLS = 0x482;
export const MSR_IA32_VMX_EXIT_CTLS = 0x483;
export const MSR_IA32_VMX_ENTRY_CTLS = 0x484;
export const MSR_IA32_VMX_MISC = 0x485;
export const MSR_IA32_VMX_CR0_FIXED0 = 0x486;
export const MSR_IA32_VMX_CR0_FIXED1 = 0x487;
export const MSR_IA32_VMX_CR4_FIXED0 = 0x488;
export const MSR_IA32_VMX_CR4_FIXED1 = 0x489;
export const MSR_IA32_VMX_VMCS_ENUM = 0x48a;
export const MSR_IA32_VMX_PROCBASED_CTLS2 = 0x48b;
export const MSR_IA32_VMX_EPT_VPID_CAP = 0x48c;
export const MSR_IA32_VMX_TRUE_PINBASED_CTLS = 0x48d;
export const MSR_IA32_VMX_TRUE_PROCBASED_CTLS = 0x48e;
export const MSR_IA32_VMX_TRUE_EXIT_CTLS = 0x48f;
export const MSR_IA32_VMX_TRUE_ENTRY_CTLS = 0x490;

export const FEATURE_CONTROL_LOCKED = 1 << 0;
export const FEATURE_CONTROL_VMXON_OUTSIDE_SMX = 1 << 2;
/** SMX does not exist here, so "VMXON inside SMX" (bit 1) is reserved like every bit but 0 and 2. */
export const FEATURE_CONTROL_WRITABLE = FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_OUTSIDE_SMX;

/** The VMCS revision identifier this processor writes and expects in VMXON and VMCS regions. */
export const VMCS_REVISION_ID = 0x0000_0001;
/** VMXON and VMCS regions are one 4 KiB page. */
export const VMCS_REGION_SIZE = 4096;
/** Write-back: the memory type VMX uses for the VMCS, bitmaps and EPT tables. */
export const VMX_MEMORY_TYPE_WB = 6;
/**
 * IA32_VMX_BASIC: revision id, region size, bit 48 (this IA-32 part limits
 * VMX physical addresses to 32 bits), WB memory type, bit 55 (TRUE_ control
 * MSRs exist). Bit 54 (INS/OUTS instruction information) is 0.
 */
export const VMX_BASIC_LO = VMCS_REVISION_ID;
export const VMX_BASIC_HI = VMCS_REGION_SIZE | (1 << (48 - 32)) | (VMX_MEMORY_TYPE_WB << (50 - 32)) | (1 << (55 - 32));

/** CR4.VMXE (bit 13). */
export const CR4_VMXE = 1 << 13;
/** Physical addresses VMX accepts: below 4 GiB (IA32_VMX_BASIC bit 48). */
export const PHYS_ADDR_LIMIT_HI = 0;

// Default-1 classes of the control MSRs (Appendix A.2-A.5).
const PIN_DEFAULT1 = 0x0000_0016;
const PROC_DEFAULT1 = 0x0401_e172;
const EXIT_DEFAULT1 = 0x0003_6dff;
const ENTRY_DEFAULT1 = 0x0000_11ff;

export const PIN_ALLOWED1 = PIN_DEFAULT1 | F.PIN_BASED_EXT_INTR_MASK | F.PIN_BASED_NMI_EXITING | F.PIN_BASED_VIRTUAL_NMIS
  | F.PIN_BASED_VMX_PREEMPTION_TIMER;
export const PROC_ALLOWED1 = PROC_DEFAULT1 | F.CPU_BASED_VIRTUAL_INTR_PENDING | F.CPU_BASED_VIRTUAL_NMI_PENDING | F.CPU_BASED_USE_TSC_OFFSETTING
  | F.CPU_BASED_HLT_EXITING | F.CPU_BASED_INVLPG_EXITING | F.CPU_BASED_RDPMC_EXITING | F.CPU_BASED_RDTSC_EXITING
  | F.CPU_BASED_CR3_LOAD_EXITING | F.CPU_BASED_CR3_STORE_EXITING | F.CPU_BASED_MOV_DR_EXITING
  | F.CPU_BASED_UNCOND_IO_EXITING | F.CPU_BASED_USE_IO_BITMAPS | F.CPU_BASED_USE_MSR_BITMAPS
  | F.CPU_BASED_ACTIVATE_SECONDARY_CONTROLS;
export const PROC2_ALLOWED1 = F.SECONDARY_EXEC_ENABLE_EPT | F.SECONDARY_EXEC_DESC | F.SECONDARY_EXEC_ENABLE_VPID
  | F.SECONDARY_EXEC_UNRESTRICTED_GUEST;
export const EXIT_ALLOWED1 = EXIT_DEFAULT1 | F.VM_EXIT_ACK_INTR_ON_EXIT | F.VM_EXIT_SAVE_VMX_PREEMPTION_TIMER;
export const ENTRY_ALLOWED1 = ENTRY_DEFAULT1;

/** What the TRUE_ MSRs allow to be 0: CR3-load/store exiting and the debug-control save/load. */
export const PIN_TRUE_ALLOWED0 = PIN_DEFAULT1;
export const PROC_TRUE_ALLOWED0 = PROC_DEFAULT1 & ~(F.CPU_BASED_CR3_LOAD_EXITING | F.CPU_BASED_CR3_STORE_EXITING);
export const EXIT_TRUE_ALLOWED0 = EXIT_DEFAULT1 & ~F.VM_EXIT_SAVE_DEBUG_CONTROLS;
export const ENTRY_TRUE_ALLOWED0 = ENTRY_DEFAULT1 & ~F.VM_ENTRY_LOAD_DEBUG_CONTROLS;

/** VMX-preemption timer: counts down by one every 2^5 TSC ticks (MISC bits 4:0). */
export const PREEMPTION_TIMER_SHIFT = 5;
/** CR3-target values this processor has (MISC bits 24:16). */
export const CR3_TARGET_MAX = 4;
/** MISC: timer rate, activity state HLT (bit 6), CR3-target count; 512 MSRs per list recommended. */
export const VMX_MISC_LO = PREEMPTION_TIMER_SHIFT | (1 << 6) | (CR3_TARGET_MAX << 16);

export const CR0_FIXED0 = 0x8000_0021 | 0; // PG, NE, PE
/** CR0 bits that exist on this processor (PE MP EM TS ET NE WP AM NW CD PG). */
export const CR0_FIXED1 = 0xe005_003f | 0;
export const CR4_FIXED0 = CR4_VMXE;
/** CR4 bits that may be 1 in VMX operation: the implemented ones, VMXE and PAE (both the Intel part's only). */
export const CR4_FIXED1 = CR4_IMPLEMENTED | CR4_VMXE | CR4_PAE;

/** EPT/VPID capabilities: 4-level walks, UC and WB, 2 MiB pages, INVEPT single/all, INVVPID all four types. */
export const EPT_CAP_WALK_LENGTH_4 = 1 << 6;
export const EPT_CAP_UC = 1 << 8;
export const EPT_CAP_WB = 1 << 14;
export const EPT_CAP_2MB_PAGES = 1 << 16;
export const EPT_CAP_INVEPT = 1 << 20;
export const EPT_CAP_INVEPT_SINGLE = 1 << 25;
export const EPT_CAP_INVEPT_ALL = 1 << 26;
export const EPT_VPID_CAP_LO = EPT_CAP_WALK_LENGTH_4 | EPT_CAP_UC | EPT_CAP_WB | EPT_CAP_2MB_PAGES | EPT_CAP_INVEPT
  | EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL;
/** High half: INVVPID (bit 32), individual-address (40), single-context (41), all-context (42), single-context-retaining-globals (43). */
export const EPT_VPID_CAP_HI = (1 << 0) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11);

/** IA32_VMX_VMCS_ENUM: the highest field index (encoding bits 9:1) of any supported field, in bits 9:1. */
export const VMCS_ENUM_LO = F.SUPPORTED_FIELDS.reduce((m, e) => Math.max(m, e & 0x3fe), 0);

/** Reads a VMX capability MSR into lo/hi; false if `msr` is not one of them. */
export function readCapabilityMsr(msr: number, out: { lo: number; hi: number }): boolean {
  let lo = 0, hi = 0;
  switch (msr) {
    case MSR_IA32_VMX_BASIC: lo = VMX_BASIC_LO; hi = VMX_BASIC_HI; break;
    case MSR_IA32_VMX_PINBASED_CTLS: lo = PIN_DEFAULT1; hi = PIN_ALLOWED1; break;
    case MSR_IA32_VMX_PROCBASED_CTLS: lo = PROC_DEFAULT1; hi = PROC_ALLOWED1; break;
    case MSR_IA32_VMX_EXIT_CTLS: lo = EXIT_DEFAULT1; hi = EXIT_ALLOWED1; break;
    case MSR_IA32_VMX_ENTRY_CTLS: lo = ENTRY_DEFAULT1; hi = ENTRY_ALLOWED1; break;
    case MSR_IA32_VMX_MISC: lo = VMX_MISC_LO; hi = 0; break;
    case MSR_IA32_VMX_CR0_FIXED0: lo = CR0_FIXED0; break;
    case MSR_IA32_VMX_CR0_FIXED1: lo = CR0_FIXED1; break;
    case MSR_IA32_VMX_CR4_FIXED0: lo = CR4_FIXED0; break;
    case MSR_IA32_VMX_CR4_FIXED1: lo = CR4_FIXED1; break;
    case MSR_IA32_VMX_VMCS_ENUM: lo = VMCS_ENUM_LO; break;
    case MSR_IA32_VMX_PROCBASED_CTLS2: lo = 0; hi = PROC2_ALLOWED1; break;
    case MSR_IA32_VMX_EPT_VPID_CAP: lo = EPT_VPID_CAP_LO; hi = EPT_VPID_CAP_HI; break;
    case MSR_IA32_VMX_TRUE_PINBASED_CTLS: lo = PIN_TRUE_ALLOWED0; hi = PIN_ALLOWED1; break;
    case MSR_IA32_VMX_TRUE_PROCBASED_CTLS: lo = PROC_TRUE_ALLOWED0; hi = PROC_ALLOWED1; break;
    case MSR_IA32_VMX_TRUE_EXIT_CTLS: lo = EXIT_TRUE_ALLOWED0; hi = EXIT_ALLOWED1; break;
    case MSR_IA32_VMX_TRUE_ENTRY_CTLS: lo = ENTRY_TRUE_ALLOWED0; hi = ENTRY_ALLOWED1; break;
    default: return false;
  }
  out.lo = lo | 0;
  out.hi = hi | 0;
  return true;
}

/** A control value is valid when every must-be-1 bit is set and no bit outside allowed-1 is. */
export function controlsValid(value: number, allowed0: number, allowed1: number): boolean {
  return (value & allowed0) === allowed0 && (value & ~allowed1) === 0;
}
