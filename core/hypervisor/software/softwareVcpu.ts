/**
 * The board's vCPU for the software modes ('trap' today; 'bt' when the
 * translator is given): the software monitor (monitor.ts) is the processor's
 * seam, so there are no VM exits to dispatch: the processor runs the guest
 * and every event goes through the monitor as it happens. This loop only
 * turns the processor's stop codes and the monitor's stop reason into the
 * board's VcpuRun, and keeps host time (all of it counts as guest time: the
 * monitor's handlers run inside the processor's run).
 */
import { STOP_BUDGET, STOP_HALT, STOP_REQUEST, STOP_SHUTDOWN, type Cpu } from '../../cpu/cpu.ts';
import { CS } from '../../cpu/regs.ts';
import type { EntryState } from '../../machine/boot/entryState.ts';
import type { HypervisorCounters } from '../counters.ts';
import type { Vcpu, VcpuRun, VcpuStop } from '../vcpuRun.ts';
import { SoftwareMonitor, type MonitorDomain } from './monitor.ts';
import type { Translator } from './translatorHook.ts';

export class SoftwareVcpu implements Vcpu {
  readonly cpu: Cpu;
  readonly monitor: SoftwareMonitor;
  readonly counters: HypervisorCounters;

  constructor(cpu: Cpu, domain: MonitorDomain, counters: HypervisorCounters, translator: Translator | null = null) {
    this.cpu = cpu;
    this.counters = counters;
    this.monitor = new SoftwareMonitor(cpu, domain, translator);
  }

  startAtEntry(e: EntryState): void {
    this.monitor.start({
      gdtBase: e.gdtBase, gdtLimit: e.gdtLimit, cs: e.cs, ss: e.ss, ds: e.ds, es: e.es, fs: e.fs, gs: e.gs,
      eip: e.eip, esp: e.esp, eflags: e.eflags,
      regs: [e.eax, e.ecx, e.edx, e.ebx, e.esp, e.ebp, e.esi, e.edi],
    });
  }

  startAtReset(): void {
    throw new Error('the software monitor runs protected-mode kernels only: real mode (firmware) is not supported');
  }

  requestStop(): void {
    this.cpu.requestStop();
  }

  report(message: string): VcpuStop {
    return { kind: 'error', message, cs: this.cpu.segSel[CS], eip: this.cpu.eip };
  }

  run(budget: number): VcpuRun {
    const stopped = this.stopped();
    if (stopped !== null) return stopped;
    const start = performance.now();
    const code = this.cpu.run(Math.max(1, budget));
    this.counters.addGuestMs(performance.now() - start);
    this.counters.shadowPaging(this.monitor.shadow.counters);
    const after = this.stopped();
    if (after !== null) return after;
    if (code === STOP_BUDGET) return { kind: 'budget' };
    if (code === STOP_REQUEST) return { kind: 'request' };
    if (code === STOP_HALT) return { kind: 'halted' };
    if (code === STOP_SHUTDOWN) {
      return { kind: 'stopped', reason: { kind: 'shutdown', cs: this.cpu.segSel[CS], eip: this.cpu.eip, detail: this.cpu.shutdownDetail ?? 'shutdown' } };
    }
    return { kind: 'stopped', reason: this.report(`the processor stopped with code ${code}`) };
  }

  private stopped(): VcpuRun | null {
    const s = this.monitor.stopReason;
    if (s === null) return null;
    if (s.kind === 'halt') return { kind: 'stopped', reason: { kind: 'halt', cs: this.cpu.segSel[CS], eip: this.cpu.eip } };
    return { kind: 'stopped', reason: this.report(s.message) };
  }
}
