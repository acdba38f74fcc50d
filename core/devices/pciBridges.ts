/**
 * The two chipset functions every PC-compatible PCI bus starts with:
 * the Intel 440FX host bridge (00:00.0, 8086:1237) and the PIIX3 PCI-to-ISA
 * bridge (00:01.0, 8086:7000, multifunction).
 *
 * Their device-specific registers (0x40-0xFF) are stored so firmware and
 * Linux can read back what they wrote; only the PIIX3 PIRQ route registers
 * (0x60-0x63) have an effect here: they route PCI INTx wires to ISA IRQs.
 * The 440FX PAM (shadow RAM) and SMRAM registers have no effect: the board
 * comes out of reset with the BIOS area 0xE0000-0xFFFFF already shadowed in
 * RAM (core/machine/firmware/romImage.ts), which is the state firmware asks
 * for with PAM anyway.
 *
 * The host bridge carries QEMU's subsystem id (1af4:1100, "QEMU virtual
 * machine"): SeaBIOS looks for exactly that before it trusts the board to be
 * a QEMU-compatible PC and reads its fw_cfg interface.
 */
import { PciFunction } from './pciFunction.ts';

export class I440fxHostBridge extends PciFunction {
  constructor() {
    super('i440fx', { vendorId: 0x8086, deviceId: 0x1237, classCode: 0x060000, revision: 0x02, subsystemVendorId: 0x1af4, subsystemId: 0x1100 });
    for (let i = 0x40; i < 0x100; i++) this.writable[i] = 0xff;
    this.config[0x72] = 0x02; // SMRAM: C_BASE_SEG = 010 (A0000) as at reset
    this.writable[0x0c] = 0;
    this.writable[0x3c] = 0;
    this.capturePowerOnState();
  }
}

/** PIRQ route register value meaning "not routed". */
const PIRQ_DISABLED = 0x80;
/** ISA IRQs the PIIX3 can route a PIRQ to. */
const ROUTABLE_IRQS = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 14) | (1 << 15);

export class Piix3IsaBridge extends PciFunction {
  /** Where routed PCI interrupts go (the PIC's setIrq); set by the board. */
  setIsaIrq: (irq: number, level: boolean) => void = () => {};
  private readonly pirqLevel = [false, false, false, false];
  /** Bit per ISA IRQ this bridge currently drives high. */
  private driven = 0;

  constructor() {
    super('piix3-isa', { vendorId: 0x8086, deviceId: 0x7000, classCode: 0x060100, headerType: 0x80 });
    for (let i = 0x40; i < 0x100; i++) this.writable[i] = 0xff;
    this.writable[0x0c] = 0;
    this.writable[0x3c] = 0;
    // The bridge decodes I/O and memory and masters ISA DMA from reset.
    this.config[0x04] = 0x07;
    this.config[0x06] = 0x00;
    this.config[0x07] = 0x02; // DEVSEL medium
    for (let i = 0; i < 4; i++) this.config[0x60 + i] = PIRQ_DISABLED;
    this.config[0x4c] = 0x4d; // ISA I/O recovery timer default
    this.config[0x69] = 0x02; // top of memory default
    this.config[0x70] = 0x80; // MBIRQ0 disabled
    this.config[0x76] = 0x0c;
    this.config[0x77] = 0x0c; // MBDMA disabled
    this.config[0x80] = 0x00;
    this.config[0xa0] = 0x08;
    this.config[0xa8] = 0x0f;
    this.capturePowerOnState();
  }

  /** PCI INTx wire of `device` pin (1-4) changed: swizzle to PIRQ[(device + pin - 1) & 3]. */
  routeIntx(device: number, pin: number, level: boolean): void {
    const pirq = (device + pin - 1) & 3;
    this.pirqLevel[pirq] = level;
    this.refresh();
  }

  /** The ISA IRQ PIRQ `index` is routed to, or -1. */
  pirqRoute(index: number): number {
    const v = this.config[0x60 + index];
    if (v & PIRQ_DISABLED) return -1;
    const irq = v & 0x0f;
    return (ROUTABLE_IRQS & (1 << irq)) !== 0 ? irq : -1;
  }

  override reset(): void {
    super.reset();
    this.pirqLevel.fill(false);
    this.refresh();
  }

  override loadState(state: unknown): void {
    super.loadState(state);
    this.refresh();
  }

  protected override configWritten(offset: number, size: number): void {
    if (offset < 0x64 && offset + size > 0x60) this.refresh();
  }

  /** Drives each ISA IRQ with the OR of the PIRQs routed to it. */
  private refresh(): void {
    let want = 0;
    for (let i = 0; i < 4; i++) {
      const irq = this.pirqRoute(i);
      if (irq >= 0 && this.pirqLevel[i]) want |= 1 << irq;
    }
    const changed = want ^ this.driven;
    this.driven = want;
    if (changed === 0) return;
    for (let irq = 0; irq < 16; irq++) if (changed & (1 << irq)) this.setIsaIrq(irq, (want & (1 << irq)) !== 0);
  }
}
