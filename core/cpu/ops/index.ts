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
