/**
 * The PC/AT numeric-error logic: the FPU's FERR# output raises IRQ 13; a
 * write to port 0xF0 (the "clear busy" port) lowers IRQ 13 and asserts the
 * FPU's IGNNE# input until FERR# goes away, so the interrupt handler's
 * FNCLEX/FNINIT can run. This is the CR0.NE=0 path that DOS-era software and
 * old kernels' FPU detection use.
 *
 * Wiring: `cpu.fpu.ferrConnected = true; cpu.fpu.onFerr = (l) => port.ferr(l);`
 * with `onClearBusy = () => { cpu.fpu.ignne = true; }`.
 */
import type { MemoryBus } from '../memory/bus.ts';
import type { Device, IrqLine } from './device.ts';

export const FPU_ERROR_PORT = 0xf0;

export class FpuErrorPort implements Device {
  readonly name = 'fpu-error';
  private asserted = false;

  constructor(bus: MemoryBus, private readonly irq13: IrqLine, private readonly onClearBusy: () => void) {
    bus.addPorts(FPU_ERROR_PORT, 2, this, 'fpu error (0xF0-0xF1)', [1]);
  }

  /** FERR# from the FPU. */
  ferr(level: boolean): void {
    this.asserted = level;
    this.irq13(level);
  }

  portRead(): number {
    return 0xff;
  }

  portWrite(port: number): void {
    if (port !== FPU_ERROR_PORT) return; // 0xF1 resets the coprocessor on an AT; a P6 ignores it
    if (this.asserted) {
      this.irq13(false);
      this.onClearBusy();
    }
  }

  reset(): void {
    this.asserted = false;
    this.irq13(false);
  }

  saveState(): unknown {
    return { asserted: this.asserted };
  }

  loadState(state: unknown): void {
    this.asserted = (state as { asserted?: boolean }).asserted === true;
  }
}
