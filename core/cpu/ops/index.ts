/**
 * Registers every instruction module with the opcode maps. Imported once by
 * the decoder; each module calls defineOp for the opcodes it owns.
 */
import './alu.ts';
import './data.ts';
import './stack.ts';
import './control.ts';
import './io.ts';
import './system.ts';
import '../protected/flagsOps.ts';
import './shift.ts';
import './muldiv.ts';
import './bcd.ts';
import './string.ts';
import './bits.ts';
import './misc.ts';
import '../protected/farOps.ts';
import '../protected/interruptOps.ts';
import '../fpu/escape.ts';
import '../sse/table.ts';
