/**
 * SSE/SSE2 architectural state: the eight 128-bit XMM registers and MXCSR
 * (SDM Vol. 1 10.2), kept as plain data beside the x87's (fpu/fpu.ts).
 *
 * XMM registers are four dwords each in one typed array (register r, dword k
 * at `xmm[4 * r + k]`, dword 0 the least significant), so values keep their
 * exact bit patterns (NaN payloads included; nothing is ever held as a JS
 * number between instructions).
 */

// MXCSR fields (SDM Vol. 1 Figure 10-3).
export const MX_IE = 1 << 0;
export const MX_DE = 1 << 1;
export const MX_ZE = 1 << 2;
export const MX_OE = 1 << 3;
export const MX_UE = 1 << 4;
export const MX_PE = 1 << 5;
export const MX_DAZ = 1 << 6;
export const MX_MASK_SHIFT = 7;
export const MX_RC_SHIFT = 13;
export const MX_FZ = 1 << 15;
/** The six exception flags (and, shifted by MX_MASK_SHIFT, their masks). */
export const MX_FLAGS = 0x3f;
/** Pre-computation exceptions (checked on the operands, before the result is computed). */
export const MX_PRE = MX_IE | MX_DE | MX_ZE;
/**
 * MXCSR_MASK: the MXCSR bits this processor implements (DAZ included, as on
 * every SSE2 part). FXSAVE stores it at offset 28; LDMXCSR and FXRSTOR
 * raise #GP(0) for a value with any other bit set.
 */
export const MXCSR_MASK = 0xffff;
/** MXCSR after RESET and after INIT (all exceptions masked, round to nearest). */
export const MXCSR_RESET = 0x1f80;

export interface SseStateImage {
  xmm: number[];
  mxcsr: number;
}

export class SseState {
  /** XMM0..XMM7, four dwords each, least significant first. */
  readonly xmm: Uint32Array;
  /** The same registers as binary32 / binary64 lanes, for the fast paths (sse/fastPath.ts), which only hold non-NaN values in them. */
  readonly xmm32: Float32Array;
  readonly xmm64: Float64Array;
  mxcsr = MXCSR_RESET;

  /** Over `xmm` (32 dwords, 8-byte aligned: the processor's state area, core/memory/processorMemory.ts), or arrays of its own. */
  constructor(xmm: Uint32Array = new Uint32Array(32)) {
    if (xmm.length !== 32 || xmm.byteOffset % 8 !== 0) throw new RangeError('XMM registers need 32 dwords at an 8-byte boundary');
    this.xmm = xmm;
    this.xmm32 = new Float32Array(xmm.buffer, xmm.byteOffset, 32);
    this.xmm64 = new Float64Array(xmm.buffer, xmm.byteOffset, 16);
  }

  /** RESET (SDM Vol. 3 Table 9-1): XMM registers +0, MXCSR 1F80H. */
  reset(): void {
    this.xmm.fill(0);
    this.mxcsr = MXCSR_RESET;
  }

  saveState(): SseStateImage {
    return { xmm: Array.from(this.xmm), mxcsr: this.mxcsr };
  }

  /** Restores saveState() output; a missing or malformed image (older snapshots) gives the RESET state. */
  loadState(s: unknown): void {
    const o = (s ?? {}) as Partial<SseStateImage>;
    this.reset();
    if (Array.isArray(o.xmm)) for (let k = 0; k < 32; k++) this.xmm[k] = Number(o.xmm[k] ?? 0) >>> 0;
    if (o.mxcsr !== undefined) this.mxcsr = (Number(o.mxcsr) >>> 0) & MXCSR_MASK;
  }
}
