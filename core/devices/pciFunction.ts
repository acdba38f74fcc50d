/**
 * One PCI function's type-0 configuration space (PCI Local Bus 3.0, ch. 6).
 *
 * The 256 bytes live in `config`; what software may change is described per
 * byte by `writable` (bits a write may change) and `writeOneToClear` (bits a 1
 * clears, e.g. the status error bits). BARs are declared with `defineBar`:
 * their writable mask is the size-aligned address bits, so the sizing
 * protocol (write all ones, read back ~(size - 1) | type bits) falls out of
 * the masks. Device models (virtio-pci later) extend this class and override
 * `configWritten` to react to BAR/command changes, or use `addCapability` to
 * build a capability list.
 */

export type PciBarKind = 'io' | 'mem32' | 'mem64';

export interface PciBarDefinition {
  kind: PciBarKind;
  /** Bytes decoded: a power of two, at least 4 (I/O) or 16 (memory). */
  size: number;
  prefetchable?: boolean;
}

export interface PciFunctionIdentity {
  vendorId: number;
  deviceId: number;
  /** class << 16 | subclass << 8 | programming interface */
  classCode: number;
  revision?: number;
  /** 0 for a normal device; bit 7 (multifunction) is added by the bus when needed. */
  headerType?: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  /** 0 = none, 1-4 = INTA#-INTD#. */
  interruptPin?: number;
}

export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BAR0 = 0x10;
export const PCI_CAPABILITY_POINTER = 0x34;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;

export const PCI_COMMAND_IO = 0x0001;
export const PCI_COMMAND_MEMORY = 0x0002;
export const PCI_COMMAND_MASTER = 0x0004;
export const PCI_COMMAND_INTX_DISABLE = 0x0400;
export const PCI_STATUS_INTERRUPT = 0x0008;
export const PCI_STATUS_CAP_LIST = 0x0010;

/** Command bits a type-0 function implements: I/O, memory, bus master, parity, SERR, INTx disable. */
const COMMAND_WRITABLE = 0x0001 | 0x0002 | 0x0004 | 0x0040 | 0x0100 | 0x0400;
/** Status error bits (write 1 to clear): master data parity, signalled/received aborts, SERR, parity. */
const STATUS_W1C = 0x0100 | 0x0800 | 0x1000 | 0x2000 | 0x4000 | 0x8000;

export interface PciFunctionState {
  config: number[];
  intxAsserted: boolean;
}

export class PciFunction {
  readonly name: string;
  readonly config = new Uint8Array(256);
  readonly writable = new Uint8Array(256);
  readonly writeOneToClear = new Uint8Array(256);
  /** Set by the bus when attached: drives this function's INTx pin. */
  intxSink: (fn: PciFunction, level: boolean) => void = () => {};
  private readonly bars: (PciBarDefinition | null)[] = [null, null, null, null, null, null];
  private readonly powerOn = new Uint8Array(256);
  private intxAsserted = false;
  private nextCapability = 0x40;
  private lastCapability = 0;

  constructor(name: string, id: PciFunctionIdentity) {
    this.name = name;
    this.set16(0x00, id.vendorId);
    this.set16(0x02, id.deviceId);
    this.config[0x08] = id.revision ?? 0;
    this.config[0x09] = id.classCode & 0xff;
    this.config[0x0a] = (id.classCode >>> 8) & 0xff;
    this.config[0x0b] = (id.classCode >>> 16) & 0xff;
    this.config[PCI_HEADER_TYPE] = id.headerType ?? 0;
    this.set16(0x2c, id.subsystemVendorId ?? 0);
    this.set16(0x2e, id.subsystemId ?? 0);
    this.config[PCI_INTERRUPT_PIN] = id.interruptPin ?? 0;
    this.setMask(this.writable, PCI_COMMAND, 2, COMMAND_WRITABLE);
    this.setMask(this.writeOneToClear, PCI_STATUS, 2, STATUS_W1C);
    this.writable[0x0c] = 0xff; // cache line size
    this.writable[0x0d] = 0xff; // latency timer (stored; nothing on this bus waits)
    this.writable[PCI_INTERRUPT_LINE] = 0xff;
    this.powerOn.set(this.config);
  }

  /** Declares BAR `index` (0-5; a 64-bit BAR also takes index + 1). */
  defineBar(index: number, bar: PciBarDefinition): void {
    const minSize = bar.kind === 'io' ? 4 : 16;
    if (index < 0 || index > 5 || (bar.kind === 'mem64' && index > 4)) throw new RangeError(`BAR ${index} out of range`);
    if (bar.size < minSize || (bar.size & (bar.size - 1)) !== 0 || bar.size > 0x8000_0000) {
      throw new RangeError(`BAR size ${bar.size} must be a power of two >= ${minSize}`);
    }
    this.bars[index] = bar;
    const offset = PCI_BAR0 + index * 4;
    const typeBits = bar.kind === 'io' ? 0x1 : (bar.kind === 'mem64' ? 0x4 : 0) | (bar.prefetchable ? 0x8 : 0);
    this.set32(offset, typeBits);
    this.setMask(this.writable, offset, 4, ~(bar.size - 1) & (bar.kind === 'io' ? 0xffff_fffc : 0xffff_fff0));
    if (bar.kind === 'mem64') this.setMask(this.writable, offset + 4, 4, 0xffff_ffff);
    this.powerOn.set(this.config);
  }

  /**
   * Appends a capability with `id` and `length` bytes (including the 2-byte
   * header) to the list; returns its config offset. Its body is read-only
   * unless the caller marks bytes in `writable`.
   */
  addCapability(id: number, length: number): number {
    const offset = this.nextCapability;
    if (length < 2 || offset + length > 0x100) throw new RangeError('no room for the capability');
    this.config[offset] = id;
    this.config[offset + 1] = 0;
    if (this.lastCapability === 0) this.config[PCI_CAPABILITY_POINTER] = offset;
    else this.config[this.lastCapability + 1] = offset;
    this.lastCapability = offset;
    this.nextCapability = (offset + length + 3) & ~3;
    this.config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    this.powerOn.set(this.config);
    return offset;
  }

  /** Records the current configuration as what reset() restores (for subclasses' constructors). */
  protected capturePowerOnState(): void {
    this.powerOn.set(this.config);
  }

  /** Back to power-on configuration (BARs unassigned, command 0). */
  reset(): void {
    this.config.set(this.powerOn);
    this.setIntx(false);
  }

  readConfig(offset: number, size: 1 | 2 | 4): number {
    let value = 0;
    for (let i = 0; i < size; i++) value |= this.config[(offset + i) & 0xff] << (8 * i);
    return value >>> 0;
  }

  writeConfig(offset: number, size: 1 | 2 | 4, value: number): void {
    for (let i = 0; i < size; i++) {
      const at = (offset + i) & 0xff;
      const byte = (value >>> (8 * i)) & 0xff;
      const w = this.writable[at];
      this.config[at] = (this.config[at] & ~w) | (byte & w);
      this.config[at] &= ~(byte & this.writeOneToClear[at]);
    }
    if (offset <= PCI_COMMAND + 1 && offset + size > PCI_COMMAND) this.updateIntx();
    this.configWritten(offset, size);
  }

  /** Hook for device models: config bytes [offset, offset + size) were written. */
  protected configWritten(_offset: number, _size: number): void {}

  get command(): number {
    return this.config[PCI_COMMAND] | (this.config[PCI_COMMAND + 1] << 8);
  }

  /** The address BAR `index` is programmed to (without type bits), or -1 if it is not declared. */
  barAddress(index: number): number {
    const bar = this.bars[index];
    if (!bar) return -1;
    const raw = this.readConfig(PCI_BAR0 + index * 4, 4);
    if (bar.kind === 'io') return raw & 0xffff_fffc;
    const low = (raw & 0xffff_fff0) >>> 0;
    return bar.kind === 'mem64' ? low + this.readConfig(PCI_BAR0 + index * 4 + 4, 4) * 0x1_0000_0000 : low;
  }

  barDefinition(index: number): PciBarDefinition | null {
    return this.bars[index] ?? null;
  }

  /** The device asserts (true) or deasserts its INTx pin; INTx Disable in COMMAND masks it. */
  setIntx(level: boolean): void {
    this.intxAsserted = level;
    if (level) this.config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
    else this.config[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
    this.updateIntx();
  }

  /** The level this function drives onto its INTx wire. */
  get intxOutput(): boolean {
    return this.intxAsserted && (this.command & PCI_COMMAND_INTX_DISABLE) === 0 && this.config[PCI_INTERRUPT_PIN] !== 0;
  }

  saveState(): PciFunctionState {
    return { config: Array.from(this.config), intxAsserted: this.intxAsserted };
  }

  loadState(state: unknown): void {
    const s = state as PciFunctionState;
    for (let i = 0; i < 256; i++) this.config[i] = s.config[i] & 0xff;
    this.intxAsserted = s.intxAsserted;
    this.updateIntx();
  }

  protected set16(offset: number, value: number): void {
    this.config[offset] = value & 0xff;
    this.config[offset + 1] = (value >>> 8) & 0xff;
  }

  protected set32(offset: number, value: number): void {
    for (let i = 0; i < 4; i++) this.config[offset + i] = (value >>> (8 * i)) & 0xff;
  }

  protected setMask(mask: Uint8Array, offset: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) mask[offset + i] = (value >>> (8 * i)) & 0xff;
  }

  private updateIntx(): void {
    this.intxSink(this, this.intxOutput);
  }
}
