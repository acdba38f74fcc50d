/**
 * When the monitor's processor gives the guest to the emulator
 * (realModeEmulator.ts) at an event, besides 16-bit kernel code: a near or
 * far JMP/CALL/RET or conditional jump of the guest kernel that faulted with
 * #GP(0) because its target lies past the processor's truncated CS limit,
 * in the guest's own code at the top of the linear space (shadowDescriptors.ts:
 * every limit ends below the monitor's base). SeaBIOS calls its PAM routine
 * through the ROM's alias below 4 GiB that way. The emulator runs the
 * transfer again with the guest's own limit, and the code up there, until
 * the guest is back where ring compression can run it; a #GP the guest's own
 * limit also gives is delivered by the emulator through the guest's IDT.
 */
import { decodeInstruction } from '../../cpu/decoder.ts';
import { INT_EXCEPTION } from '../../cpu/interrupts.ts';
import { CS, EXC_GP } from '../../cpu/regs.ts';
import { descLimit } from '../../cpu/segments.ts';
import { GuestPageFaultInMonitor, type SoftwareMonitor } from './monitor.ts';
import { MONITOR_BASE } from './monitorSpace.ts';

/** An interrupt or exception the processor took, as the monitor's seam got it. */
export interface GuestEvent {
  vector: number;
  kind: number;
  errorCode: number;
  hasErrorCode: boolean;
}

/** Opcodes (0F xx as 0x100 | xx) of the transfers whose target the truncated CS limit can refuse. */
function isTransfer(opcode: number, reg: number): boolean {
  if (opcode >= 0x70 && opcode <= 0x7f) return true; // Jcc rel8
  if (opcode >= 0x180 && opcode <= 0x18f) return true; // Jcc rel32
  if (opcode >= 0xe0 && opcode <= 0xe3) return true; // LOOPcc, JECXZ
  switch (opcode) {
    case 0xe8: case 0xe9: case 0xeb: case 0xc2: case 0xc3: case 0xca: case 0xcb: case 0x9a: case 0xea:
      return true;
    case 0xff:
      return reg >= 2 && reg <= 5; // CALL/JMP near and far, indirect
    default:
      return false;
  }
}

/** A #GP(0) at a transfer of the guest kernel whose own code segment reaches into the monitor's part of the linear space. */
export function transferAboveTop(m: SoftwareMonitor, vector: number, kind: number, errorCode: number): boolean {
  if (kind !== INT_EXCEPTION || vector !== EXC_GP || errorCode !== 0) return false;
  const cpu = m.cpu;
  const start = (cpu.segBase[CS] + cpu.eip) >>> 0;
  if (start >= MONITOR_BASE) return false; // the translation cache (bt): its transfers are the translator's
  const entry = (cpu.segSel[CS] & 4) === 0 ? m.tables.guestGdtEntry(cpu.segSel[CS]) : null;
  // The guest's own segment reaches the monitor's part of the space, which the shadow truncates (the processor's limit
  // may be opened to 4 GiB while translated code runs: the translator refuses such targets itself).
  if (entry === null || (cpu.segBase[CS] >>> 0) + descLimit(entry[0], entry[1]) < MONITOR_BASE) return false;
  try {
    const ins = decodeInstruction((offset) => m.readLinear8(start + offset), cpu.cs32, cpu.eip);
    return isTransfer(ins.opcode, ins.reg);
  } catch (e) {
    if (e instanceof GuestPageFaultInMonitor || e instanceof RangeError) return false;
    throw e;
  }
}
