/**
 * The current VMCS: its fields cached in a typed array keyed by encoding,
 * and the VMCS region in physical memory it came from.
 *
 * Region layout (implementation-specific, SDM §24.2): dword 0 the revision
 * identifier, dword 1 the VMX-abort indicator, dword 2 the launch state
 * (0 clear, 1 launched), then one 8-byte slot per supported field (low
 * dword, high dword) in SUPPORTED_FIELDS order. VMPTRLD reads the region
 * into the cache; VMCLEAR and a VMPTRLD of another region write it back, so
 * memory holds the data whenever the VMCS is not current.
 */
import type { MemoryBus } from '../../memory/bus.ts';
import { SUPPORTED_FIELDS, WIDTH_16, WIDTH_32, WIDTH_64, fieldWidth } from './vmcsFields.ts';

const SLOT_OF = new Int16Array(0x8000).fill(-1);
SUPPORTED_FIELDS.forEach((encoding, slot) => { SLOT_OF[encoding] = slot; });
const FIELD_COUNT = SUPPORTED_FIELDS.length;
const DATA_OFFSET = 12;

export const LAUNCH_STATE_CLEAR = 0;
export const LAUNCH_STATE_LAUNCHED = 1;

/**
 * The slot of a field for a 32-bit VMREAD/VMWRITE encoding, and whether it
 * names the high half; -1 when no such field exists (bits 31:15 set, an
 * unknown field, or the high access type on a field that is not 64-bit).
 */
export function slotOf(encoding: number): number {
  if ((encoding >>> 0) > 0x7fff) return -1;
  const high = (encoding & 1) !== 0;
  if (high && fieldWidth(encoding) !== WIDTH_64) return -1;
  return SLOT_OF[encoding & ~1];
}

export class Vmcs {
  /** Low and high dword of every field: lo at 2*slot, hi at 2*slot+1. */
  readonly data = new Uint32Array(FIELD_COUNT * 2);
  launchState = LAUNCH_STATE_CLEAR;

  /** A field's low 32 bits (16-bit and 32-bit fields are zero-extended). */
  get(encoding: number): number {
    return this.data[SLOT_OF[encoding] * 2] | 0;
  }
  /** A 64-bit or natural-width field's high 32 bits. */
  getHigh(encoding: number): number {
    return this.data[SLOT_OF[encoding] * 2 + 1] | 0;
  }
  /** Sets a field from a 32-bit value, truncated to the field's width; the high half is cleared. */
  set(encoding: number, value: number): void {
    const s = SLOT_OF[encoding] * 2;
    const w = fieldWidth(encoding);
    this.data[s] = w === WIDTH_16 ? value & 0xffff : value >>> 0;
    this.data[s + 1] = 0;
  }
  setHigh(encoding: number, value: number): void {
    this.data[SLOT_OF[encoding] * 2 + 1] = value >>> 0;
  }

  /** VMREAD as 32-bit software performs it (encoding already validated by slotOf). */
  read(encoding: number): number {
    const slot = slotOf(encoding);
    return this.data[slot * 2 + (encoding & 1)] | 0;
  }
  /** VMWRITE as 32-bit software performs it: shorter fields drop high bits, longer ones get high bits 0. */
  write(encoding: number, value: number): void {
    const slot = slotOf(encoding);
    if ((encoding & 1) !== 0) {
      this.data[slot * 2 + 1] = value >>> 0;
      return;
    }
    const w = fieldWidth(encoding);
    this.data[slot * 2] = w === WIDTH_16 ? value & 0xffff : value >>> 0;
    if (w !== WIDTH_32) this.data[slot * 2 + 1] = 0;
  }

  loadFrom(bus: MemoryBus, pa: number): void {
    this.launchState = bus.read32(pa + 8) === LAUNCH_STATE_LAUNCHED ? LAUNCH_STATE_LAUNCHED : LAUNCH_STATE_CLEAR;
    for (let i = 0; i < this.data.length; i++) this.data[i] = bus.read32(pa + DATA_OFFSET + i * 4) >>> 0;
  }
  storeTo(bus: MemoryBus, pa: number): void {
    bus.write32(pa + 8, this.launchState);
    for (let i = 0; i < this.data.length; i++) bus.write32(pa + DATA_OFFSET + i * 4, this.data[i] | 0);
  }
}

/** Sets the launch state of a VMCS region that is not cached (VMCLEAR of a non-current VMCS). */
export function writeLaunchState(bus: MemoryBus, pa: number, state: number): void {
  bus.write32(pa + 8, state);
}
