/**
 * The VGA's 256 KiB of video memory as the hardware stores it: four 64 KiB
 * planes, and the CPU's path into them through the legacy window
 * 0xA0000-0xBFFFF.
 *
 * Where a CPU byte lands (IBM VGA Technical Reference, sequencer and graphics
 * controller chapters):
 * - GR6 bits 2-3 (memory map select) decide which part of the 128 KiB window
 *   the VGA answers: A0000-BFFFF, A0000-AFFFF, B0000-B7FFF or B8000-BFFFF.
 *   Outside it, reads float (0xFF) and writes are ignored.
 * - chain-4 (SR4 bit 3): address bits 0-1 pick the plane, the plane offset
 *   is the address with those bits cleared.
 * - odd/even (SR4 bit 2 clear; text modes): address bit 0 picks the plane
 *   pair member (even -> planes 0/2, odd -> 1/3), the plane offset is the
 *   address with bit 0 cleared. Characters land in plane 0 and attributes in
 *   plane 1, at the same even offset; the CRTC's word mode reads them there.
 * - otherwise (planar): every plane at the same offset.
 * The map mask (SR2) then enables planes for writes; reads choose a plane by
 * GR4 (read mode 0) or compare colours (read mode 1, GR5 bit 3). Every read
 * loads the four latches; write modes 0-3 (GR5 bits 0-1) combine the CPU
 * byte, set/reset, rotation, the logical operation and the bit mask with the
 * latches as the hardware does.
 */
import {
  GR_BIT_MASK,
  GR_COLOR_COMPARE,
  GR_COLOR_DONT_CARE,
  GR_DATA_ROTATE,
  GR_ENABLE_SET_RESET,
  GR_MISC,
  GR_MODE,
  GR_READ_MAP_SELECT,
  GR_SET_RESET,
  SR4_CHAIN4,
  SR4_ODD_EVEN_OFF,
  SR_MAP_MASK,
  SR_MEMORY_MODE,
  type VgaRegisters,
} from './vgaRegisters.ts';

export const PLANE_SIZE = 0x10000;
export const PLANE_COUNT = 4;
/** The legacy window's size (0xA0000-0xBFFFF). */
export const LEGACY_WINDOW_SIZE = 0x20000;

/** [first offset, size] inside the legacy window for each GR6 memory map select value. */
const MAPS: readonly (readonly [number, number])[] = [
  [0x00000, 0x20000],
  [0x00000, 0x10000],
  [0x10000, 0x08000],
  [0x18000, 0x08000],
];

/** Where the part of the legacy window the VGA answers starts (an offset from 0xA0000). */
export function windowMapBase(r: VgaRegisters): number {
  return MAPS[(r.graphics[GR_MISC] >> 2) & 3][0];
}

export class VgaPlanes {
  /** Plane p's byte at offset o is vram[p * PLANE_SIZE + o]. */
  readonly vram = new Uint8Array(PLANE_SIZE * PLANE_COUNT);
  /** Bumped on every write that may change what is stored (the screen snapshot's change check). */
  writes = 0;

  constructor(private readonly regs: () => VgaRegisters) {}

  /** A CPU read at `offset` inside the legacy window. */
  read(offset: number): number {
    const r = this.regs();
    const address = this.windowAddress(r, offset);
    if (address < 0) return 0xff;
    const memoryMode = r.sequencer[SR_MEMORY_MODE];
    let plane: number;
    let planeOffset: number;
    if (memoryMode & SR4_CHAIN4) {
      plane = address & 3;
      planeOffset = address & 0xfffc;
    } else if ((memoryMode & SR4_ODD_EVEN_OFF) === 0) {
      plane = (r.graphics[GR_READ_MAP_SELECT] & 2) | (address & 1);
      planeOffset = address & 0xfffe;
    } else {
      plane = r.graphics[GR_READ_MAP_SELECT] & 3;
      planeOffset = address;
    }
    const latches = r.latches;
    const vram = this.vram;
    for (let p = 0; p < PLANE_COUNT; p++) latches[p] = vram[p * PLANE_SIZE + planeOffset];
    if ((r.graphics[GR_MODE] & 0x08) === 0) return latches[plane];
    // Read mode 1: a 1 where every plane not masked out by colour don't care matches colour compare.
    const compare = r.graphics[GR_COLOR_COMPARE];
    const care = r.graphics[GR_COLOR_DONT_CARE];
    let result = 0xff;
    for (let p = 0; p < PLANE_COUNT; p++) {
      if ((care & (1 << p)) === 0) continue;
      const want = compare & (1 << p) ? 0xff : 0x00;
      result &= ~(latches[p] ^ want);
    }
    return result & 0xff;
  }

  /** A CPU write of `value` at `offset` inside the legacy window. */
  write(offset: number, value: number): void {
    const r = this.regs();
    const address = this.windowAddress(r, offset);
    if (address < 0) return;
    const memoryMode = r.sequencer[SR_MEMORY_MODE];
    let planes = r.sequencer[SR_MAP_MASK] & 0x0f;
    let planeOffset: number;
    if (memoryMode & SR4_CHAIN4) {
      planes &= 1 << (address & 3);
      planeOffset = address & 0xfffc;
    } else if ((memoryMode & SR4_ODD_EVEN_OFF) === 0) {
      planes &= address & 1 ? 0b1010 : 0b0101;
      planeOffset = address & 0xfffe;
    } else {
      planeOffset = address;
    }
    if (planes === 0) return;
    this.writes++;
    const vram = this.vram;
    const g = r.graphics;
    const latches = r.latches;
    const writeMode = g[GR_MODE] & 3;
    const rotate = g[GR_DATA_ROTATE] & 7;
    const operation = (g[GR_DATA_ROTATE] >> 3) & 3;
    const rotated = ((value >> rotate) | (value << (8 - rotate))) & 0xff;
    let bitMask = g[GR_BIT_MASK];
    if (writeMode === 3) bitMask &= rotated;
    for (let p = 0; p < PLANE_COUNT; p++) {
      if ((planes & (1 << p)) === 0) continue;
      const latch = latches[p];
      let data: number;
      switch (writeMode) {
        case 0:
          data = g[GR_ENABLE_SET_RESET] & (1 << p) ? (g[GR_SET_RESET] & (1 << p) ? 0xff : 0) : rotated;
          break;
        case 1:
          vram[p * PLANE_SIZE + planeOffset] = latch;
          continue;
        case 2:
          data = value & (1 << p) ? 0xff : 0;
          break;
        default:
          data = g[GR_SET_RESET] & (1 << p) ? 0xff : 0;
          break;
      }
      switch (operation) {
        case 1:
          data &= latch;
          break;
        case 2:
          data |= latch;
          break;
        case 3:
          data ^= latch;
          break;
      }
      vram[p * PLANE_SIZE + planeOffset] = ((data & bitMask) | (latch & ~bitMask)) & 0xff;
    }
  }

  /** The address inside the mapped part of the window, or -1 when the VGA does not answer there. */
  private windowAddress(r: VgaRegisters, offset: number): number {
    const [first, size] = MAPS[(r.graphics[GR_MISC] >> 2) & 3];
    const address = offset - first;
    return address >= 0 && address < size ? address & 0xffff : -1;
  }
}
