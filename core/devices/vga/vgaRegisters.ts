/**
 * The VGA's register file as plain data (so it saves, restores and crosses
 * threads), and the values it comes up with.
 *
 * Groups (IBM VGA Technical Reference; register numbers as there):
 * - miscellaneous output (0x3C2 write, 0x3CC read): bit 0 puts the CRTC and
 *   input status 1 at 0x3Dx (colour) instead of 0x3Bx (mono);
 * - sequencer (0x3C4 index, 0x3C5 data), 5 registers: map mask (SR2) and
 *   memory mode (SR4: chain-4, odd/even) decide where CPU writes land;
 * - CRT controller (index/data at 0x3B4/5 or 0x3D4/5), 25 registers: display
 *   geometry, start address, offset, cursor shape and location;
 * - graphics controller (0x3CE index, 0x3CF data), 9 registers: write and
 *   read modes, set/reset, rotate, bit mask, memory map select (GR6);
 * - attribute controller (0x3C0, one flip-flop for index then data; 0x3C1
 *   reads), 21 registers: the 16-entry palette, mode control, colour select;
 * - DAC (0x3C6-0x3C9): pixel mask, read/write index, 256 RGB entries of 6 bits.
 *
 * Power-on values are those the VGA BIOS programs for mode 3 (80x25, 16
 * colours, colour text at 0xB8000), with the EGA-compatible colours in the
 * DAC: a machine booted straight into a kernel has no VGA BIOS to do it, and
 * a real PC's screen is in mode 3 by the time any OS starts. A VGA BIOS that
 * runs reprograms all of it anyway.
 */

export const SEQUENCER_COUNT = 5;
export const CRTC_COUNT = 25;
export const GRAPHICS_COUNT = 9;
export const ATTRIBUTE_COUNT = 21;
export const DAC_ENTRIES = 256;

// Register numbers used by the model (not all of them: the others are kept and read back only).
export const SR_CLOCKING_MODE = 1;
export const SR_MAP_MASK = 2;
export const SR_MEMORY_MODE = 4;
export const CR_HORIZONTAL_DISPLAY_END = 0x01;
export const CR_OVERFLOW = 0x07;
export const CR_MAX_SCAN_LINE = 0x09;
export const CR_CURSOR_START = 0x0a;
export const CR_CURSOR_END = 0x0b;
export const CR_START_HIGH = 0x0c;
export const CR_START_LOW = 0x0d;
export const CR_CURSOR_HIGH = 0x0e;
export const CR_CURSOR_LOW = 0x0f;
export const CR_VERTICAL_RETRACE_END = 0x11;
export const CR_VERTICAL_DISPLAY_END = 0x12;
export const CR_OFFSET = 0x13;
export const CR_UNDERLINE = 0x14;
export const CR_MODE_CONTROL = 0x17;
export const GR_SET_RESET = 0;
export const GR_ENABLE_SET_RESET = 1;
export const GR_COLOR_COMPARE = 2;
export const GR_DATA_ROTATE = 3;
export const GR_READ_MAP_SELECT = 4;
export const GR_MODE = 5;
export const GR_MISC = 6;
export const GR_COLOR_DONT_CARE = 7;
export const GR_BIT_MASK = 8;
export const AR_MODE_CONTROL = 0x10;
export const AR_OVERSCAN = 0x11;
export const AR_PLANE_ENABLE = 0x12;
export const AR_COLOR_SELECT = 0x14;

export const MISC_IO_COLOR = 0x01;
/** SR1 bit 5: screen off (the sequencer stops fetching). */
export const SR1_SCREEN_OFF = 0x20;
/** SR4: bit 2 set = odd/even addressing off, bit 3 = chain-4. */
export const SR4_ODD_EVEN_OFF = 0x04;
export const SR4_CHAIN4 = 0x08;
/** Attribute index bit 5: palette address source; clear = the CPU owns the palette and the screen shows only the overscan colour. */
export const AR_INDEX_PAS = 0x20;

export interface VgaRegisters {
  misc: number;
  featureControl: number;
  sequencerIndex: number;
  sequencer: number[];
  crtcIndex: number;
  crtc: number[];
  graphicsIndex: number;
  graphics: number[];
  /** Attribute index register including its PAS bit (bit 5). */
  attributeIndex: number;
  /** false: the next 0x3C0 write is an index; true: it is data. Reset by reading input status 1. */
  attributeFlipFlop: boolean;
  attribute: number[];
  dacPixelMask: number;
  dacReadIndex: number;
  dacWriteIndex: number;
  /** Which of R, G, B the next 0x3C9 access is (0-2). */
  dacReadComponent: number;
  dacWriteComponent: number;
  /** The RGB being assembled by 0x3C9 writes (committed with the third). */
  dacWriteLatch: number[];
  /** 0x3C7 read: 3 after a read index was set, 0 after a write index. */
  dacState: number;
  /** 768 six-bit values, R G B per entry. */
  dac: number[];
  /** The four planes' latches, loaded by every CPU read of video memory. */
  latches: number[];
  videoSubsystemEnable: number;
}

const MODE3_SEQUENCER = [0x03, 0x00, 0x03, 0x00, 0x02];
const MODE3_CRTC = [
  0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
  0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
];
const MODE3_GRAPHICS = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff];
const MODE3_ATTRIBUTE = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
  0x0c, 0x00, 0x0f, 0x08, 0x00,
];

/**
 * The EGA's 64 colours in DAC entries 0-63 (bits 0-2 primary blue, green,
 * red at 2/3 intensity; bits 3-5 secondary at 1/3), as the BIOS loads them
 * for the 16-colour modes; the other entries black.
 */
function egaDac(): number[] {
  const dac = new Array<number>(DAC_ENTRIES * 3).fill(0);
  for (let i = 0; i < 64; i++) {
    dac[i * 3] = ((i >> 2) & 1) * 0x2a + ((i >> 5) & 1) * 0x15;
    dac[i * 3 + 1] = ((i >> 1) & 1) * 0x2a + ((i >> 4) & 1) * 0x15;
    dac[i * 3 + 2] = (i & 1) * 0x2a + ((i >> 3) & 1) * 0x15;
  }
  return dac;
}

/** Mode 3 as the VGA BIOS leaves it, palette source set (display on). */
export function mode3Registers(): VgaRegisters {
  return {
    misc: 0x67,
    featureControl: 0,
    sequencerIndex: 0,
    sequencer: [...MODE3_SEQUENCER],
    crtcIndex: 0,
    crtc: [...MODE3_CRTC],
    graphicsIndex: 0,
    graphics: [...MODE3_GRAPHICS],
    attributeIndex: AR_INDEX_PAS,
    attributeFlipFlop: false,
    attribute: [...MODE3_ATTRIBUTE],
    dacPixelMask: 0xff,
    dacReadIndex: 0,
    dacWriteIndex: 0,
    dacReadComponent: 0,
    dacWriteComponent: 0,
    dacWriteLatch: [0, 0, 0],
    dacState: 0,
    dac: egaDac(),
    latches: [0, 0, 0, 0],
    videoSubsystemEnable: 1,
  };
}

/** Bits of each sequencer register that exist (the rest read 0). */
export const SEQUENCER_MASKS = [0x03, 0x3d, 0x0f, 0x3f, 0x0e];
/** Bits of each graphics controller register that exist. */
export const GRAPHICS_MASKS = [0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff];
/** Bits of each attribute controller register that exist. */
export const ATTRIBUTE_MASKS = [
  0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f,
  0xef, 0xff, 0x3f, 0x0f, 0x0f,
];
