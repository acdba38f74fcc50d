/**
 * One device's copy of the ATA command-block registers. Both devices on a
 * channel latch every register write (the host cannot address just one), so
 * the channel keeps a TaskFile per device slot, present or not, and reads come
 * from the selected device's copy.
 *
 * The 48-bit commands use each register twice: a write pushes the previous
 * value into the "high-order byte" (HOB) copy, which reads return when the
 * device control register's HOB bit is set (ATA/ATAPI-6 6.20).
 */
import { DH_LBA } from './ataRegisters.ts';

export interface TaskFileState {
  feature: number;
  hobFeature: number;
  sectorCount: number;
  hobSectorCount: number;
  lbaLow: number;
  hobLbaLow: number;
  lbaMid: number;
  hobLbaMid: number;
  lbaHigh: number;
  hobLbaHigh: number;
  device: number;
  status: number;
  error: number;
}

export class TaskFile implements TaskFileState {
  feature = 0;
  hobFeature = 0;
  sectorCount = 0;
  hobSectorCount = 0;
  lbaLow = 0;
  hobLbaLow = 0;
  lbaMid = 0;
  hobLbaMid = 0;
  lbaHigh = 0;
  hobLbaHigh = 0;
  device = 0;
  status = 0;
  error = 0;

  /** Register offsets 1-5 of the command block (features, count, LBA low/mid/high): the old value moves to the HOB copy. */
  write(offset: number, value: number): void {
    value &= 0xff;
    switch (offset) {
      case 1: this.hobFeature = this.feature; this.feature = value; break;
      case 2: this.hobSectorCount = this.sectorCount; this.sectorCount = value; break;
      case 3: this.hobLbaLow = this.lbaLow; this.lbaLow = value; break;
      case 4: this.hobLbaMid = this.lbaMid; this.lbaMid = value; break;
      case 5: this.hobLbaHigh = this.lbaHigh; this.lbaHigh = value; break;
    }
  }

  /** A 28-bit address (LBA mode) or, with the LBA bit clear, the CHS address translated by `chs`. */
  lba28(chs: { heads: number; sectors: number }): number {
    if (this.device & DH_LBA) return ((this.device & 0x0f) * 0x100_0000 + (this.lbaHigh << 16) + (this.lbaMid << 8) + this.lbaLow);
    const cylinder = (this.lbaHigh << 8) | this.lbaMid;
    const head = this.device & 0x0f;
    const sector = this.lbaLow;
    // Sector numbers start at 1; sector 0, or one past the track, is not an address (-1: the caller reports IDNF).
    if (sector === 0 || sector > chs.sectors || head >= chs.heads) return -1;
    return (cylinder * chs.heads + head) * chs.sectors + sector - 1;
  }

  lba48(): number {
    const high = (this.hobLbaHigh << 16) | (this.hobLbaMid << 8) | this.hobLbaLow;
    const low = (this.lbaHigh << 16) | (this.lbaMid << 8) | this.lbaLow;
    return high * 0x100_0000 + low;
  }

  /** Sector count of a 28-bit command: 0 means 256. */
  count28(): number {
    return this.sectorCount === 0 ? 256 : this.sectorCount;
  }

  /** Sector count of a 48-bit command: 0 means 65536. */
  count48(): number {
    const n = (this.hobSectorCount << 8) | this.sectorCount;
    return n === 0 ? 65536 : n;
  }

  saveState(): TaskFileState {
    return { ...this };
  }

  loadState(s: TaskFileState): void {
    Object.assign(this, s);
  }
}
