import { describe, expect, it } from 'vitest';
import { createMachine } from '../../core/machine/machine.ts';
import type { MachineApi, RunResult } from '../../core/machine/types.ts';
import { assembleKernel } from './assembleKernel.ts';
import { fakeBzImage } from './boot/fakeBzImage.ts';

/** Runs until the machine stops or `maxSlices` slices pass. */
function runToStop(machine: MachineApi, maxSlices = 200): RunResult {
  let result: RunResult = { kind: 'running' };
  for (let i = 0; i < maxSlices && result.kind === 'running'; i++) result = machine.run(50);
  return result;
}

describe('machine with a Multiboot test kernel', () => {
  it('stops with halt at the HLT when interrupts are disabled, and reports logged port bytes', () => {
    const bytes: number[] = [];
    const machine = createMachine(
      { memoryMiB: 16, clock: 'deterministic', kernel: assembleKernel('haltNoInterrupts'), logPorts: [0x190] },
      { onPortByte: (port, byte) => port === 0x190 && bytes.push(byte) },
    );
    const result = runToStop(machine);
    expect(result).toEqual({ kind: 'stopped', reason: { kind: 'halt', cs: 0x10, eip: 0x100044 } }); // EIP after the HLT, as the CPU holds it
    expect(bytes).toEqual([0x00, 0x00, 0x01, 0x00]); // EBX = 0x10000, the Multiboot info
    expect(machine.stats().instructions).toBeGreaterThan(10);
  });

  it('keeps reporting the stop reason on further run() calls and restarts on reset()', () => {
    const bytes: number[] = [];
    const machine = createMachine(
      { memoryMiB: 16, clock: 'deterministic', kernel: assembleKernel('haltNoInterrupts'), logPorts: [0x190] },
      { onPortByte: (_port, byte) => bytes.push(byte) },
    );
    const first = runToStop(machine);
    expect(machine.run(10)).toEqual(first);
    machine.reset();
    expect(runToStop(machine)).toEqual(first);
    expect(bytes).toEqual([0, 0, 1, 0, 0, 0, 1, 0]);
  });
});

describe('machine: serial console, power-off and resets', () => {
  function serialMachine(kernel: Uint8Array, noReboot = false) {
    let out = '';
    const machine = createMachine(
      { memoryMiB: 16, clock: 'deterministic', kernel, noReboot },
      { onSerialOutput: (port, bytes) => port === 0 && (out += new TextDecoder().decode(bytes)) },
    );
    return { machine, output: () => out };
  }

  it('prints on COM1 and powers off through ACPI PM1a_CNT (S5)', () => {
    const { machine, output } = serialMachine(assembleKernel('multibootHello'));
    expect(runToStop(machine)).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
    // mem_upper = 16 MiB - 1 MiB - 64 KiB ACPI area, in KiB
    expect(output()).toBe(`Hello from Multiboot, mem_upper=0x${((16 * 1024 - 1024 - 64) >>> 0).toString(16).padStart(8, '0')}\n`);
  });

  it('restarts on a 0xCF9 reset, reloading the kernel, until the guest powers off', () => {
    const { machine, output } = serialMachine(assembleKernel('rebootCounter'));
    expect(runToStop(machine)).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
    expect(output()).toBe('123');
  });

  it('stops with reason reset on a 0xCF9 reset when told not to reboot', () => {
    const { machine, output } = serialMachine(assembleKernel('rebootCounter'), true);
    expect(runToStop(machine)).toEqual({ kind: 'stopped', reason: { kind: 'reset', cause: 'port 0xCF9 hard reset' } });
    expect(output()).toBe('1');
  });

  it('stops with reason reset on a port 0x92 fast reset when told not to reboot', () => {
    const { machine } = serialMachine(assembleKernel('rebootCounter', ['RESET_VIA_PORT92']), true);
    expect(runToStop(machine)).toEqual({ kind: 'stopped', reason: { kind: 'reset', cause: 'port 0x92 fast reset' } });
  });

  it('reboots through the keyboard controller (0xFE) until the guest powers off', () => {
    const { machine, output } = serialMachine(assembleKernel('rebootCounter', ['RESET_VIA_KBC']));
    expect(runToStop(machine)).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
    expect(output()).toBe('123');
  });
});

describe('machine: time and events', () => {
  it('skips halted time on the deterministic clock: 10 PIT ticks at 100 Hz cost a few hundred instructions', () => {
    let out = '';
    const machine = createMachine(
      { memoryMiB: 16, clock: 'deterministic', kernel: assembleKernel('timerTicks') },
      { onSerialOutput: (_port, bytes) => (out += new TextDecoder().decode(bytes)) },
    );
    expect(runToStop(machine)).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
    expect(out).toBe('ticks');
    const stats = machine.stats();
    expect(stats.interrupts).toBe(10);
    expect(stats.exceptions).toBe(0);
    expect(stats.instructions).toBeLessThan(1000);
    expect(stats.guestNs).toBeGreaterThanOrEqual(9 * 11932 * (1e9 / 1_193_182));
    expect(stats.guestNs).toBeLessThan(11 * 11932 * (1e9 / 1_193_182));
  });

  it('delivers the power button to the guest through PM1_STS', () => {
    let out = '';
    const machine = createMachine(
      { memoryMiB: 16, clock: 'deterministic', kernel: assembleKernel('powerButton') },
      { onSerialOutput: (_port, bytes) => (out += new TextDecoder().decode(bytes)) },
    );
    expect(machine.run(5)).toEqual({ kind: 'running' });
    machine.powerButton();
    expect(runToStop(machine)).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
    expect(out).toBe('button');
  });

  it('returns from run() at once when the guest waits in HLT with nothing scheduled (deterministic)', () => {
    const machine = createMachine({ memoryMiB: 16, clock: 'deterministic', kernel: assembleKernel('idle') }, {});
    expect(machine.run(50)).toEqual({ kind: 'running' });
    const before = machine.stats();
    expect(machine.run(50)).toEqual({ kind: 'running' });
    expect(machine.stats().instructions).toBe(before.instructions);
    expect(machine.stats().guestNs).toBe(before.guestNs);
  });
});

describe('machine booting a firmware ROM', () => {
  it('starts at the reset vector F000:FFF0 in real mode', () => {
    const rom = new Uint8Array(64 * 1024);
    // mov al, 0x55; mov dx, 0x190; out dx, al; cli; hlt
    rom.set([0xb0, 0x55, 0xba, 0x90, 0x01, 0xee, 0xfa, 0xf4], 0xfff0);
    const bytes: number[] = [];
    const machine = createMachine(
      { memoryMiB: 4, clock: 'deterministic', rom, logPorts: [0x190] },
      { onPortByte: (_port, byte) => bytes.push(byte) },
    );
    expect(runToStop(machine)).toEqual({ kind: 'stopped', reason: { kind: 'halt', cs: 0xf000, eip: 0xfff8 } });
    expect(bytes).toEqual([0x55]);
  });
});

describe('machine construction errors', () => {
  it('rejects a kernel that is neither bzImage nor Multiboot', () => {
    expect(() => createMachine({ memoryMiB: 16, clock: 'deterministic', kernel: new Uint8Array(1024) }, {})).toThrow(
      'not a kernel Popek can boot: no bzImage HdrS signature and no Multiboot header',
    );
  });

  it('rejects an initrd that does not fit', () => {
    expect(() =>
      createMachine({ memoryMiB: 4, clock: 'deterministic', kernel: fakeBzImage(), initrd: new Uint8Array(4 * 1024 * 1024) }, {}),
    ).toThrow(/too little memory for the initrd/);
  });

  it('rejects logging a port a device owns', () => {
    expect(() => createMachine({ memoryMiB: 16, clock: 'deterministic', kernel: fakeBzImage(), logPorts: [0x40] }, {})).toThrow(
      /cannot log I\/O port 0x40/,
    );
  });
});
