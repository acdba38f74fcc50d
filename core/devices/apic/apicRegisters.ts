/**
 * Register offsets and bit fields of the xAPIC (Intel SDM Vol. 3A ch. 10,
 * "Advanced Programmable Interrupt Controller") and the 82093AA I/O APIC,
 * shared by the device models, the firmware tables and the tests.
 */

/** Where the local APIC's registers appear after reset (IA32_APIC_BASE). */
export const LAPIC_BASE = 0xfee0_0000;
export const LAPIC_MMIO_SIZE = 0x1000;
/** Where the board's I/O APIC decodes (the MP table and MADT say so). */
export const IOAPIC_BASE = 0xfec0_0000;
export const IOAPIC_MMIO_SIZE = 0x1000;
/** The I/O APIC's ID on this board (the local APIC of the one CPU is 0). */
export const IOAPIC_ID = 1;
export const IOAPIC_PINS = 24;

/** IA32_APIC_BASE MSR: base address, BSP flag (bit 8), global enable (bit 11). */
export const MSR_APIC_BASE = 0x1b;
export const APIC_BASE_BSP = 1 << 8;
export const APIC_BASE_ENABLE = 1 << 11;

/** Local APIC register offsets (16-byte aligned, 32 bits wide). */
export const LAPIC_REG = {
  ID: 0x020,
  VERSION: 0x030,
  TPR: 0x080,
  APR: 0x090,
  PPR: 0x0a0,
  EOI: 0x0b0,
  RRD: 0x0c0,
  LDR: 0x0d0,
  DFR: 0x0e0,
  SVR: 0x0f0,
  ISR: 0x100, // 8 registers, 0x100-0x170
  TMR: 0x180,
  IRR: 0x200,
  ESR: 0x280,
  LVT_CMCI: 0x2f0,
  ICR_LOW: 0x300,
  ICR_HIGH: 0x310,
  LVT_TIMER: 0x320,
  LVT_THERMAL: 0x330,
  LVT_PERF: 0x340,
  LVT_LINT0: 0x350,
  LVT_LINT1: 0x360,
  LVT_ERROR: 0x370,
  TIMER_INITIAL: 0x380,
  TIMER_CURRENT: 0x390,
  TIMER_DIVIDE: 0x3e0,
} as const;

/** The LVT entries in register order (0x320 ... 0x370). */
export const LVT = { TIMER: 0, THERMAL: 1, PERF: 2, LINT0: 3, LINT1: 4, ERROR: 5 } as const;
export const LVT_COUNT = 6;

/**
 * Version register: version 0x14 (an integrated xAPIC, as QEMU's model),
 * 6 LVT entries (max LVT index 5), no EOI-broadcast suppression.
 */
export const LAPIC_VERSION = 0x0005_0014;

/** Bits shared by the LVT entries and the ICR. */
export const LVT_MASKED = 1 << 16;
export const LVT_LEVEL = 1 << 15;
export const LVT_REMOTE_IRR = 1 << 14;
export const LVT_DELIVERY_STATUS = 1 << 12;
export const LVT_TIMER_PERIODIC = 1 << 17;
export const LVT_TIMER_TSC_DEADLINE = 2 << 17;

/** Delivery modes (bits 10:8 of LVT entries, the ICR and I/O APIC redirection entries). */
export const DELIVERY = { FIXED: 0, LOWEST: 1, SMI: 2, NMI: 4, INIT: 5, STARTUP: 6, EXTINT: 7 } as const;

/** Spurious-interrupt vector register: APIC software enable (bit 8), focus check disable (bit 9). */
export const SVR_ENABLE = 1 << 8;
export const SVR_FOCUS_DISABLED = 1 << 9;

/** Error status bits (ESR). */
export const ESR = {
  SEND_ILLEGAL_VECTOR: 1 << 5,
  RECEIVE_ILLEGAL_VECTOR: 1 << 6,
  ILLEGAL_REGISTER: 1 << 7,
} as const;

/** ICR destination shorthand (bits 19:18). */
export const ICR_SHORTHAND = { NONE: 0, SELF: 1, ALL_INCLUDING_SELF: 2, ALL_EXCLUDING_SELF: 3 } as const;
export const ICR_LOGICAL = 1 << 11;

/** I/O APIC indirect registers (selected through IOREGSEL). */
export const IOAPIC_REG = { ID: 0x00, VERSION: 0x01, ARBITRATION: 0x02, REDIRECTION: 0x10 } as const;
/** 82093AA: version 0x11, 24 redirection entries (max index 23). */
export const IOAPIC_VERSION = 0x0017_0011;
/** I/O APIC MMIO offsets. */
export const IOAPIC_IOREGSEL = 0x00;
export const IOAPIC_IOWIN = 0x10;

/** Redirection entry bits (low dword). */
export const REDIR_MASKED = 1 << 16;
export const REDIR_LEVEL = 1 << 15;
export const REDIR_REMOTE_IRR = 1 << 14;
export const REDIR_ACTIVE_LOW = 1 << 13;
export const REDIR_DELIVERY_STATUS = 1 << 12;
export const REDIR_LOGICAL = 1 << 11;

/**
 * ISA IRQ to I/O APIC pin: the identity except the timer, whose IRQ 0 reaches
 * pin 2 (as on QEMU's PC and real boards; the MADT's interrupt source
 * override and the MP table's I/O interrupt entries say so). IRQ 2, the 8259
 * cascade, reaches no pin.
 */
export function isaIrqToPin(irq: number): number {
  if (irq === 0) return 2;
  if (irq === 2) return -1;
  return irq;
}
