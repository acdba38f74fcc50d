/**
 * The VGA's I/O registers: 0x3C0-0x3CF, and the CRTC and input status 1 at
 * 0x3B4/0x3B5/0x3BA (mono) or 0x3D4/0x3D5/0x3DA (colour), whichever the
 * miscellaneous output register's bit 0 selects; the other set does not
 * answer (reads float to 0xFF, writes are ignored), as on the hardware.
 *
 * Byte registers only: a 16-bit OUT to an index port (the usual
 * `out dx, ax` with the index in AL and the data in AH) reaches the index and
 * then the data port, because the bus splits wider accesses into ascending
 * byte accesses for devices that decode bytes only.
 *
 * Details that drivers rely on:
 * - reading input status 1 resets the attribute controller's flip-flop to
 *   "index", and shows the retrace bits (./vgaRetrace.ts);
 * - CRTC registers 0-7 are write-protected while CR11 bit 7 is set, except
 *   CR7 bit 4 (line compare bit 8);
 * - the DAC index auto-increments after the third (blue) data access; 0x3C7
 *   reads 3 after a read index was set and 0 after a write index.
 */
import {
  ATTRIBUTE_COUNT,
  ATTRIBUTE_MASKS,
  CRTC_COUNT,
  CR_OVERFLOW,
  CR_VERTICAL_RETRACE_END,
  GRAPHICS_COUNT,
  GRAPHICS_MASKS,
  MISC_IO_COLOR,
  SEQUENCER_COUNT,
  SEQUENCER_MASKS,
  type VgaRegisters,
} from './vgaRegisters.ts';

/** Input status 1 bits (0x3BA/0x3DA). */
export const ISR1_DISPLAY_DISABLED = 0x01;
export const ISR1_VERTICAL_RETRACE = 0x08;

export interface VgaPortContext {
  regs(): VgaRegisters;
  /** Input status 1's timing bits now (ISR1_DISPLAY_DISABLED | ISR1_VERTICAL_RETRACE). */
  retraceBits(): number;
  /** A register that may change the picture was written. */
  changed(): void;
}

/** True when `port` is the CRTC/status port of the mono (0x3Bx) or colour (0x3Dx) set that is not selected. */
function inactiveSet(r: VgaRegisters, port: number): boolean {
  const color = (r.misc & MISC_IO_COLOR) !== 0;
  return (port & 0xfff0) === (color ? 0x3b0 : 0x3d0);
}

export function vgaPortRead(ctx: VgaPortContext, port: number): number {
  const r = ctx.regs();
  if ((port & 0xfff0) !== 0x3c0 && inactiveSet(r, port)) return 0xff;
  switch (port) {
    case 0x3c0:
      return r.attributeIndex;
    case 0x3c1: {
      const i = r.attributeIndex & 0x1f;
      return i < ATTRIBUTE_COUNT ? r.attribute[i] : 0;
    }
    case 0x3c2: // input status 0: switch sense reads 1 (a colour monitor is attached), no CRT interrupt
      return 0x10;
    case 0x3c3:
      return r.videoSubsystemEnable;
    case 0x3c4:
      return r.sequencerIndex;
    case 0x3c5:
      return r.sequencerIndex < SEQUENCER_COUNT ? r.sequencer[r.sequencerIndex] : 0xff;
    case 0x3c6:
      return r.dacPixelMask;
    case 0x3c7:
      return r.dacState;
    case 0x3c8:
      return r.dacWriteIndex;
    case 0x3c9: {
      const value = r.dac[r.dacReadIndex * 3 + r.dacReadComponent];
      if (++r.dacReadComponent === 3) {
        r.dacReadComponent = 0;
        r.dacReadIndex = (r.dacReadIndex + 1) & 0xff;
      }
      return value;
    }
    case 0x3ca:
      return r.featureControl;
    case 0x3cc:
      return r.misc;
    case 0x3ce:
      return r.graphicsIndex;
    case 0x3cf:
      return r.graphicsIndex < GRAPHICS_COUNT ? r.graphics[r.graphicsIndex] : 0xff;
    case 0x3b4:
    case 0x3d4:
      return r.crtcIndex;
    case 0x3b5:
    case 0x3d5:
      return r.crtcIndex < CRTC_COUNT ? r.crtc[r.crtcIndex] : 0xff;
    case 0x3ba:
    case 0x3da:
      r.attributeFlipFlop = false;
      return ctx.retraceBits();
    default:
      return 0xff;
  }
}

export function vgaPortWrite(ctx: VgaPortContext, port: number, value: number): void {
  const r = ctx.regs();
  value &= 0xff;
  if ((port & 0xfff0) !== 0x3c0 && inactiveSet(r, port)) return;
  switch (port) {
    case 0x3c0:
      if (!r.attributeFlipFlop) {
        r.attributeIndex = value & 0x3f;
        ctx.changed(); // the PAS bit blanks or shows the screen
      } else {
        // Palette entries are accepted with PAS set too (IBM's reference leaves it undefined; QEMU and Bochs accept them).
        const i = r.attributeIndex & 0x1f;
        if (i < ATTRIBUTE_COUNT) {
          r.attribute[i] = value & ATTRIBUTE_MASKS[i];
          ctx.changed();
        }
      }
      r.attributeFlipFlop = !r.attributeFlipFlop;
      return;
    case 0x3c2:
      r.misc = value;
      ctx.changed();
      return;
    case 0x3c3:
      r.videoSubsystemEnable = value & 1;
      return;
    case 0x3c4:
      r.sequencerIndex = value & 0x07;
      return;
    case 0x3c5:
      if (r.sequencerIndex < SEQUENCER_COUNT) {
        r.sequencer[r.sequencerIndex] = value & SEQUENCER_MASKS[r.sequencerIndex];
        ctx.changed();
      }
      return;
    case 0x3c6:
      r.dacPixelMask = value;
      ctx.changed();
      return;
    case 0x3c7:
      r.dacReadIndex = value;
      r.dacReadComponent = 0;
      r.dacState = 3;
      return;
    case 0x3c8:
      r.dacWriteIndex = value;
      r.dacWriteComponent = 0;
      r.dacState = 0;
      return;
    case 0x3c9:
      r.dacWriteLatch[r.dacWriteComponent] = value & 0x3f;
      if (++r.dacWriteComponent === 3) {
        const base = r.dacWriteIndex * 3;
        r.dac[base] = r.dacWriteLatch[0];
        r.dac[base + 1] = r.dacWriteLatch[1];
        r.dac[base + 2] = r.dacWriteLatch[2];
        r.dacWriteComponent = 0;
        r.dacWriteIndex = (r.dacWriteIndex + 1) & 0xff;
        ctx.changed();
      }
      return;
    case 0x3ce:
      r.graphicsIndex = value & 0x0f;
      return;
    case 0x3cf:
      if (r.graphicsIndex < GRAPHICS_COUNT) {
        r.graphics[r.graphicsIndex] = value & GRAPHICS_MASKS[r.graphicsIndex];
        ctx.changed();
      }
      return;
    case 0x3b4:
    case 0x3d4:
      r.crtcIndex = value & 0x3f;
      return;
    case 0x3b5:
    case 0x3d5:
      writeCrtc(r, value);
      ctx.changed();
      return;
    case 0x3ba:
    case 0x3da:
      r.featureControl = value & 0x03;
      return;
    default:
      return;
  }
}

function writeCrtc(r: VgaRegisters, value: number): void {
  const i = r.crtcIndex;
  if (i >= CRTC_COUNT) return;
  const protect = (r.crtc[CR_VERTICAL_RETRACE_END] & 0x80) !== 0;
  if (protect && i <= 7) {
    if (i === CR_OVERFLOW) r.crtc[i] = (r.crtc[i] & ~0x10) | (value & 0x10);
    return;
  }
  r.crtc[i] = value;
}
