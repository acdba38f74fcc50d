/**
 * What a VGA shows, as data the app can draw: in a text mode, the grid of
 * characters (CP437 mapped to Unicode), their attribute bytes, the 16 colours
 * those attributes select (through the attribute palette and the DAC), the
 * cursor and whether bit 7 of an attribute means blink. Plain data (strings,
 * numbers, one Uint8Array) so it crosses worker and WebSocket boundaries.
 *
 * How the CRTC walks memory in text mode: the character at row r, column c is
 * at address counter start + r * (2 * CR13) + c (start = CR0C:CR0D); the
 * counter becomes a plane offset shifted by 1 in word mode (CR17 bit 6
 * clear, the text modes), by 2 in doubleword mode (CR14 bit 6), unshifted in
 * byte mode. The character is plane 0's byte there and its attribute plane
 * 1's. Columns are CR1 + 1; rows are the displayed scan lines (CR12 with its
 * overflow bits, + 1) divided by the character height (CR9 bits 0-4, + 1).
 * The cursor is at counter CR0E:CR0F, drawn from scan line CR0A to CR0B
 * within the cell, hidden by CR0A bit 5 or when the start is below the end.
 */
import { CP437_TO_UNICODE } from './cp437.ts';
import { PLANE_SIZE } from './vgaPlanes.ts';
import {
  AR_COLOR_SELECT,
  AR_INDEX_PAS,
  AR_MODE_CONTROL,
  CR_CURSOR_END,
  CR_CURSOR_HIGH,
  CR_CURSOR_LOW,
  CR_CURSOR_START,
  CR_HORIZONTAL_DISPLAY_END,
  CR_MAX_SCAN_LINE,
  CR_MODE_CONTROL,
  CR_OFFSET,
  CR_OVERFLOW,
  CR_START_HIGH,
  CR_START_LOW,
  CR_UNDERLINE,
  CR_VERTICAL_DISPLAY_END,
  GR_MISC,
  SR1_SCREEN_OFF,
  SR_CLOCKING_MODE,
  type VgaRegisters,
} from './vgaRegisters.ts';

export interface TextCursor {
  row: number;
  column: number;
  /** Scan lines within the cell, 0 = top. */
  startLine: number;
  endLine: number;
  /** False when disabled (CR0A bit 5), when start > end, or when it lies outside the grid. */
  visible: boolean;
}

export interface TextScreen {
  mode: 'text';
  columns: number;
  rows: number;
  /** Character cell height in scan lines (16 in 80x25, 8 in 80x50). */
  cellHeight: number;
  /** One string per row, one UTF-16 unit per cell (every CP437 glyph is in the BMP). */
  lines: string[];
  /** rows * columns attribute bytes, row by row: bits 0-3 foreground, 4-6 background, 7 blink or bright background. */
  attributes: Uint8Array;
  /** The 16 colours attributes select, as '#rrggbb'. */
  palette: string[];
  cursor: TextCursor;
  /** True: attribute bit 7 blinks the character (AR10 bit 3); false: it selects a bright background. */
  blink: boolean;
  /** True while the display is off (palette address source clear, or the sequencer's screen-off bit): the screen is black. */
  blanked: boolean;
}

/** The guest switched to a graphics mode, which the app does not draw yet. */
export interface GraphicsScreen {
  mode: 'graphics';
}

export type ScreenSnapshot = TextScreen | GraphicsScreen;

/** Largest grid drawn: guards the renderer against CRTC values no monitor could show. */
const MAX_COLUMNS = 256;
const MAX_ROWS = 128;

export function isGraphicsMode(r: VgaRegisters): boolean {
  return (r.graphics[GR_MISC] & 1) !== 0 || (r.attribute[AR_MODE_CONTROL] & 1) !== 0;
}

export function textScreen(r: VgaRegisters, vram: Uint8Array): TextScreen {
  const crtc = r.crtc;
  const overflow = crtc[CR_OVERFLOW];
  const columns = Math.min(MAX_COLUMNS, crtc[CR_HORIZONTAL_DISPLAY_END] + 1);
  const cellHeight = (crtc[CR_MAX_SCAN_LINE] & 0x1f) + 1;
  let scanLines = (crtc[CR_VERTICAL_DISPLAY_END] | ((overflow & 0x02) << 7) | ((overflow & 0x40) << 3)) + 1;
  if (crtc[CR_MAX_SCAN_LINE] & 0x80) scanLines >>= 1; // double scanning: each line shown twice
  const rows = Math.max(1, Math.min(MAX_ROWS, Math.floor(scanLines / cellHeight)));
  const stride = crtc[CR_OFFSET] * 2;
  const start = (crtc[CR_START_HIGH] << 8) | crtc[CR_START_LOW];
  const shift = crtc[CR_UNDERLINE] & 0x40 ? 2 : crtc[CR_MODE_CONTROL] & 0x40 ? 0 : 1;

  const lines: string[] = [];
  const attributes = new Uint8Array(rows * columns);
  const codes = new Array<string>(columns);
  for (let row = 0; row < rows; row++) {
    const rowStart = start + row * stride;
    for (let column = 0; column < columns; column++) {
      const offset = ((rowStart + column) << shift) & (PLANE_SIZE - 1);
      codes[column] = CP437_TO_UNICODE[vram[offset]];
      attributes[row * columns + column] = vram[PLANE_SIZE + offset];
    }
    lines.push(codes.join(''));
  }

  const location = (crtc[CR_CURSOR_HIGH] << 8) | crtc[CR_CURSOR_LOW];
  const relative = location - start;
  const row = stride > 0 ? Math.floor(relative / stride) : 0;
  const column = stride > 0 ? relative - row * stride : relative;
  const startLine = crtc[CR_CURSOR_START] & 0x1f;
  const endLine = crtc[CR_CURSOR_END] & 0x1f;
  const visible =
    (crtc[CR_CURSOR_START] & 0x20) === 0 && startLine <= endLine && startLine < cellHeight &&
    relative >= 0 && row < rows && column < columns;

  return {
    mode: 'text',
    columns,
    rows,
    cellHeight,
    lines,
    attributes,
    palette: textPalette(r),
    cursor: { row, column, startLine, endLine, visible },
    blink: (r.attribute[AR_MODE_CONTROL] & 0x08) !== 0,
    blanked: (r.attributeIndex & AR_INDEX_PAS) === 0 || (r.sequencer[SR_CLOCKING_MODE] & SR1_SCREEN_OFF) !== 0,
  };
}

/**
 * The colour of each of the 16 attribute colour numbers: palette register ->
 * DAC index (AR14 supplies bits 6-7, and bits 4-5 when AR10 bit 7 says so) ->
 * the DAC's 6-bit RGB, masked by the pixel mask, scaled to 8 bits.
 */
export function textPalette(r: VgaRegisters): string[] {
  const colorSelect = r.attribute[AR_COLOR_SELECT];
  const p54 = (r.attribute[AR_MODE_CONTROL] & 0x80) !== 0;
  const colors: string[] = [];
  for (let i = 0; i < 16; i++) {
    const entry = r.attribute[i] & 0x3f;
    let index = ((colorSelect & 0x0c) << 4) | (p54 ? ((colorSelect & 0x03) << 4) | (entry & 0x0f) : entry);
    index &= r.dacPixelMask;
    let hex = '#';
    for (let c = 0; c < 3; c++) {
      const six = r.dac[index * 3 + c] & 0x3f;
      hex += ((six << 2) | (six >> 4)).toString(16).padStart(2, '0');
    }
    colors.push(hex);
  }
  return colors;
}
