/**
 * Architectural names and bit positions of the IA-32 register file, as the
 * Intel SDM numbers them. Register and segment indices are the encodings
 * used in ModRM / SReg fields.
 */

// General-purpose registers (ModRM reg/rm encoding).
export const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;

// Segment registers (SReg encoding), then the system segments kept in the same arrays.
export const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;
export const LDTR = 6, TR = 7;
export const SEG_NAMES = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS', 'LDTR', 'TR'] as const;

// EFLAGS bits.
export const CF = 1 << 0;
export const FLAG_RESERVED1 = 1 << 1; // always 1
export const PF = 1 << 2;
export const AF = 1 << 4;
export const ZF = 1 << 6;
export const SF = 1 << 7;
export const TF = 1 << 8;
export const IF = 1 << 9;
export const DF = 1 << 10;
export const OF = 1 << 11;
export const IOPL_MASK = 3 << 12;
export const IOPL_SHIFT = 12;
export const NT = 1 << 14;
export const RF = 1 << 16;
export const VM = 1 << 17;
export const AC = 1 << 18;
export const VIF = 1 << 19;
export const VIP = 1 << 20;
export const ID = 1 << 21;
/** The six arithmetic flags that instructions compute (lazily, see flags.ts). */
export const ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;
/** Bits of EFLAGS that exist on this CPU (everything else reads as 0, bit 1 as 1). */
export const EFLAGS_IMPLEMENTED = ARITH_FLAGS | TF | IF | DF | IOPL_MASK | NT | RF | VM | AC | ID;

// CR0.
export const CR0_PE = 1 << 0;
export const CR0_MP = 1 << 1;
export const CR0_EM = 1 << 2;
export const CR0_TS = 1 << 3;
export const CR0_ET = 1 << 4;
export const CR0_NE = 1 << 5;
export const CR0_WP = 1 << 16;
export const CR0_AM = 1 << 18;
export const CR0_NW = 1 << 29;
export const CR0_CD = 1 << 30;
export const CR0_PG = 1 << 31;

// CR4.
export const CR4_VME = 1 << 0;
export const CR4_PVI = 1 << 1;
export const CR4_TSD = 1 << 2;
export const CR4_DE = 1 << 3;
export const CR4_PSE = 1 << 4;
export const CR4_PAE = 1 << 5;
export const CR4_MCE = 1 << 6;
export const CR4_PGE = 1 << 7;
export const CR4_PCE = 1 << 8;
export const CR4_OSFXSR = 1 << 9;
export const CR4_OSXMMEXCPT = 1 << 10;
/** CR4 bits this CPU implements (setting any other bit is #GP(0)). */
export const CR4_IMPLEMENTED = CR4_TSD | CR4_DE | CR4_PSE | CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT;

// Exception vectors.
export const EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5, EXC_UD = 6, EXC_NM = 7;
export const EXC_DF = 8, EXC_CSO = 9, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12, EXC_GP = 13, EXC_PF = 14;
export const EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19;

// Page-fault error code bits.
export const PF_P = 1, PF_W = 2, PF_U = 4, PF_RSVD = 8;

// Segment descriptor attribute word as kept in segAttr: access byte in bits 0-7,
// the flags nibble (AVL, L, D/B, G) in bits 12-15, exactly as in descriptor bytes 5-6.
export const SEG_ACCESSED = 1 << 0;
export const SEG_RW = 1 << 1; // readable (code) / writable (data)
export const SEG_CE = 1 << 2; // conforming (code) / expand-down (data)
export const SEG_CODE = 1 << 3;
export const SEG_S = 1 << 4; // code/data (1) vs system (0)
export const SEG_DPL_SHIFT = 5;
export const SEG_P = 1 << 7;
export const SEG_AVL = 1 << 12;
export const SEG_DB = 1 << 14;
export const SEG_G = 1 << 15;
