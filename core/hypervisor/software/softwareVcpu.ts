/**
 * The board's vCPU for the software modes ('trap'; 'bt' when the
 * translator is given): the software monitor (monitor.ts) is the processor's
 * seam, so there are no VM exits to dispatch: the processor runs the guest
 * and every event goes through the monitor as it happens. This loop only
 * turns the processor's stop codes and the monitor's stop reason into the
 * board's VcpuRun, and keeps host time (all of it counts as guest time: the
 * monitor's handlers run inside the processor's run). While the guest is in
 * real mode or 16-bit code it runs the monitor's emulator instead
 * (realModeEmulator.ts), and it makes the hand-over the monitor asked for
 * (monitor.emulatorRequest) once the processor has stopped.
 */
import { STOP_BUDGET, STOP_HALT, STOP_REQUEST, STOP_SHUTDOWN, type Cpu } from '../../cpu/cpu.ts';
import { CS, IF } from '../../cpu/regs.ts';
import type { EntryState } from '../../machine/boot/entryState.ts';
import type { HypervisorCounters } from '../counters.ts';
import type { Vcpu, VcpuRun, VcpuStop } from '../vcpuRun.ts';
import { SoftwareMonitor, type MonitorDomain } from './monitor.ts';
import { RealModeEmulator, type GuestDevices } from './realModeEmulator.ts';
import type { Translator } from './translatorHook.ts';

export class SoftwareVcpu implements Vcpu {
  readonly cpu: Cpu;
  readonly monitor: SoftwareMonitor;
  readonly counters: HypervisorCounters;
  /** Runs the guest's real-mode and 16-bit code (realModeEmulator.ts); null without the domain's devices (monitor-only tests). */
  readonly emulator: RealModeEmulator | null;

  constructor(cpu: Cpu, domain: MonitorDomain, counters: HypervisorCounters, translator: Translator | null = null, devices: GuestDevices | null = null) {
    this.cpu = cpu;
    this.counters = counters;
    this.monitor = new SoftwareMonitor(cpu, domain, translator);
    this.emulator = devices === null ? null : new RealModeEmulator(this.monitor, devices);
    this.monitor.emulatorAvailable = this.emulator !== null;
  }

  /** The processor holding the guest now: the emulator's in real mode, else the monitor's. */
  private get guestCpu(): Cpu {
    return this.emulator?.active ? this.emulator.cpu : this.cpu;
  }

  startAtEntry(e: EntryState): void {
    if (this.emulator) this.emulator.active = false;
    this.monitor.start({
      gdtBase: e.gdtBase, gdtLimit: e.gdtLimit, cs: e.cs, ss: e.ss, ds: e.ds, es: e.es, fs: e.fs, gs: e.gs,
      eip: e.eip, esp: e.esp, eflags: e.eflags,
      regs: [e.eax, e.ecx, e.edx, e.ebx, e.esp, e.ebp, e.esi, e.edi],
    });
  }

  startAtReset(signature: number): void {
    if (this.emulator === null) throw new Error('the software monitor runs real mode in its emulator, which needs the domain\'s devices');
    this.emulator.startAtReset(signature);
  }

  requestStop(): void {
    this.cpu.requestStop();
    this.emulator?.cpu.requestStop();
  }

  report(message: string): VcpuStop {
    const cpu = this.guestCpu;
    return { kind: 'error', message, cs: cpu.segSel[CS], eip: cpu.eip };
  }

  run(budget: number): VcpuRun {
    const stopped = this.stopped();
    if (stopped !== null) return stopped;
    const start = performance.now();
    const emulating = this.emulator?.active === true;
    let code = emulating ? this.emulator!.run(Math.max(1, budget)) : this.cpu.run(Math.max(1, budget));
    const m = this.monitor;
    const request = m.emulatorRequest;
    if (request !== null) {
      // The guest cleared CR0.PE, met an event in 16-bit code, or went where ring compression cannot run it (monitor.ts stopped the processor).
      m.emulatorRequest = null;
      if (this.emulator === null) m.stop('the guest left what ring compression runs (real mode, 16-bit code, code in the top of memory), and this monitor has no emulator for it');
      else {
        this.emulator.enterFromMonitor(request.event);
        if (code === STOP_REQUEST) code = STOP_BUDGET;
      }
    }
    this.counters.addGuestMs(performance.now() - start);
    this.counters.shadowPaging(this.monitor.shadow.counters);
    const after = this.stopped();
    if (after !== null) return after;
    const cpu = emulating ? this.emulator!.cpu : this.cpu;
    if (code === STOP_BUDGET) return { kind: 'budget' };
    if (code === STOP_REQUEST) return { kind: 'request' };
    // In the emulator HLT is the guest's own: with IF = 0 nothing wakes it, and the VM stops as on the bare PC.
    if (code === STOP_HALT && emulating && (cpu.flags & IF) === 0) return { kind: 'stopped', reason: { kind: 'halt', cs: cpu.segSel[CS], eip: cpu.eip >>> 0 } };
    if (code === STOP_HALT) return { kind: 'halted' };
    if (code === STOP_SHUTDOWN) {
      return { kind: 'stopped', reason: { kind: 'shutdown', cs: cpu.segSel[CS], eip: cpu.eip, detail: cpu.shutdownDetail ?? 'shutdown' } };
    }
    return { kind: 'stopped', reason: this.report(`the processor stopped with code ${code}`) };
  }

  private stopped(): VcpuRun | null {
    const s = this.monitor.stopReason;
    if (s === null) return null;
    if (s.kind === 'halt') return { kind: 'stopped', reason: { kind: 'halt', cs: this.guestCpu.segSel[CS], eip: this.guestCpu.eip } };
    return { kind: 'stopped', reason: this.report(s.message) };
  }
}
