/**
 * The state-management and memory-ordering instructions of SSE/SSE2 (all in
 * group 15, 0F AE, plus 0F 18 and PAUSE's F3 90 which is NOP's handler):
 * FXSAVE, FXRSTOR, LDMXCSR, STMXCSR, LFENCE, MFENCE, SFENCE, CLFLUSH, and
 * the PREFETCHh / hint-NOP row 0F 18-1F.
 *
 * FXSAVE image (SDM Vol. 2 FXSAVE, Table 3-53, the non-64-bit layout):
 *   0 FCW, 2 FSW, 4 abridged FTW (bit i = physical register Ri in use),
 *   5 reserved (0), 6 FOP, 8 FPU IP, 12 FCS, 14 reserved (0), 16 FPU DP,
 *   20 FDS, 22 reserved (0), 24 MXCSR, 28 MXCSR_MASK,
 *   32 + 16n: ST(n) as 80 bits then 6 reserved bytes (0),
 *   160 + 16n: XMMn. Bytes 288-511 are not written (464-511 are the
 *   software-available area, 288-463 reserved).
 * The XMM registers and MXCSR are saved and restored whatever CR4.OSFXSR
 * says (the SDM leaves this implementation dependent; Intel parts do so).
 * The whole 512-byte operand is checked (segment, page, 16-byte alignment)
 * before any byte is stored or any state is loaded, so faults are precise.
 */
import type { Cpu } from '../cpu.ts';
import type { Insn } from '../insn.ts';
import { CR0_EM, CR0_TS, EXC_NM } from '../regs.ts';
import { checkAligned, sseGate } from './operands.ts';
import { MXCSR_MASK } from './state.ts';

const IMAGE_BYTES = 512;
const WRITTEN_BYTES = 288;
const image = new Uint8Array(WRITTEN_BYTES);
const view = new DataView(image.buffer);

/** FXSAVE/FXRSTOR: #NM when CR0.TS or CR0.EM is set (there is no OSFXSR check). */
function fxGate(cpu: Cpu): void {
  if ((cpu.cr0 & (CR0_TS | CR0_EM)) !== 0) cpu.fault(EXC_NM, 0, false);
}

function buildImage(cpu: Cpu): void {
  const f = cpu.fpu, s = cpu.sse;
  image.fill(0);
  view.setUint16(0, f.control, true);
  view.setUint16(2, f.statusWord(), true);
  image[4] = ~f.empty & 0xff;
  view.setUint16(6, f.fop & 0x7ff, true);
  view.setUint32(8, f.fip >>> 0, true);
  view.setUint16(12, f.fcs, true);
  view.setUint32(16, f.fdp >>> 0, true);
  view.setUint16(20, f.fds, true);
  view.setUint32(24, s.mxcsr, true);
  view.setUint32(28, MXCSR_MASK, true);
  for (let n = 0; n < 8; n++) {
    const p = f.phys(n);
    view.setUint32(32 + 16 * n, f.regs[3 * p], true);
    view.setUint32(36 + 16 * n, f.regs[3 * p + 1], true);
    view.setUint16(40 + 16 * n, f.regs[3 * p + 2], true);
  }
  for (let k = 0; k < 32; k++) view.setUint32(160 + 4 * k, s.xmm[k], true);
}

function operandLinear(cpu: Cpu, i: Insn, write: boolean): number {
  const ea = cpu.ea(i);
  checkAligned(cpu, i, ea);
  if (write) return cpu.rmwAddress(i.seg, ea, IMAGE_BYTES);
  // Read: check the segment's read range for the whole operand.
  const o = ea >>> 0;
  if (o < cpu.segRLo[i.seg] || o + IMAGE_BYTES - 1 > cpu.segRHi[i.seg]) cpu.segFault(i.seg);
  return (cpu.segBase[i.seg] + o) | 0;
}

export function fxsave(cpu: Cpu, i: Insn): void {
  fxGate(cpu);
  const lin = operandLinear(cpu, i, true);
  buildImage(cpu);
  for (let k = 0; k < WRITTEN_BYTES; k += 4) cpu.writeLin32((lin + k) | 0, view.getUint32(k, true));
}

export function fxrstor(cpu: Cpu, i: Insn): void {
  fxGate(cpu);
  const lin = operandLinear(cpu, i, false);
  for (let k = 0; k < WRITTEN_BYTES; k += 4) view.setUint32(k, cpu.readLin32((lin + k) | 0) >>> 0, true);
  const mxcsr = view.getUint32(24, true);
  if ((mxcsr & ~MXCSR_MASK) !== 0) cpu.raiseGP(0);
  const f = cpu.fpu, s = cpu.sse;
  f.control = (view.getUint16(0, true) & ~0xe0c0) | 0x0040; // as FLDCW: bits 7, 13-15 read 0, bit 6 reads 1
  f.loadStatusWord(view.getUint16(2, true));
  f.fop = view.getUint16(6, true) & 0x7ff;
  f.fip = view.getUint32(8, true) | 0;
  f.fcs = view.getUint16(12, true);
  f.fdp = view.getUint32(16, true) | 0;
  f.fds = view.getUint16(20, true);
  for (let n = 0; n < 8; n++) {
    const p = f.phys(n); // TOP was loaded with the status word
    f.regs[3 * p] = view.getUint32(32 + 16 * n, true);
    f.regs[3 * p + 1] = view.getUint32(36 + 16 * n, true);
    f.regs[3 * p + 2] = view.getUint16(40 + 16 * n, true);
  }
  f.empty = ~image[4] & 0xff; // abridged tag: 0 = empty
  f.updateSummary();
  s.mxcsr = mxcsr;
  for (let k = 0; k < 32; k++) s.xmm[k] = view.getUint32(160 + 4 * k, true);
}

export function ldmxcsr(cpu: Cpu, i: Insn): void {
  sseGate(cpu);
  const v = cpu.read32(i.seg, cpu.ea(i)) >>> 0;
  if ((v & ~MXCSR_MASK) !== 0) cpu.raiseGP(0);
  cpu.sse.mxcsr = v;
}

export function stmxcsr(cpu: Cpu, i: Insn): void {
  sseGate(cpu);
  cpu.write32(i.seg, cpu.ea(i), cpu.sse.mxcsr);
}

/**
 * LFENCE, MFENCE, SFENCE: this processor executes loads and stores one at a
 * time in program order and has no write-combining buffers, so every
 * ordering they promise already holds; they need no CR0/CR4 state.
 */
export function fence(): void {}

/**
 * CLFLUSH m8: there is no cache to write back, but the instruction is
 * checked like a byte load (segment read range, page presence and
 * user/supervisor access) and faults like one (SDM Vol. 2 CLFLUSH).
 */
export function clflush(cpu: Cpu, i: Insn): void {
  const o = cpu.ea(i) >>> 0;
  if (o < cpu.segRLo[i.seg] || o > cpu.segRHi[i.seg]) cpu.segFault(i.seg);
  cpu.translateSlow((cpu.segBase[i.seg] + o) | 0, false, cpu.cpl === 3);
}

/** PREFETCHh (0F 18 /0-/3) and the hint NOPs 0F 18-1F: no architectural effect and no faults, whatever the address. */
export function hintNop(): void {}
