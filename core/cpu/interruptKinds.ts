/**
 * Kinds of event, which decide privilege checks, error codes and the saved EIP.
 * A leaf module: interrupts.ts sits in an import cycle (protected/, vmx/,
 * the decoder and the instruction handlers), and a module of that cycle
 * reading these at load time (vmx/entry.ts's TYPE_TO_KIND) must not depend
 * on which of them the cycle happened to evaluate first.
 */
export const INT_EXTERNAL = 0; // INTR from the interrupt controller
export const INT_NMI = 1;
export const INT_EXCEPTION = 2; // processor-detected (faults, traps, aborts)
export const INT_SOFTWARE = 3; // INT n (DPL-checked, IOPL-sensitive in V86)
export const INT_SOFTWARE_EXCEPTION = 4; // INT3, INTO (DPL-checked)
export const INT_ICEBP = 5; // INT1 (0xF1): like a hardware #DB, no DPL check
