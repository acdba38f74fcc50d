/**
 * IN/OUT (immediate port and DX forms). Permission: CPL <= IOPL, else the
 * TSS I/O permission bitmap (protected/ioPermission.ts); then the seam.
 * Every port access ends the block so an interrupt it raises is taken at the
 * next instruction boundary.
 */
import type { AccessSize } from '../../memory/bus.ts';
import type { Exec } from '../insn.ts';
import { defineOp, IMM_IB, IMM_NONE, op } from '../opcodeTable.ts';
import { EDX } from '../regs.ts';
import { checkIoPermission } from '../protected/ioPermission.ts';

function inOp(size: AccessSize, fromDx: boolean): Exec {
  return (cpu, i) => {
    const port = fromDx ? cpu.regs[EDX] & 0xffff : i.imm;
    checkIoPermission(cpu, port, size);
    const v = cpu.seam.portIn(cpu, port, size);
    cpu.matchIoBreakpoints(port, size);
    if (size === 1) cpu.set8(0, v);
    else if (size === 2) cpu.set16(0, v);
    else cpu.regs[0] = v;
  };
}

function outOp(size: AccessSize, fromDx: boolean): Exec {
  return (cpu, i) => {
    const port = fromDx ? cpu.regs[EDX] & 0xffff : i.imm;
    checkIoPermission(cpu, port, size);
    const v = size === 1 ? cpu.regs[0] & 0xff : size === 2 ? cpu.regs[0] & 0xffff : cpu.regs[0] >>> 0;
    cpu.seam.portOut(cpu, port, size, v);
    cpu.matchIoBreakpoints(port, size);
  };
}

const ends = { endsBlock: true };
defineOp(0xe4, op('in AL,Ib', false, IMM_IB, () => inOp(1, false), ends));
defineOp(0xe5, op('in eAX,Ib', false, IMM_IB, (i) => inOp(i.o32 ? 4 : 2, false), ends));
defineOp(0xe6, op('out Ib,AL', false, IMM_IB, () => outOp(1, false), ends));
defineOp(0xe7, op('out Ib,eAX', false, IMM_IB, (i) => outOp(i.o32 ? 4 : 2, false), ends));
defineOp(0xec, op('in AL,DX', false, IMM_NONE, () => inOp(1, true), ends));
defineOp(0xed, op('in eAX,DX', false, IMM_NONE, (i) => inOp(i.o32 ? 4 : 2, true), ends));
defineOp(0xee, op('out DX,AL', false, IMM_NONE, () => outOp(1, true), ends));
defineOp(0xef, op('out DX,eAX', false, IMM_NONE, (i) => outOp(i.o32 ? 4 : 2, true), ends));
