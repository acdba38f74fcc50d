/**
 * AMD-V's side of an access to guest-physical memory without RAM behind it:
 * reached from a #NPF (nested paging on) or from a shadow page fault on a
 * device page (nested paging off). As VT-x's side (../vmx/memoryExit.ts):
 * the instruction is fetched at the guest's CS:RIP through the guest's
 * paging, decoded with the processor's own decoder, its access done by the
 * vendor-neutral emulator (../exits/mmio.ts) on the domain's devices, and
 * RIP moved past it. This processor saves no instruction bytes in the VMCB
 * (a decode assist it does not have), so the bytes are read from guest memory.
 * String moves (REP MOVS/STOS, LODS) get the guest's segments, RFLAGS and
 * paging from the VMCB.
 */
import { decodeInstruction } from '../../cpu/decoder.ts';
import type { Insn } from '../../cpu/insn.ts';
import * as B from '../../cpu/svm/vmcb.ts';
import { GuestPageFault, guestLinearToPhysical } from '../exits/guestPaging.ts';
import { domainPhysicalBus, emulateMmioAccess, type GuestGprs, type StringAccessContext } from '../exits/mmio.ts';
import { GuestMemoryFault } from '../memory/domainMemory.ts';
import type { VcpuStop } from '../vcpuRun.ts';
import type { SvmVcpu } from './vcpu.ts';

const RESUME = 0;

export function emulateDeviceAccess(v: SvmVcpu, gpa: number): typeof RESUME | VcpuStop {
  const kind = v.domain.memory.p2m.kind(Math.floor(gpa / 4096));
  if (kind === 'ram') return v.report(`memory exit at guest-physical 0x${gpa.toString(16)}, which is RAM (a hypervisor bug)`);
  const insn = fetchInstruction(v);
  if (typeof insn === 'string') return v.report(`${insn} (it touched guest-physical 0x${gpa.toString(16)})`);
  const outcome = emulateMmioAccess(insn, gpa, svmGprs(v), kind === 'rom' ? null : v.domain.mmio, svmStrings(v));
  if (!outcome.ok) return v.report(`cannot emulate the access to guest-physical 0x${gpa.toString(16)}: ${outcome.reason}`);
  v.advanceRip(insn.len);
  return RESUME;
}

/** The instruction at the guest's CS:RIP, decoded; a message when its bytes cannot be read. */
export function fetchInstruction(v: SvmVcpu): Insn | string {
  const vmcb = v.vmcb;
  const paging = v.pagingState();
  const rip = vmcb.read(B.VMCB_RIP);
  const start = (vmcb.read(B.VMCB_CS + 8) + rip) >>> 0;
  const cs32 = ((vmcb.read(B.VMCB_CS) >>> 16) & (1 << 10)) !== 0;
  const mem = v.domain.memory;
  try {
    return decodeInstruction((offset) => mem.readU8(guestLinearToPhysical(mem, paging, (start + offset) >>> 0, false)), cs32, rip);
  } catch (e) {
    if (e instanceof GuestPageFault || e instanceof GuestMemoryFault || e instanceof RangeError) return `cannot read the instruction at linear 0x${start.toString(16)}: ${e.message}`;
    throw e;
  }
}

/** Between exits the guest's registers are the processor's (SvmVcpu keeps RAX and RSP there too). */
function svmGprs(v: SvmVcpu): GuestGprs {
  const regs = v.cpu.regs;
  return {
    get: (i) => regs[i],
    set: (i, value) => {
      regs[i] = value;
    },
  };
}

/** What MOVS/STOS/LODS on a device page need: the guest's RFLAGS, segment bases and paging from the VMCB, the whole guest-physical space. */
function svmStrings(v: SvmVcpu): StringAccessContext {
  const vmcb = v.vmcb;
  const paging = v.pagingState();
  const mem = v.domain.memory;
  return {
    eflags: vmcb.read(B.VMCB_RFLAGS),
    // The VMCB's segment save areas are 16 bytes each in the ES, CS, SS, DS, FS, GS order of the segment numbers; the base is at +8.
    segmentBase: (seg) => vmcb.read(B.VMCB_ES + 16 * seg + 8) >>> 0,
    linearToPhysical: (linear, write) => guestLinearToPhysical(mem, paging, linear, write),
    physical: domainPhysicalBus(mem, v.domain.mmio),
  };
}
