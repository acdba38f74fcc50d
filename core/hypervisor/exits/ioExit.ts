/**
 * The I/O exit once the vendor has decoded it into a PortIoRequest (VT-x's
 * exit qualification, SVM's IOIO EXITINFO1): counted by port, emulated on
 * the domain's device models (portIo.ts), the guest moved past it; a guest
 * page fault on an INS/OUTS operand is raised in the guest.
 */
import { EXC_PF } from '../../cpu/regs.ts';
import { GuestMemoryFault } from '../memory/domainMemory.ts';
import { RESUME, type ExitAction, type ExitContext, type SegmentIndex } from './exitContext.ts';
import { GuestPageFault, guestLinearToPhysical } from './guestPaging.ts';
import { emulatePortIo, emulateStringPortIo, type PortIoRequest, type StringIoOperands } from './portIo.ts';

const EFLAGS_DF = 1 << 10;
const SEGMENT_OVERRIDES: Readonly<Record<number, SegmentIndex>> = { 0x26: 0, 0x2e: 1, 0x36: 2, 0x3e: 3, 0x64: 4, 0x65: 5 };
const DS = 3;

/**
 * @param addr32 the address size when the exit tells it (SVM's A16/A32
 *   bits); otherwise it comes from CS.D and an address-size prefix
 */
export function handleIoExit(v: ExitContext, req: PortIoRequest, addr32?: boolean): ExitAction {
  v.counters.ioExit(req.port);
  if (!req.string) {
    emulatePortIo(v.domain.ports, v.cpu.regs, req);
    v.skipInstruction();
    return RESUME;
  }
  // INS writes guest memory behind the shadows' write protection: any page table may change (resynced at the next flush).
  if (req.input) v.shadow?.guestMemoryWrittenAnywhere();
  try {
    if (emulateStringPortIo(v.domain.ports, v.domain.memory, v.cpu.regs, req, stringOperands(v, addr32))) v.skipInstruction();
  } catch (e) {
    if (e instanceof GuestPageFault) {
      v.setGuestCr2(e.linear);
      v.injectException(EXC_PF, e.errorCode);
    } else if (e instanceof GuestMemoryFault) {
      return v.report(`string I/O on port 0x${req.port.toString(16)} touched ${e.message}`);
    } else {
      throw e;
    }
  }
  return RESUME;
}

/**
 * Segment and address size of an INS/OUTS, from its prefixes read at CS:EIP
 * through the guest's paging (neither vendor's exit names the segment
 * without decode assists, which these processors do not have).
 */
function stringOperands(v: ExitContext, addr32?: boolean): StringIoOperands {
  const paging = v.pagingState();
  const mem = v.domain.memory;
  const start = (v.segmentBase(1) + v.guestEip()) >>> 0;
  let wide = v.code32();
  let source: SegmentIndex = DS;
  for (let i = 0; i < v.instructionLength() - 1 && i < 15; i++) {
    const b = mem.readU8(guestLinearToPhysical(mem, paging, (start + i) >>> 0, false));
    if (b === 0x67) wide = !wide;
    else if (b in SEGMENT_OVERRIDES) source = SEGMENT_OVERRIDES[b];
  }
  return {
    sourceBase: v.segmentBase(source),
    esBase: v.segmentBase(0),
    addr32: addr32 ?? wide,
    down: (v.guestEflags() & EFLAGS_DF) !== 0,
    paging,
  };
}
