/**
 * The PC chipset every board has, built on one device bus: the PIC, PIT,
 * RTC/CMOS, two 16550 UARTs, the i8042 keyboard controller, ports 0x61, 0x92,
 * 0x80 and 0xCF9, the FPU error latch (IRQ 13), the PCI host bridge with the
 * PIIX3 functions, ACPI PM, the board's virtio devices, and the I/O ports the
 * driver wants logged.
 *
 * The same models serve both boards: on the bare PC the bus is the
 * processor's own; under the hypervisor it is the domain's device bus, which
 * the vCPU reaches through I/O and MMIO exits (core/machine/processorSide.ts
 * says how each side connects the PIC's INTR output and guest memory).
 */
import type { Cpu } from '../cpu/cpu.ts';
import type { GuestClock } from '../cpu/clock.ts';
import type { InterruptController } from '../cpu/cpu.ts';
import { A20Gate } from '../devices/a20Gate.ts';
import { PcApics } from '../devices/apic/pcApics.ts';
import { boardHasApics } from './apicOption.ts';
import { ACPI_SCI_IRQ, AcpiPm } from '../devices/acpiPm.ts';
import type { Device, TimedDevice } from '../devices/device.ts';
import { FpuErrorPort } from '../devices/fpuErrorPort.ts';
import { I8042 } from '../devices/i8042.ts';
import { HostKeyboard } from '../devices/hostKeyboard.ts';
import { VgaAdapter } from '../devices/vga/vga.ts';
import { Pci } from '../devices/pci.ts';
import { Pic } from '../devices/pic.ts';
import { Pit } from '../devices/pit.ts';
import { timerApicVector, timerIrqHeld } from './timerIrqRoute.ts';
import { Port80 } from '../devices/port80.ts';
import { Port92 } from '../devices/port92.ts';
import { ResetControl } from '../devices/resetControl.ts';
import { Rtc } from '../devices/rtc.ts';
import { SystemControlPort } from '../devices/systemControlPort.ts';
import { Uart16550 } from '../devices/uart16550.ts';
import type { GuestRamMap } from '../dom0/grantCheck.ts';
import type { MemoryBus } from '../memory/bus.ts';
import { BootError } from './boot/bootError.ts';
import { attachLogPort } from './logPort.ts';
import { attachFirmwareConfig } from './firmware/fwCfgBoard.ts';
import { SerialInputQueue, SerialOutputBuffer } from './serialOutput.ts';
import { VirtioBoard } from './virtioBoard.ts';
import { IdeBoard } from './ideBoard.ts';
import type { MachineHooks, MachineOptions, SerialIndex } from './types.ts';

/** Wall-clock time the RTC shows at guest time 0 on the deterministic clock (2025-01-01T00:00:00Z), so runs repeat exactly. */
export const DETERMINISTIC_EPOCH_MS = Date.UTC(2025, 0, 1);

/** What the chipset is connected to. */
export interface ChipsetWiring {
  /** The bus the device models decode their ports and MMIO regions on. */
  bus: MemoryBus;
  clock: GuestClock;
  /** The processor: FPU error signalling, and stopping its run when a device reschedules. */
  cpu: Cpu;
  ramBytes: number;
  /** The guest's RAM as the virtio devices' grant check sees it. */
  guestRam: GuestRamMap;
  /** The INTR output to the processor: the local APIC's, or the PIC's on a board without APICs. */
  onIntr(level: boolean): void;
  /** An NMI from the local APIC (LVT LINT1 or a self-IPI); absent where NMIs cannot be delivered yet. */
  onNmi?(): void;
  /** A guest-requested reset and power-off; acted on by the board after the current run. */
  requestReset(cause: string): void;
  /** A soft reset's INIT to the processor; false when the side restarts the VM instead (ProcessorSide.init). */
  initProcessor?(): boolean;
  requestPowerOff(): void;
  /** A device's next event moved earlier: the processor must come back to the board. */
  reschedule(): void;
}

export class Chipset {
  readonly devices: Device[] = [];
  readonly timed: TimedDevice[] = [];
  readonly pic: Pic;
  /** The local APIC and I/O APIC (MachineOptions.apic); absent on a PIC-only board. */
  readonly apics: PcApics | undefined;
  /** What answers the processor's INTA: the local APIC (which passes the PIC's requests on through LINT0), else the PIC. */
  readonly interruptController: InterruptController;
  readonly a20: A20Gate;
  readonly acpiPm: AcpiPm;
  readonly virtio: VirtioBoard;
  /** The VGA (MachineOptions.vga), absent on a board without a display adapter. */
  readonly vga: VgaAdapter | undefined;
  /** Keys typed on the host, queued for the PS/2 keyboard. */
  readonly hostKeyboard: HostKeyboard;
  /** The PIIX3 IDE controller with the VM's IDE disks and CD-ROM drives (none without them). */
  readonly ide: IdeBoard;
  private readonly uarts: Uart16550[] = [];
  private readonly serialOut: SerialOutputBuffer[] = [];
  private readonly serialIn = [new SerialInputQueue(), new SerialInputQueue()];

  constructor(w: ChipsetWiring, options: MachineOptions, hooks: MachineHooks) {
    const { bus, clock, cpu } = w;
    const onReschedule = () => w.reschedule();
    // The PIT delivers waiting ticks once the processor took IRQ 0 (pit.ts, reinjection).
    let pit: Pit | undefined;
    this.pic = this.add(new Pic(bus, {
      onIntr: (level) => (this.apics ? this.apics.lapic.picChanged() : w.onIntr(level)),
      onIrq: (irq, level) => this.apics?.isaIrq(irq, level),
      onTaken: (irq) => { if (irq === 0) pit?.irq0Taken(); },
    }));
    this.apics = !boardHasApics(options) ? undefined : new PcApics(bus, {
      clock,
      pic: this.pic,
      onIntr: (level) => w.onIntr(level),
      onNmi: () => w.onNmi?.(),
      onReschedule,
      onTaken: (vector) => { if (vector === timerApicVector(this.apics)) pit?.irq0Taken(); },
    });
    if (this.apics) {
      this.addTimed(this.apics.lapic);
      this.add(this.apics.ioapic);
    }
    this.interruptController = this.apics?.lapic ?? this.pic;
    const fpuError = this.add(new FpuErrorPort(bus, this.pic.irqLine(13), () => { cpu.fpu.ignne = true; }));
    cpu.fpu.ferrConnected = true;
    cpu.fpu.onFerr = (level) => fpuError.ferr(level);
    pit = this.addTimed(new Pit(bus, clock, this.pic.irqLine(0), { onReschedule, irq0Held: () => timerIrqHeld(this.pic, this.apics) }));
    this.add(new SystemControlPort(bus, clock, pit));
    this.addTimed(
      new Rtc(bus, clock, this.pic.irqLine(8), {
        ramBytes: w.ramBytes,
        ...(options.bootOrder ? { bootOrder: options.bootOrder } : {}),
        epochMs: options.clock === 'deterministic' ? DETERMINISTIC_EPOCH_MS : Date.now(),
        onReschedule,
      }),
    );
    const uartPorts: [number, number][] = [[0x3f8, 4], [0x2f8, 3]];
    uartPorts.forEach(([base, irq], index) => {
      const out = new SerialOutputBuffer((bytes) => hooks.onSerialOutput?.(index as SerialIndex, bytes));
      this.serialOut.push(out);
      const uart = new Uart16550(bus, clock, base, this.pic.irqLine(irq), { name: `com${index + 1}`, onTransmit: (byte) => out.push(byte), onReschedule });
      this.uarts.push(this.addTimed(uart));
    });

    // Under the hypervisor the A20 gate is a device register only: EPT maps the domain's memory without the 1 MiB wrap.
    this.a20 = new A20Gate(bus);
    this.add(new Port92(bus, this.a20, { onReset: () => w.requestReset('port 0x92 fast reset') }));
    const kbc = this.add(new I8042(bus, this.pic.irqLine(1), this.pic.irqLine(12), { a20: this.a20, onReset: () => w.requestReset('keyboard controller reset') }));
    this.hostKeyboard = new HostKeyboard(kbc);
    this.vga = options.vga ? this.add(new VgaAdapter(bus, clock, w.guestRam)) : undefined;
    const logged = new Set(options.logPorts ?? []);
    this.add(new Port80(bus, { onWrite: (code) => logged.has(0x80) && hooks.onPortByte?.(0x80, code) }));
    const resetControl = this.add(
      new ResetControl({
        onReset: (cause) => {
          // PIIX3: a soft reset asserts INIT to the processor only; a hard one resets the system.
          if (cause === 'cf9-soft' && w.initProcessor?.()) return;
          w.requestReset(`port 0xCF9 ${cause === 'cf9-hard' ? 'hard' : 'soft'} reset`);
        },
      }),
    );
    const pci = this.add(new Pci(bus, { setIsaIrq: (irq, level) => this.pic.setIrq(irq, level), cf9: resetControl }));
    this.virtio = new VirtioBoard(bus, pci, options, w.guestRam, (port, bytes) => hooks.onVirtioConsoleOutput?.(bytes, port), hooks.onNetworkFrame);
    this.ide = new IdeBoard(bus, pci, this.pic, w.guestRam, options);
    // Firmware learns the board through QEMU's fw_cfg interface (RAM, boot order, console, ACPI tables).
    if (options.rom) this.add(attachFirmwareConfig(bus, pci, w.guestRam, w.ramBytes, options));
    this.acpiPm = this.addTimed(new AcpiPm(bus, clock, this.pic.irqLine(ACPI_SCI_IRQ), { onPowerOff: () => w.requestPowerOff(), onReschedule }));

    // Ports whose writes the driver wants to see; a device that owns such a port reports them itself (0x80).
    for (const port of logged) {
      if (port === 0x80) continue;
      if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new BootError(`cannot log I/O port ${port}`);
      try {
        attachLogPort(bus, port, (p, byte) => hooks.onPortByte?.(p, byte));
      } catch (e) {
        throw new BootError(`cannot log I/O port 0x${port.toString(16)}: ${(e as Error).message}`);
      }
    }
  }

  /** Power-on state of every device model, the A20 gate on (as the keyboard controller's output port comes out of reset). */
  reset(): void {
    for (const d of this.devices) d.reset();
    this.a20.set('kbc', true);
  }

  /** Fires due device events (and takes what dom0's threads answered); returns the guest time of the earliest next one. */
  advance(now: number): number {
    this.virtio.poll();
    let next = Infinity;
    for (let i = 0; i < this.timed.length; i++) {
      const t = this.timed[i].advance(now);
      if (t < next) next = t;
    }
    return next;
  }

  /** Bytes typed into a serial port, queued until the UART's receive FIFO takes them. */
  serialInput(port: SerialIndex, bytes: Uint8Array): void {
    const queue = this.serialIn[port];
    if (!queue) return;
    queue.push(bytes);
    queue.drain((b) => this.uarts[port].receive(b));
  }

  /** Moves queued serial input into the UARTs' FIFOs, and host keys into the keyboard, as they have room. */
  drainSerialInput(): void {
    this.hostKeyboard.drain();
    for (let i = 0; i < this.uarts.length; i++) this.serialIn[i].drain((bytes) => this.uarts[i].receive(bytes));
  }

  /** Hands buffered serial output to the driver. */
  flushSerialOutput(): void {
    for (const out of this.serialOut) out.flush();
  }

  private add<T extends Device>(device: T): T {
    this.devices.push(device);
    return device;
  }

  private addTimed<T extends TimedDevice>(device: T): T {
    this.timed.push(device);
    return this.add(device);
  }
}
