/**
 * VMCS field encodings (Intel SDM Vol. 3D, Appendix B), basic exit reasons
 * (Appendix C), VM-instruction error numbers (Vol. 3C §31.4) and the bits of
 * the VM-execution, VM-exit and VM-entry controls (Vol. 3C §24.6-24.8).
 *
 * An encoding says the field's width (bits 14:13: 0 16-bit, 1 64-bit, 2
 * 32-bit, 3 natural width), its type (bits 11:10: 0 control, 1 VM-exit
 * information (read-only), 2 guest state, 3 host state) and, for 64-bit
 * fields, the access type (bit 0: 1 = the high 32 bits, as 32-bit software
 * reads and writes them). Only the fields listed in SUPPORTED_FIELDS exist
 * in this processor's VMCS; VMREAD/VMWRITE of any other encoding fails with
 * VMERR_UNSUPPORTED_VMCS_COMPONENT.
 */

// ---- 16-bit fields ----
export const VIRTUAL_PROCESSOR_ID = 0x0000;
export const GUEST_ES_SELECTOR = 0x0800;
export const GUEST_CS_SELECTOR = 0x0802;
export const GUEST_SS_SELECTOR = 0x0804;
export const GUEST_DS_SELECTOR = 0x0806;
export const GUEST_FS_SELECTOR = 0x0808;
export const GUEST_GS_SELECTOR = 0x080a;
export const GUEST_LDTR_SELECTOR = 0x080c;
export const GUEST_TR_SELECTOR = 0x080e;
export const HOST_ES_SELECTOR = 0x0c00;
export const HOST_CS_SELECTOR = 0x0c02;
export const HOST_SS_SELECTOR = 0x0c04;
export const HOST_DS_SELECTOR = 0x0c06;
export const HOST_FS_SELECTOR = 0x0c08;
export const HOST_GS_SELECTOR = 0x0c0a;
export const HOST_TR_SELECTOR = 0x0c0c;

// ---- 64-bit fields (the _HIGH encoding is the upper half) ----
export const IO_BITMAP_A = 0x2000;
export const IO_BITMAP_A_HIGH = 0x2001;
export const IO_BITMAP_B = 0x2002;
export const IO_BITMAP_B_HIGH = 0x2003;
export const MSR_BITMAP = 0x2004;
export const MSR_BITMAP_HIGH = 0x2005;
export const VM_EXIT_MSR_STORE_ADDR = 0x2006;
export const VM_EXIT_MSR_STORE_ADDR_HIGH = 0x2007;
export const VM_EXIT_MSR_LOAD_ADDR = 0x2008;
export const VM_EXIT_MSR_LOAD_ADDR_HIGH = 0x2009;
export const VM_ENTRY_MSR_LOAD_ADDR = 0x200a;
export const VM_ENTRY_MSR_LOAD_ADDR_HIGH = 0x200b;
export const TSC_OFFSET = 0x2010;
export const TSC_OFFSET_HIGH = 0x2011;
export const EPT_POINTER = 0x201a;
export const EPT_POINTER_HIGH = 0x201b;
export const GUEST_PHYSICAL_ADDRESS = 0x2400;
export const GUEST_PHYSICAL_ADDRESS_HIGH = 0x2401;
export const VMCS_LINK_POINTER = 0x2800;
export const VMCS_LINK_POINTER_HIGH = 0x2801;
export const GUEST_IA32_DEBUGCTL = 0x2802;
export const GUEST_IA32_DEBUGCTL_HIGH = 0x2803;
/** The guest's four PAE PDPTEs (SDM 24.4.2), used with EPT (26.3.2.4, 27.3.4). */
export const GUEST_PDPTE0 = 0x280a;
export const GUEST_PDPTE0_HIGH = 0x280b;
export const GUEST_PDPTE1 = 0x280c;
export const GUEST_PDPTE1_HIGH = 0x280d;
export const GUEST_PDPTE2 = 0x280e;
export const GUEST_PDPTE2_HIGH = 0x280f;
export const GUEST_PDPTE3 = 0x2810;
export const GUEST_PDPTE3_HIGH = 0x2811;

// ---- 32-bit fields ----
export const PIN_BASED_VM_EXEC_CONTROL = 0x4000;
export const CPU_BASED_VM_EXEC_CONTROL = 0x4002;
export const EXCEPTION_BITMAP = 0x4004;
export const PAGE_FAULT_ERROR_CODE_MASK = 0x4006;
export const PAGE_FAULT_ERROR_CODE_MATCH = 0x4008;
export const CR3_TARGET_COUNT = 0x400a;
export const VM_EXIT_CONTROLS = 0x400c;
export const VM_EXIT_MSR_STORE_COUNT = 0x400e;
export const VM_EXIT_MSR_LOAD_COUNT = 0x4010;
export const VM_ENTRY_CONTROLS = 0x4012;
export const VM_ENTRY_MSR_LOAD_COUNT = 0x4014;
export const VM_ENTRY_INTR_INFO_FIELD = 0x4016;
export const VM_ENTRY_EXCEPTION_ERROR_CODE = 0x4018;
export const VM_ENTRY_INSTRUCTION_LEN = 0x401a;
export const TPR_THRESHOLD = 0x401c;
export const SECONDARY_VM_EXEC_CONTROL = 0x401e;
export const VM_INSTRUCTION_ERROR = 0x4400;
export const VM_EXIT_REASON = 0x4402;
export const VM_EXIT_INTR_INFO = 0x4404;
export const VM_EXIT_INTR_ERROR_CODE = 0x4406;
export const IDT_VECTORING_INFO_FIELD = 0x4408;
export const IDT_VECTORING_ERROR_CODE = 0x440a;
export const VM_EXIT_INSTRUCTION_LEN = 0x440c;
export const VMX_INSTRUCTION_INFO = 0x440e;
export const GUEST_ES_LIMIT = 0x4800;
export const GUEST_CS_LIMIT = 0x4802;
export const GUEST_SS_LIMIT = 0x4804;
export const GUEST_DS_LIMIT = 0x4806;
export const GUEST_FS_LIMIT = 0x4808;
export const GUEST_GS_LIMIT = 0x480a;
export const GUEST_LDTR_LIMIT = 0x480c;
export const GUEST_TR_LIMIT = 0x480e;
export const GUEST_GDTR_LIMIT = 0x4810;
export const GUEST_IDTR_LIMIT = 0x4812;
export const GUEST_ES_AR_BYTES = 0x4814;
export const GUEST_CS_AR_BYTES = 0x4816;
export const GUEST_SS_AR_BYTES = 0x4818;
export const GUEST_DS_AR_BYTES = 0x481a;
export const GUEST_FS_AR_BYTES = 0x481c;
export const GUEST_GS_AR_BYTES = 0x481e;
export const GUEST_LDTR_AR_BYTES = 0x4820;
export const GUEST_TR_AR_BYTES = 0x4822;
export const GUEST_INTERRUPTIBILITY_INFO = 0x4824;
export const GUEST_ACTIVITY_STATE = 0x4826;
export const GUEST_SYSENTER_CS = 0x482a;
export const VMX_PREEMPTION_TIMER_VALUE = 0x482e;
export const HOST_IA32_SYSENTER_CS = 0x4c00;

// ---- natural-width fields (kept at 64 bits; 32-bit software sees the low half) ----
export const CR0_GUEST_HOST_MASK = 0x6000;
export const CR4_GUEST_HOST_MASK = 0x6002;
export const CR0_READ_SHADOW = 0x6004;
export const CR4_READ_SHADOW = 0x6006;
export const CR3_TARGET_VALUE0 = 0x6008;
export const CR3_TARGET_VALUE1 = 0x600a;
export const CR3_TARGET_VALUE2 = 0x600c;
export const CR3_TARGET_VALUE3 = 0x600e;
export const EXIT_QUALIFICATION = 0x6400;
export const IO_RCX = 0x6402;
export const IO_RSI = 0x6404;
export const IO_RDI = 0x6406;
export const IO_RIP = 0x6408;
export const GUEST_LINEAR_ADDRESS = 0x640a;
export const GUEST_CR0 = 0x6800;
export const GUEST_CR3 = 0x6802;
export const GUEST_CR4 = 0x6804;
export const GUEST_ES_BASE = 0x6806;
export const GUEST_CS_BASE = 0x6808;
export const GUEST_SS_BASE = 0x680a;
export const GUEST_DS_BASE = 0x680c;
export const GUEST_FS_BASE = 0x680e;
export const GUEST_GS_BASE = 0x6810;
export const GUEST_LDTR_BASE = 0x6812;
export const GUEST_TR_BASE = 0x6814;
export const GUEST_GDTR_BASE = 0x6816;
export const GUEST_IDTR_BASE = 0x6818;
export const GUEST_DR7 = 0x681a;
export const GUEST_RSP = 0x681c;
export const GUEST_RIP = 0x681e;
export const GUEST_RFLAGS = 0x6820;
export const GUEST_PENDING_DBG_EXCEPTIONS = 0x6822;
export const GUEST_SYSENTER_ESP = 0x6824;
export const GUEST_SYSENTER_EIP = 0x6826;
export const HOST_CR0 = 0x6c00;
export const HOST_CR3 = 0x6c02;
export const HOST_CR4 = 0x6c04;
export const HOST_FS_BASE = 0x6c06;
export const HOST_GS_BASE = 0x6c08;
export const HOST_TR_BASE = 0x6c0a;
export const HOST_GDTR_BASE = 0x6c0c;
export const HOST_IDTR_BASE = 0x6c0e;
export const HOST_IA32_SYSENTER_ESP = 0x6c10;
export const HOST_IA32_SYSENTER_EIP = 0x6c12;
export const HOST_RSP = 0x6c14;
export const HOST_RIP = 0x6c16;

/** Every field this VMCS holds (full encodings; a 64-bit field's _HIGH encoding is accepted too). */
export const SUPPORTED_FIELDS: readonly number[] = [
  VIRTUAL_PROCESSOR_ID,
  GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR, GUEST_FS_SELECTOR, GUEST_GS_SELECTOR,
  GUEST_LDTR_SELECTOR, GUEST_TR_SELECTOR,
  HOST_ES_SELECTOR, HOST_CS_SELECTOR, HOST_SS_SELECTOR, HOST_DS_SELECTOR, HOST_FS_SELECTOR, HOST_GS_SELECTOR, HOST_TR_SELECTOR,
  IO_BITMAP_A, IO_BITMAP_B, MSR_BITMAP, VM_EXIT_MSR_STORE_ADDR, VM_EXIT_MSR_LOAD_ADDR, VM_ENTRY_MSR_LOAD_ADDR, TSC_OFFSET,
  EPT_POINTER, GUEST_PHYSICAL_ADDRESS, VMCS_LINK_POINTER, GUEST_IA32_DEBUGCTL,
  PIN_BASED_VM_EXEC_CONTROL, CPU_BASED_VM_EXEC_CONTROL, EXCEPTION_BITMAP, PAGE_FAULT_ERROR_CODE_MASK,
  PAGE_FAULT_ERROR_CODE_MATCH, CR3_TARGET_COUNT, VM_EXIT_CONTROLS, VM_EXIT_MSR_STORE_COUNT, VM_EXIT_MSR_LOAD_COUNT,
  VM_ENTRY_CONTROLS, VM_ENTRY_MSR_LOAD_COUNT, VM_ENTRY_INTR_INFO_FIELD, VM_ENTRY_EXCEPTION_ERROR_CODE,
  VM_ENTRY_INSTRUCTION_LEN, TPR_THRESHOLD, SECONDARY_VM_EXEC_CONTROL,
  VM_INSTRUCTION_ERROR, VM_EXIT_REASON, VM_EXIT_INTR_INFO, VM_EXIT_INTR_ERROR_CODE, IDT_VECTORING_INFO_FIELD,
  IDT_VECTORING_ERROR_CODE, VM_EXIT_INSTRUCTION_LEN, VMX_INSTRUCTION_INFO,
  GUEST_ES_LIMIT, GUEST_CS_LIMIT, GUEST_SS_LIMIT, GUEST_DS_LIMIT, GUEST_FS_LIMIT, GUEST_GS_LIMIT, GUEST_LDTR_LIMIT,
  GUEST_TR_LIMIT, GUEST_GDTR_LIMIT, GUEST_IDTR_LIMIT,
  GUEST_ES_AR_BYTES, GUEST_CS_AR_BYTES, GUEST_SS_AR_BYTES, GUEST_DS_AR_BYTES, GUEST_FS_AR_BYTES, GUEST_GS_AR_BYTES,
  GUEST_LDTR_AR_BYTES, GUEST_TR_AR_BYTES, GUEST_INTERRUPTIBILITY_INFO, GUEST_ACTIVITY_STATE, GUEST_SYSENTER_CS,
  VMX_PREEMPTION_TIMER_VALUE, HOST_IA32_SYSENTER_CS,
  CR0_GUEST_HOST_MASK, CR4_GUEST_HOST_MASK, CR0_READ_SHADOW, CR4_READ_SHADOW,
  CR3_TARGET_VALUE0, CR3_TARGET_VALUE1, CR3_TARGET_VALUE2, CR3_TARGET_VALUE3,
  EXIT_QUALIFICATION, IO_RCX, IO_RSI, IO_RDI, IO_RIP, GUEST_LINEAR_ADDRESS,
  GUEST_CR0, GUEST_CR3, GUEST_CR4, GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE, GUEST_DS_BASE, GUEST_FS_BASE,
  GUEST_GS_BASE, GUEST_LDTR_BASE, GUEST_TR_BASE, GUEST_GDTR_BASE, GUEST_IDTR_BASE, GUEST_DR7, GUEST_RSP, GUEST_RIP,
  GUEST_RFLAGS, GUEST_PENDING_DBG_EXCEPTIONS, GUEST_SYSENTER_ESP, GUEST_SYSENTER_EIP,
  HOST_CR0, HOST_CR3, HOST_CR4, HOST_FS_BASE, HOST_GS_BASE, HOST_TR_BASE, HOST_GDTR_BASE, HOST_IDTR_BASE,
  HOST_IA32_SYSENTER_ESP, HOST_IA32_SYSENTER_EIP, HOST_RSP, HOST_RIP,
  // Appended, so the region slots of the fields above keep their places.
  GUEST_PDPTE0, GUEST_PDPTE1, GUEST_PDPTE2, GUEST_PDPTE3,
];

/** Field widths (encoding bits 14:13). */
export const WIDTH_16 = 0, WIDTH_64 = 1, WIDTH_32 = 2, WIDTH_NATURAL = 3;
export const fieldWidth = (encoding: number): number => (encoding >>> 13) & 3;
/** VM-exit information fields (type 1) are read-only. */
export const fieldReadOnly = (encoding: number): boolean => ((encoding >>> 10) & 3) === 1;

// ---- basic exit reasons (Appendix C) ----
export const EXIT_REASON_EXCEPTION_NMI = 0;
export const EXIT_REASON_EXTERNAL_INTERRUPT = 1;
export const EXIT_REASON_TRIPLE_FAULT = 2;
export const EXIT_REASON_INIT_SIGNAL = 3;
export const EXIT_REASON_SIPI = 4;
export const EXIT_REASON_IO_SMI = 5;
export const EXIT_REASON_OTHER_SMI = 6;
export const EXIT_REASON_INTERRUPT_WINDOW = 7;
export const EXIT_REASON_NMI_WINDOW = 8;
export const EXIT_REASON_TASK_SWITCH = 9;
export const EXIT_REASON_CPUID = 10;
export const EXIT_REASON_GETSEC = 11;
export const EXIT_REASON_HLT = 12;
export const EXIT_REASON_INVD = 13;
export const EXIT_REASON_INVLPG = 14;
export const EXIT_REASON_RDPMC = 15;
export const EXIT_REASON_RDTSC = 16;
export const EXIT_REASON_RSM = 17;
export const EXIT_REASON_VMCALL = 18;
export const EXIT_REASON_VMCLEAR = 19;
export const EXIT_REASON_VMLAUNCH = 20;
export const EXIT_REASON_VMPTRLD = 21;
export const EXIT_REASON_VMPTRST = 22;
export const EXIT_REASON_VMREAD = 23;
export const EXIT_REASON_VMRESUME = 24;
export const EXIT_REASON_VMWRITE = 25;
export const EXIT_REASON_VMXOFF = 26;
export const EXIT_REASON_VMXON = 27;
export const EXIT_REASON_CR_ACCESS = 28;
export const EXIT_REASON_DR_ACCESS = 29;
export const EXIT_REASON_IO_INSTRUCTION = 30;
export const EXIT_REASON_MSR_READ = 31;
export const EXIT_REASON_MSR_WRITE = 32;
export const EXIT_REASON_INVALID_GUEST_STATE = 33;
export const EXIT_REASON_MSR_LOAD_FAIL = 34;
export const EXIT_REASON_MWAIT = 36;
export const EXIT_REASON_MONITOR_TRAP_FLAG = 37;
export const EXIT_REASON_MONITOR = 39;
export const EXIT_REASON_PAUSE = 40;
export const EXIT_REASON_MCE_DURING_VMENTRY = 41;
export const EXIT_REASON_TPR_BELOW_THRESHOLD = 43;
export const EXIT_REASON_APIC_ACCESS = 44;
export const EXIT_REASON_EOI_INDUCED = 45;
export const EXIT_REASON_GDTR_IDTR = 46;
export const EXIT_REASON_LDTR_TR = 47;
export const EXIT_REASON_EPT_VIOLATION = 48;
export const EXIT_REASON_EPT_MISCONFIG = 49;
export const EXIT_REASON_INVEPT = 50;
export const EXIT_REASON_RDTSCP = 51;
export const EXIT_REASON_PREEMPTION_TIMER = 52;
export const EXIT_REASON_INVVPID = 53;
export const EXIT_REASON_WBINVD = 54;
export const EXIT_REASON_XSETBV = 55;
/** Bit 31 of the exit reason: VM-entry failure. */
export const EXIT_REASON_FAILED_VMENTRY = 0x8000_0000;

// ---- VM-instruction error numbers (§31.4) ----
export const VMERR_VMCALL_IN_ROOT = 1;
export const VMERR_VMCLEAR_INVALID_ADDRESS = 2;
export const VMERR_VMCLEAR_VMXON_POINTER = 3;
export const VMERR_VMLAUNCH_NONCLEAR_VMCS = 4;
export const VMERR_VMRESUME_NONLAUNCHED_VMCS = 5;
export const VMERR_VMRESUME_AFTER_VMXOFF = 6;
export const VMERR_ENTRY_INVALID_CONTROL_FIELD = 7;
export const VMERR_ENTRY_INVALID_HOST_STATE_FIELD = 8;
export const VMERR_VMPTRLD_INVALID_ADDRESS = 9;
export const VMERR_VMPTRLD_VMXON_POINTER = 10;
export const VMERR_VMPTRLD_INCORRECT_REVISION_ID = 11;
export const VMERR_UNSUPPORTED_VMCS_COMPONENT = 12;
export const VMERR_VMWRITE_READ_ONLY_COMPONENT = 13;
export const VMERR_VMXON_IN_VMX_ROOT = 15;
export const VMERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS = 26;
export const VMERR_INVALID_INVEPT_INVVPID_OPERAND = 28;

// ---- pin-based VM-execution controls ----
export const PIN_BASED_EXT_INTR_MASK = 1 << 0;
export const PIN_BASED_NMI_EXITING = 1 << 3;
export const PIN_BASED_VIRTUAL_NMIS = 1 << 5;
export const PIN_BASED_VMX_PREEMPTION_TIMER = 1 << 6;
export const PIN_BASED_POSTED_INTR = 1 << 7;

// ---- primary processor-based VM-execution controls ----
export const CPU_BASED_VIRTUAL_INTR_PENDING = 1 << 2; // interrupt-window exiting
export const CPU_BASED_USE_TSC_OFFSETTING = 1 << 3;
export const CPU_BASED_HLT_EXITING = 1 << 7;
export const CPU_BASED_INVLPG_EXITING = 1 << 9;
export const CPU_BASED_MWAIT_EXITING = 1 << 10;
export const CPU_BASED_RDPMC_EXITING = 1 << 11;
export const CPU_BASED_RDTSC_EXITING = 1 << 12;
export const CPU_BASED_CR3_LOAD_EXITING = 1 << 15;
export const CPU_BASED_CR3_STORE_EXITING = 1 << 16;
export const CPU_BASED_CR8_LOAD_EXITING = 1 << 19;
export const CPU_BASED_CR8_STORE_EXITING = 1 << 20;
export const CPU_BASED_TPR_SHADOW = 1 << 21;
export const CPU_BASED_VIRTUAL_NMI_PENDING = 1 << 22; // NMI-window exiting
export const CPU_BASED_MOV_DR_EXITING = 1 << 23;
export const CPU_BASED_UNCOND_IO_EXITING = 1 << 24;
export const CPU_BASED_USE_IO_BITMAPS = 1 << 25;
export const CPU_BASED_MONITOR_TRAP_FLAG = 1 << 27;
export const CPU_BASED_USE_MSR_BITMAPS = 1 << 28;
export const CPU_BASED_MONITOR_EXITING = 1 << 29;
export const CPU_BASED_PAUSE_EXITING = 1 << 30;
export const CPU_BASED_ACTIVATE_SECONDARY_CONTROLS = 1 << 31;

// ---- secondary processor-based VM-execution controls ----
export const SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES = 1 << 0;
export const SECONDARY_EXEC_ENABLE_EPT = 1 << 1;
export const SECONDARY_EXEC_DESC = 1 << 2;
export const SECONDARY_EXEC_RDTSCP = 1 << 3;
export const SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE = 1 << 4;
export const SECONDARY_EXEC_ENABLE_VPID = 1 << 5;
export const SECONDARY_EXEC_WBINVD_EXITING = 1 << 6;
export const SECONDARY_EXEC_UNRESTRICTED_GUEST = 1 << 7;

// ---- VM-exit controls ----
export const VM_EXIT_SAVE_DEBUG_CONTROLS = 1 << 2;
export const VM_EXIT_HOST_ADDR_SPACE_SIZE = 1 << 9;
export const VM_EXIT_LOAD_IA32_PERF_GLOBAL_CTRL = 1 << 12;
export const VM_EXIT_ACK_INTR_ON_EXIT = 1 << 15;
export const VM_EXIT_SAVE_IA32_PAT = 1 << 18;
export const VM_EXIT_LOAD_IA32_PAT = 1 << 19;
export const VM_EXIT_SAVE_IA32_EFER = 1 << 20;
export const VM_EXIT_LOAD_IA32_EFER = 1 << 21;
export const VM_EXIT_SAVE_VMX_PREEMPTION_TIMER = 1 << 22;

// ---- VM-entry controls ----
export const VM_ENTRY_LOAD_DEBUG_CONTROLS = 1 << 2;
export const VM_ENTRY_IA32E_MODE = 1 << 9;
export const VM_ENTRY_SMM = 1 << 10;
export const VM_ENTRY_DEACT_DUAL_MONITOR = 1 << 11;
export const VM_ENTRY_LOAD_IA32_PERF_GLOBAL_CTRL = 1 << 13;
export const VM_ENTRY_LOAD_IA32_PAT = 1 << 14;
export const VM_ENTRY_LOAD_IA32_EFER = 1 << 15;

// ---- interruption-information fields (entry, exit, IDT-vectoring) ----
export const INTR_INFO_VECTOR_MASK = 0xff;
export const INTR_INFO_TYPE_SHIFT = 8;
export const INTR_INFO_DELIVER_CODE = 1 << 11;
export const INTR_INFO_NMI_UNBLOCKED_BY_IRET = 1 << 12;
export const INTR_INFO_VALID = 1 << 31;
export const INTR_TYPE_EXT_INTR = 0;
export const INTR_TYPE_NMI = 2;
export const INTR_TYPE_HARD_EXCEPTION = 3;
export const INTR_TYPE_SOFT_INTR = 4;
export const INTR_TYPE_PRIV_SW_EXCEPTION = 5;
export const INTR_TYPE_SOFT_EXCEPTION = 6;

// ---- guest interruptibility state and activity state ----
export const GUEST_INTR_STATE_STI = 1 << 0;
export const GUEST_INTR_STATE_MOV_SS = 1 << 1;
export const GUEST_INTR_STATE_SMI = 1 << 2;
export const GUEST_INTR_STATE_NMI = 1 << 3;
export const GUEST_ACTIVITY_ACTIVE = 0;
export const GUEST_ACTIVITY_HLT = 1;

// ---- segment access rights as the VMCS holds them ----
export const AR_UNUSABLE = 1 << 16;

// ---- exit qualifications ----
/** Guest-state entry failure qualifications (§26.8). */
export const ENTRY_FAIL_DEFAULT = 0;
/** Exit qualification of a failed entry: loading the PDPTEs failed (SDM 26.3.1.6, 26.8). */
export const ENTRY_FAIL_PDPTE = 2;
export const ENTRY_FAIL_VMCS_LINK_PTR = 4;
/** EPT-violation qualification bits (§27.2.1, Table 27-7). */
export const EPT_VIOLATION_READ = 1 << 0;
export const EPT_VIOLATION_WRITE = 1 << 1;
export const EPT_VIOLATION_FETCH = 1 << 2;
export const EPT_VIOLATION_READABLE = 1 << 3;
export const EPT_VIOLATION_WRITABLE = 1 << 4;
export const EPT_VIOLATION_EXECUTABLE = 1 << 5;
export const EPT_VIOLATION_LINEAR_VALID = 1 << 7;
export const EPT_VIOLATION_FINAL_TRANSLATION = 1 << 8;

// ---- INVEPT / INVVPID types ----
export const INVEPT_SINGLE_CONTEXT = 1;
export const INVEPT_ALL_CONTEXT = 2;
export const INVVPID_INDIVIDUAL_ADDRESS = 0;
export const INVVPID_SINGLE_CONTEXT = 1;
export const INVVPID_ALL_CONTEXT = 2;
export const INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS = 3;
