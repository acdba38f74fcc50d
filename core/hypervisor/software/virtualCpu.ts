/**
 * The monitor's vCPU record: the processor state as the GUEST sees it, kept
 * by the software monitor (trap-and-emulate, binary translation) while the
 * real processor runs the guest deprivileged (ring compression: guest kernel
 * at CPL 1, guest user at CPL 3, on the monitor's own GDT/IDT/TSS/LDT and
 * shadow page tables). Plain data: everything the guest could observe with
 * a privileged instruction, or with a sensitive one the monitor emulates
 * (and the translator's callouts emulate), lives here, not in the processor.
 *
 * What stays in the processor as the guest left it: general registers, EIP,
 * the arithmetic/DF/TF/AC flags, the data segment selectors (DS/ES/FS/GS, the
 * guest's own values: a guest-kernel selector with RPL 0 loads fine at CPL 1
 * because the shadow descriptor has DPL 1). What differs in the processor:
 * CS and SS carry RPL 1 while the guest kernel runs (the guest expects RPL
 * 0: `guestSelector()` gives the guest view), EFLAGS.IF is always 1 and
 * IOPL 0 (the virtual ones are below), CR0/CR3/CR4/GDTR/IDTR/LDTR/TR are the
 * monitor's.
 */

/** EFLAGS bits the monitor virtualizes (IF, IOPL). */
export const VIRTUAL_FLAGS = (1 << 9) | (3 << 12);

export interface VirtualCpu {
  /** The guest's privilege level as it sees it: 0 (kernel, on the processor at CPL 1) or 3 (user, at CPL 3). */
  cpl: number;
  /** Virtual EFLAGS.IF (meaningful at virtual CPL 0; guest user code always runs with IF = 1, see README). */
  interruptFlag: boolean;
  /** Virtual EFLAGS.IOPL (0..3). */
  iopl: number;
  /** The guest's descriptor-table registers (linear base in the guest's address space, limit). */
  gdtBase: number;
  gdtLimit: number;
  idtBase: number;
  idtLimit: number;
  /** The guest's LDTR and TR selectors, and the base/limit their descriptors gave at load time. */
  ldtr: number;
  ldtBase: number;
  ldtLimit: number;
  tr: number;
  trBase: number;
  trLimit: number;
  /** The guest's control registers (CR0.PE is 0 only between the guest's MOV CR0 clearing it and the hand-over to the emulator, realModeEmulator.ts). */
  cr0: number;
  cr2: number;
  cr3: number;
  cr4: number;
  /** The guest's debug registers as written (the processor's are the monitor's and stay disarmed). */
  readonly dr: Int32Array;
  /** External interrupt vectors acknowledged from the domain's PIC while virtual IF was 0, oldest first. */
  readonly heldInterrupts: number[];
  /** Halted by an emulated HLT, waiting for an interrupt. */
  halted: boolean;
}

export function newVirtualCpu(): VirtualCpu {
  return {
    cpl: 0,
    interruptFlag: false,
    iopl: 0,
    gdtBase: 0,
    gdtLimit: 0xffff,
    idtBase: 0,
    idtLimit: 0x3ff,
    ldtr: 0,
    ldtBase: 0,
    ldtLimit: 0,
    tr: 0,
    trBase: 0,
    trLimit: 0,
    cr0: 0x11, // PE, ET
    cr2: 0,
    cr3: 0,
    cr4: 0,
    dr: new Int32Array(8),
    heldInterrupts: [],
    halted: false,
  };
}

/** The guest's view of a selector the processor holds: guest kernel selectors have RPL 1 on the processor, 0 to the guest. */
export function guestSelector(processorSelector: number): number {
  return (processorSelector & 3) === 1 ? processorSelector & ~3 : processorSelector;
}

/** The processor's selector for one the guest kernel names with RPL 0 (ring compression: ring 0 runs as ring 1). */
export function processorSelector(guestSel: number): number {
  return (guestSel & 3) === 0 && (guestSel & 0xfffc) !== 0 ? guestSel | 1 : guestSel;
}

/** The EFLAGS image the guest sees: the processor's, with the virtual IF and IOPL. */
export function guestFlags(v: VirtualCpu, processorFlags: number): number {
  const ifBit = v.cpl === 3 ? processorFlags & (1 << 9) : v.interruptFlag ? 1 << 9 : 0;
  return (processorFlags & ~VIRTUAL_FLAGS) | ifBit | (v.iopl << 12);
}
