/**
 * The 'vtx' board with small guests: each runs as a domain under the
 * hypervisor and must end exactly as it does on the bare emulated PC ('none'),
 * with the exits that explain how it got there. Covers the real-mode reset
 * start of a firmware ROM (unrestricted guest), the 32-bit boot-protocol
 * entry, timer interrupts injected into a halted vCPU, power-off, guest
 * reboot, triple fault, and the MMIO emulation of guest accesses to
 * guest-physical memory with no RAM behind it.
 */
import { describe, expect, it } from 'vitest';
import * as F from '../../core/cpu/vmx/vmcsFields.ts';
import { createMachine } from '../../core/machine/machine.ts';
import type { Acceleration } from '../../core/machine/acceleration.ts';
import type { MachineApi, MachineOptions, RunResult } from '../../core/machine/types.ts';
import { assemble } from '../../scripts/nasm.ts';
import { assembleKernel } from '../machine/assembleKernel.ts';

function runToStop(machine: MachineApi, maxSlices = 400): RunResult {
  let result: RunResult = { kind: 'running' };
  for (let i = 0; i < maxSlices && result.kind === 'running'; i++) result = machine.run(50);
  return result;
}

/** Runs the same guest in both modes; returns each mode's stop, COM1 output and logged port bytes. */
function both(options: Omit<MachineOptions, 'clock' | 'acceleration'>) {
  const run = (acceleration: Acceleration) => {
    let out = '';
    const ports: number[] = [];
    const machine = createMachine(
      { clock: 'deterministic', acceleration, ...options },
      { onSerialOutput: (p, b) => p === 0 && (out += new TextDecoder().decode(b)), onPortByte: (_p, b) => ports.push(b) },
    );
    const result = runToStop(machine);
    return { result, out, ports, stats: machine.stats() };
  };
  return { none: run('none'), vtx: run('vtx') };
}

/** A Multiboot kernel of these instruction lines at its 32-bit entry. */
function multiboot(lines: string[]): Uint8Array {
  const source = ['bits 32', 'org 0x100000', '%include "multiboot.inc"', 'MULTIBOOT_HEADER 0x00010000, start', 'start:', ...lines].join('\n');
  return assemble(source, [new URL('../machine/kernels', import.meta.url).pathname], {});
}

const exits = (s: { hypervisor?: { exitsByReason: number[] } }, reason: number) => s.hypervisor!.exitsByReason[reason];

describe("the 'vtx' board", () => {
  it('starts a firmware ROM at the reset vector F000:FFF0 in real mode, as an unrestricted guest', () => {
    const rom = new Uint8Array(64 * 1024);
    // mov al, 0x55; mov dx, 0x190; out dx, al; cli; hlt
    rom.set([0xb0, 0x55, 0xba, 0x90, 0x01, 0xee, 0xfa, 0xf4], 0xfff0);
    const { none, vtx } = both({ memoryMiB: 4, rom, logPorts: [0x190] });
    expect(vtx.result).toEqual({ kind: 'stopped', reason: { kind: 'halt', cs: 0xf000, eip: 0xfff8 } });
    expect(vtx.result).toEqual(none.result);
    expect(vtx.ports).toEqual([0x55]);
    expect(exits(vtx.stats, F.EXIT_REASON_IO_INSTRUCTION)).toBe(1);
    expect(exits(vtx.stats, F.EXIT_REASON_HLT)).toBe(1);
    expect(vtx.stats.hypervisor!.ioExitsByPort).toEqual({ 0x190: 1 });
    expect(none.stats.hypervisor).toBeUndefined();
  });

  it('enters a Multiboot kernel at its 32-bit entry; it prints on COM1 and powers off through ACPI', () => {
    const { none, vtx } = both({ memoryMiB: 16, kernel: assembleKernel('multibootHello') });
    expect(vtx.result).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
    expect(vtx.out).toBe(`Hello from Multiboot, mem_upper=0x${(16 * 1024 - 1024 - 64).toString(16).padStart(8, '0')}\n`);
    expect(vtx.out).toBe(none.out);
    expect(vtx.stats.hypervisor!.ioExitsByPort[0x3f8]).toBe(vtx.out.length);
  });

  it('stops where the bare machine stops when the guest halts with interrupts off', () => {
    const { none, vtx } = both({ memoryMiB: 16, kernel: assembleKernel('haltNoInterrupts'), logPorts: [0x190] });
    expect(vtx.result).toEqual({ kind: 'stopped', reason: { kind: 'halt', cs: 0x10, eip: 0x100044 } });
    expect(vtx.result).toEqual(none.result);
    expect(vtx.ports).toEqual(none.ports);
  });

  it('wakes a halted vCPU with injected timer interrupts, skipping the idle time on the deterministic clock', () => {
    const { none, vtx } = both({ memoryMiB: 16, kernel: assembleKernel('timerTicks') });
    expect(vtx.result).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
    expect(vtx.out).toBe('ticks');
    expect(vtx.out).toBe(none.out);
    const h = vtx.stats.hypervisor!;
    expect(exits(vtx.stats, F.EXIT_REASON_HLT)).toBeGreaterThanOrEqual(10);
    expect(h.injectedInterrupts).toBeGreaterThanOrEqual(10);
    expect(h.entries).toBe(h.exitsByReason.reduce((a, b) => a + b, 0));
  });

  it('restarts the domain on a guest reset (0xCF9) until the guest powers off', () => {
    const { none, vtx } = both({ memoryMiB: 16, kernel: assembleKernel('rebootCounter') });
    expect(vtx.result).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
    expect(vtx.out).toBe(none.out);
  });

  it("takes the vCPU out of the guest for the host's reset button, and the guest starts over", () => {
    let out = '';
    const machine = createMachine(
      { memoryMiB: 16, clock: 'deterministic', acceleration: 'vtx', kernel: assembleKernel('spin') },
      { onSerialOutput: (_p, b) => (out += new TextDecoder().decode(b)) },
    );
    expect(machine.run(20)).toEqual({ kind: 'running' });
    const spun = machine.stats().instructions;
    expect(spun).toBeGreaterThan(1000);
    machine.reset(); // the processor is in the guest, spinning: the hypervisor kicks it out first
    expect(machine.run(20)).toEqual({ kind: 'running' });
    const h = machine.stats().hypervisor!;
    expect(h.exitsByReason[F.EXIT_REASON_EXTERNAL_INTERRUPT]).toBe(1); // the kick
    expect(h.entries).toBe(2); // the first launch and the launch after the reset
    expect(machine.stats().instructions).toBeGreaterThan(spun);
    expect(out).toBe('');
  });

  it('refuses, before allocating anything, a guest whose RAM leaves no room for the hypervisor in machine memory', () => {
    expect(() => createMachine({ memoryMiB: 1792, clock: 'deterministic', acceleration: 'vtx', kernel: assembleKernel('spin') }, {})).toThrow(
      "under VT-x the guest's RAM and the hypervisor's own memory must fit in 1792 MiB of machine memory: at most 1788 MiB of RAM",
    );
  });

  it('stops the VM with a report on a triple fault in the guest', () => {
    const { vtx } = both({ memoryMiB: 16, kernel: assembleKernel('tripleFault') });
    expect(vtx.result).toEqual({
      kind: 'stopped',
      reason: { kind: 'shutdown', cs: 0x10, eip: 0x100027, detail: 'triple fault in the guest (VM exit: TRIPLE_FAULT)' },
    });
    expect(exits(vtx.stats, F.EXIT_REASON_TRIPLE_FAULT)).toBe(1);
  });

  it('emulates MOV forms on guest-physical memory with nothing behind it as the bare PC does: open-bus reads, dropped writes', () => {
    const kernel = multiboot([
      '    mov eax, [0xfee00000]', // open bus: all ones
      '    mov dx, 0x190',
      '    out dx, al',
      '    mov ebx, 0x12345678',
      '    mov bx, [0xfee00004]', // a 16-bit load keeps the upper half
      '    mov al, bh',
      '    out dx, al',
      '    shr ebx, 24',
      '    mov al, bl',
      '    out dx, al',
      '    movzx ecx, byte [0xfee00008]',
      '    mov al, ch',
      '    out dx, al',
      '    mov byte [0xfee00000], 0x12', // nothing there: the write goes nowhere
      '    mov [0xfee00000], eax',
      '    cli',
      '    hlt',
    ]);
    const { none, vtx } = both({ memoryMiB: 16, kernel, logPorts: [0x190] });
    expect(vtx.result).toEqual(none.result);
    expect(vtx.result).toMatchObject({ kind: 'stopped', reason: { kind: 'halt' } });
    expect(none.ports).toEqual([0xff, 0xff, 0x12, 0x00]);
    expect(vtx.ports).toEqual(none.ports);
    expect(vtx.stats.hypervisor!.eptViolations).toBe(5);
  });

  it('stops the VM with the instruction named when it is not one the MMIO emulator handles', () => {
    const kernel = multiboot(['    add [0xfee00000], eax', '    cli', '    hlt']);
    const { vtx } = both({ memoryMiB: 16, kernel });
    if (vtx.result.kind !== 'stopped' || vtx.result.reason.kind !== 'error') throw new Error(JSON.stringify(vtx.result));
    expect(vtx.result.reason.message).toBe('cannot emulate the access to guest-physical 0xfee00000: opcode 01 is not emulated on device memory');
  });

  it('stops the VM with the address when the guest executes from guest-physical memory with nothing behind it', () => {
    const kernel = multiboot(['    jmp 0xfee00000']);
    const { vtx } = both({ memoryMiB: 16, kernel });
    if (vtx.result.kind !== 'stopped' || vtx.result.reason.kind !== 'error') throw new Error(JSON.stringify(vtx.result));
    expect(vtx.result.reason.message).toBe('guest instruction fetch at guest-physical 0xfee00000, which has no RAM');
  });
});
