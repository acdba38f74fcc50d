/**
 * The VMCB layout, intercept bits and exit codes of AMD SVM (AMD64 APM
 * Vol. 2, Appendix B and §15.8-15.15). The VMCB is a 4 KiB page of guest
 * memory read and written by physical address: the control area from
 * offset 0, the state-save area from 0x400. Names follow the APM; the test
 * ROMs get these as NASM equates (test/cpu/svm/svmRun.ts), so both share
 * one table.
 */

// ---- control area ----
export const VMCB_INTERCEPT_CR = 0x000; // CR reads (bits 15:0), writes (31:16)
export const VMCB_INTERCEPT_DR = 0x004; // DR reads (bits 15:0), writes (31:16)
export const VMCB_INTERCEPT_EXCEPTIONS = 0x008;
export const VMCB_INTERCEPT_MISC1 = 0x00c;
export const VMCB_INTERCEPT_MISC2 = 0x010;
export const VMCB_IOPM_BASE_PA = 0x040;
export const VMCB_MSRPM_BASE_PA = 0x048;
export const VMCB_TSC_OFFSET = 0x050;
export const VMCB_GUEST_ASID = 0x058;
export const VMCB_TLB_CONTROL = 0x05c;
/** V_TPR 7:0, V_IRQ 8, V_INTR_PRIO 19:16, V_IGN_TPR 20, V_INTR_MASKING 24; V_INTR_VECTOR at 0x064. */
export const VMCB_VINTR = 0x060;
export const VMCB_VINTR_VECTOR = 0x064;
export const VMCB_INTERRUPT_SHADOW = 0x068;
export const VMCB_EXITCODE = 0x070;
export const VMCB_EXITINFO1 = 0x078;
export const VMCB_EXITINFO2 = 0x080;
export const VMCB_EXITINTINFO = 0x088;
export const VMCB_NP_ENABLE = 0x090;
export const VMCB_EVENTINJ = 0x0a8;
export const VMCB_N_CR3 = 0x0b0;
export const VMCB_NRIP = 0x0c8;

export const V_IRQ = 1 << 8;
export const V_INTR_PRIO_SHIFT = 16;
export const V_IGN_TPR = 1 << 20;
export const V_INTR_MASKING = 1 << 24;

// ---- state-save area (segments: selector 16, attrib 16, limit 32, base 64) ----
export const VMCB_ES = 0x400;
export const VMCB_CS = 0x410;
export const VMCB_SS = 0x420;
export const VMCB_DS = 0x430;
export const VMCB_FS = 0x440;
export const VMCB_GS = 0x450;
export const VMCB_GDTR = 0x460;
export const VMCB_LDTR = 0x470;
export const VMCB_IDTR = 0x480;
export const VMCB_TR = 0x490;
export const VMCB_CPL = 0x4cb;
export const VMCB_EFER = 0x4d0;
export const VMCB_CR4 = 0x548;
export const VMCB_CR3 = 0x550;
export const VMCB_CR0 = 0x558;
export const VMCB_DR7 = 0x560;
export const VMCB_DR6 = 0x568;
export const VMCB_RFLAGS = 0x570;
export const VMCB_RIP = 0x578;
export const VMCB_RSP = 0x5d8;
export const VMCB_RAX = 0x5f8;
/** STAR, LSTAR, CSTAR, SFMASK, KernelGsBase, SYSENTER_CS/ESP/EIP: 8 qwords, VMLOAD/VMSAVE only. */
export const VMCB_STAR = 0x600;
export const VMCB_CR2 = 0x640;

// ---- intercept vector 3 (offset 0x00C) ----
export const INTERCEPT_INTR = 1 << 0;
export const INTERCEPT_NMI = 1 << 1;
export const INTERCEPT_SMI = 1 << 2;
export const INTERCEPT_INIT = 1 << 3;
export const INTERCEPT_VINTR = 1 << 4;
export const INTERCEPT_CR0_SEL_WRITE = 1 << 5;
export const INTERCEPT_IDTR_READ = 1 << 6;
export const INTERCEPT_GDTR_READ = 1 << 7;
export const INTERCEPT_LDTR_READ = 1 << 8;
export const INTERCEPT_TR_READ = 1 << 9;
export const INTERCEPT_IDTR_WRITE = 1 << 10;
export const INTERCEPT_GDTR_WRITE = 1 << 11;
export const INTERCEPT_LDTR_WRITE = 1 << 12;
export const INTERCEPT_TR_WRITE = 1 << 13;
export const INTERCEPT_RDTSC = 1 << 14;
export const INTERCEPT_RDPMC = 1 << 15;
export const INTERCEPT_CPUID = 1 << 18;
export const INTERCEPT_IRET = 1 << 20;
export const INTERCEPT_INTN = 1 << 21;
export const INTERCEPT_INVD = 1 << 22;
export const INTERCEPT_HLT = 1 << 24;
export const INTERCEPT_INVLPG = 1 << 25;
export const INTERCEPT_INVLPGA = 1 << 26;
export const INTERCEPT_IOIO_PROT = 1 << 27;
export const INTERCEPT_MSR_PROT = 1 << 28;
export const INTERCEPT_SHUTDOWN = 1 << 31;
// ---- intercept vector 4 (offset 0x010) ----
export const INTERCEPT_VMRUN = 1 << 0;
export const INTERCEPT_VMMCALL = 1 << 1;
export const INTERCEPT_VMLOAD = 1 << 2;
export const INTERCEPT_VMSAVE = 1 << 3;
export const INTERCEPT_STGI = 1 << 4;
export const INTERCEPT_CLGI = 1 << 5;
export const INTERCEPT_SKINIT = 1 << 6;
export const INTERCEPT_ICEBP = 1 << 8;
export const INTERCEPT_WBINVD = 1 << 9;

// ---- exit codes (APM Appendix C) ----
export const VMEXIT_CR0_READ = 0x00; // + CR number
export const VMEXIT_CR0_WRITE = 0x10;
export const VMEXIT_DR0_READ = 0x20;
export const VMEXIT_DR0_WRITE = 0x30;
export const VMEXIT_EXCP_BASE = 0x40; // + vector
export const VMEXIT_INTR = 0x60;
export const VMEXIT_NMI = 0x61;
export const VMEXIT_SMI = 0x62;
export const VMEXIT_INIT = 0x63;
export const VMEXIT_VINTR = 0x64;
export const VMEXIT_CR0_SEL_WRITE = 0x65;
export const VMEXIT_IDTR_READ = 0x66;
export const VMEXIT_GDTR_READ = 0x67;
export const VMEXIT_LDTR_READ = 0x68;
export const VMEXIT_TR_READ = 0x69;
export const VMEXIT_IDTR_WRITE = 0x6a;
export const VMEXIT_GDTR_WRITE = 0x6b;
export const VMEXIT_LDTR_WRITE = 0x6c;
export const VMEXIT_TR_WRITE = 0x6d;
export const VMEXIT_RDTSC = 0x6e;
export const VMEXIT_RDPMC = 0x6f;
export const VMEXIT_CPUID = 0x72;
export const VMEXIT_IRET = 0x74;
export const VMEXIT_SWINT = 0x75;
export const VMEXIT_INVD = 0x76;
export const VMEXIT_HLT = 0x78;
export const VMEXIT_INVLPG = 0x79;
export const VMEXIT_INVLPGA = 0x7a;
export const VMEXIT_IOIO = 0x7b;
export const VMEXIT_MSR = 0x7c;
export const VMEXIT_SHUTDOWN = 0x7f;
export const VMEXIT_VMRUN = 0x80;
export const VMEXIT_VMMCALL = 0x81;
export const VMEXIT_VMLOAD = 0x82;
export const VMEXIT_VMSAVE = 0x83;
export const VMEXIT_STGI = 0x84;
export const VMEXIT_CLGI = 0x85;
export const VMEXIT_SKINIT = 0x86;
export const VMEXIT_ICEBP = 0x88;
export const VMEXIT_WBINVD = 0x89;
export const VMEXIT_NPF = 0x400;
/** VMEXIT_INVALID is -1 (all 64 bits set). */
export const VMEXIT_INVALID = -1;

// ---- EVENTINJ / EXITINTINFO (vector 7:0, type 10:8, EV 11, V 31, error code 63:32) ----
export const EVENT_TYPE_INTR = 0;
export const EVENT_TYPE_NMI = 2;
export const EVENT_TYPE_EXCEPTION = 3;
export const EVENT_TYPE_SOFT_INT = 4;
export const EVENT_EV = 1 << 11;
export const EVENT_VALID = 1 << 31;

// ---- IOIO EXITINFO1 ----
export const IOIO_TYPE_IN = 1 << 0;
export const IOIO_STR = 1 << 2;
export const IOIO_REP = 1 << 3;
export const IOIO_SZ8 = 1 << 4;
export const IOIO_A16 = 1 << 7;
export const IOIO_A32 = 1 << 8;

// ---- #NPF EXITINFO1 high dword ----
export const NPF_FINAL_TRANSLATION = 1 << 0; // bit 32
export const NPF_PAGE_TABLE_WALK = 1 << 1; // bit 33

// ---- TLB_CONTROL ----
export const TLB_CONTROL_DO_NOTHING = 0;
export const TLB_CONTROL_FLUSH_ALL = 1;
export const TLB_CONTROL_FLUSH_ASID = 3;
export const TLB_CONTROL_FLUSH_ASID_LOCAL = 7;

// ---- MSRs ----
export const MSR_EFER = 0xc000_0080;
export const MSR_VM_CR = 0xc001_0114;
export const MSR_VM_HSAVE_PA = 0xc001_0117;
export const EFER_SVME = 1 << 12;
export const VM_CR_DPD = 1 << 0;
export const VM_CR_R_INIT = 1 << 1;
export const VM_CR_DIS_A20M = 1 << 2;
export const VM_CR_LOCK = 1 << 3;
export const VM_CR_SVMDIS = 1 << 4;

/** IOPM (12 KiB) and MSRPM (8 KiB) sizes: both must lie below the 4 GiB physical limit. */
export const IOPM_SIZE = 0x3000;
export const MSRPM_SIZE = 0x2000;
