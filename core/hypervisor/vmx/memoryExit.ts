/**
 * VT-x's side of an access to guest-physical memory without RAM behind it:
 * reached from an EPT violation (nested paging on) or from a shadow page
 * fault on a device page (nested paging off). The instruction is fetched at
 * the guest's CS:RIP through the guest's paging, decoded, its access done by
 * the vendor-neutral emulator (../exits/mmio.ts) on the domain's devices, and
 * RIP moved past it: the exit's instruction-length field is not defined for
 * these exits, the decoder's length is used instead. String moves (REP
 * MOVS/STOS, LODS) get the guest's segments, EFLAGS and paging from the VMCS.
 */
import { decodeInstruction } from '../../cpu/decoder.ts';
import type { Insn } from '../../cpu/insn.ts';
import { ESP } from '../../cpu/regs.ts';
import * as F from '../../cpu/vmx/vmcsFields.ts';
import { GuestPageFault, guestLinearToPhysical, type GuestPagingState } from '../exits/guestPaging.ts';
import { domainPhysicalBus, emulateMmioAccess, type GuestGprs, type StringAccessContext } from '../exits/mmio.ts';
import { GuestMemoryFault } from '../memory/domainMemory.ts';
import type { ExitAction } from './exitHandlers.ts';
import type { VmxVcpu } from './vcpu.ts';
import { vmxGuestPagingState } from './guestPagingState.ts';

const RESUME = 0;

export function emulateDeviceAccess(v: VmxVcpu, gpa: number): ExitAction {
  const kind = v.domain.memory.p2m.kind(Math.floor(gpa / 4096));
  if (kind === 'ram') return v.report(`memory exit at guest-physical 0x${gpa.toString(16)}, which is RAM (a hypervisor bug)`);
  let insn: Insn;
  try {
    insn = fetchAndDecode(v);
  } catch (e) {
    if (e instanceof GuestPageFault || e instanceof GuestMemoryFault || e instanceof RangeError) {
      return v.report(`cannot read the instruction that touched guest-physical 0x${gpa.toString(16)}: ${e.message}`);
    }
    throw e;
  }
  const outcome = emulateMmioAccess(insn, gpa, vmxGprs(v), kind === 'rom' ? null : v.domain.mmio, vmxStrings(v));
  if (!outcome.ok) return v.report(`cannot emulate the access to guest-physical 0x${gpa.toString(16)}: ${outcome.reason}`);
  v.advanceRip(insn.len);
  return RESUME;
}

function fetchAndDecode(v: VmxVcpu): Insn {
  const paging: GuestPagingState = vmxGuestPagingState(v);
  const start = (v.read(F.GUEST_CS_BASE) + v.read(F.GUEST_RIP)) >>> 0;
  const cs32 = (v.read(F.GUEST_CS_AR_BYTES) & (1 << 14)) !== 0;
  const mem = v.domain.memory;
  return decodeInstruction((offset) => mem.readU8(guestLinearToPhysical(mem, paging, (start + offset) >>> 0, false)), cs32, v.read(F.GUEST_RIP));
}

/** The guest's registers under VMX: the processor's own, except ESP, which the VMCS holds while the host runs. */
function vmxGprs(v: VmxVcpu): GuestGprs {
  const regs = v.cpu.regs;
  return {
    get: (i) => (i === ESP ? v.read(F.GUEST_RSP) : regs[i]),
    set: (i, value) => {
      if (i === ESP) v.write(F.GUEST_RSP, value >>> 0);
      else regs[i] = value;
    },
  };
}

/** What MOVS/STOS/LODS on a device page need: the guest's EFLAGS, segment bases and paging from the VMCS, the whole guest-physical space. */
function vmxStrings(v: VmxVcpu): StringAccessContext {
  const paging = vmxGuestPagingState(v);
  const mem = v.domain.memory;
  return {
    eflags: v.read(F.GUEST_RFLAGS),
    // The VMCS's segment base fields are consecutive in the ES, CS, SS, DS, FS, GS order of the segment numbers.
    segmentBase: (seg) => v.read(F.GUEST_ES_BASE + 2 * seg) >>> 0,
    linearToPhysical: (linear, write) => guestLinearToPhysical(mem, paging, linear, write),
    physical: domainPhysicalBus(mem, v.domain.mmio),
  };
}
