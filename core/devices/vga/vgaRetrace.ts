/**
 * Where the beam is, for input status 1's retrace bits: drivers wait for
 * vertical retrace before touching the start address or the palette, and some
 * poll "display disabled" to time themselves, so the bits must come and go
 * with guest time (a status that never changes hangs them; one that toggles
 * on every read ignores the programmed timing).
 *
 * The timing follows the CRTC's own registers: a line is CR0 + 5 character
 * clocks of 8 or 9 dots (SR1 bit 0) at the dot clock chosen by the
 * miscellaneous output register (25.175 or 28.322 MHz); a frame is the
 * vertical total (CR6 with overflow bits 8-9) + 2 lines; vertical retrace
 * starts at CR10 (+ overflow bits) and ends when the line counter's low four
 * bits reach CR11's. Mode 3 gives 31.8 us lines and 70 Hz frames.
 */
import { CR_OVERFLOW, SR_CLOCKING_MODE, type VgaRegisters } from './vgaRegisters.ts';
import { ISR1_DISPLAY_DISABLED, ISR1_VERTICAL_RETRACE } from './vgaPorts.ts';

const DOT_CLOCKS_HZ = [25_175_000, 28_322_000, 25_175_000, 28_322_000];

export function retraceBits(r: VgaRegisters, nowNs: number): number {
  const crtc = r.crtc;
  const overflow = crtc[CR_OVERFLOW];
  const charWidth = r.sequencer[SR_CLOCKING_MODE] & 1 ? 8 : 9;
  const dotClock = DOT_CLOCKS_HZ[(r.misc >> 2) & 3];
  const lineNs = ((crtc[0] + 5) * charWidth * 1e9) / dotClock;
  const totalLines = (crtc[6] | ((overflow & 0x01) << 8) | ((overflow & 0x20) << 4)) + 2;
  const displayLines = (crtc[0x12] | ((overflow & 0x02) << 7) | ((overflow & 0x40) << 3)) + 1;
  const retraceStart = crtc[0x10] | ((overflow & 0x04) << 6) | ((overflow & 0x80) << 2);
  const retraceEndLow = crtc[0x11] & 0x0f;

  const lineInFrame = Math.floor(nowNs / lineNs) % totalLines;
  const positionInLine = (nowNs % lineNs) / lineNs;
  let bits = 0;
  // Vertical retrace: from its start line until the counter's low 4 bits equal CR11's (at most 16 lines).
  const sinceStart = lineInFrame - retraceStart;
  if (sinceStart >= 0 && sinceStart < (((retraceEndLow - (retraceStart & 0x0f)) & 0x0f) || 16)) bits |= ISR1_VERTICAL_RETRACE;
  const activeFraction = (crtc[1] + 1) / (crtc[0] + 5);
  if (lineInFrame >= displayLines || positionInLine >= activeFraction) bits |= ISR1_DISPLAY_DISABLED;
  return bits;
}
