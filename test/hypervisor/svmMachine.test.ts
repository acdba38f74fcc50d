/**
 * The board with acceleration 'svm' and small guests: each runs as a domain
 * under the hypervisor on the AMD part's SVM and must end exactly as it does
 * on the bare emulated PC ('none'), with the exits (by EXITCODE) that
 * explain how it got there. Covers the real-mode reset start of a firmware
 * ROM under nested paging, the 32-bit boot-protocol entry, timer interrupts
 * injected into a halted vCPU, power-off, guest reboot, the host's reset
 * kick, triple fault, MMIO emulation from #NPF, the CPUID the guest sees, the
 * TSC offset, an interrupt delivered again after a hidden shadow page fault
 * (EXITINTINFO), and the same guests with nested paging off (shadow page
 * tables).
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as B from '../../core/cpu/svm/vmcb.ts';
import { createMachine } from '../../core/machine/machine.ts';
import type { MachineApi, MachineOptions, MachineStats, RunResult } from '../../core/machine/types.ts';
import { assemble } from '../../scripts/nasm.ts';
import { assembleKernel } from '../machine/assembleKernel.ts';

const MACHINE_KERNELS = join(import.meta.dirname, '../machine/kernels');

function runToStop(machine: MachineApi, maxSlices = 400): RunResult {
  let result: RunResult = { kind: 'running' };
  for (let i = 0; i < maxSlices && result.kind === 'running'; i++) result = machine.run(50);
  return result;
}

function run(options: Partial<MachineOptions>) {
  let out = '';
  const ports: number[] = [];
  const machine = createMachine(
    { memoryMiB: 16, clock: 'deterministic', ...options } as MachineOptions,
    { onSerialOutput: (p, b) => p === 0 && (out += new TextDecoder().decode(b)), onPortByte: (_p, b) => ports.push(b) },
  );
  const result = runToStop(machine);
  return { result, out, ports, stats: machine.stats() };
}

/** The guest on the bare PC, under SVM with nested paging, and (for a kernel) under SVM on shadow page tables. */
function modes(options: Partial<MachineOptions>) {
  return {
    none: run({ ...options, acceleration: 'none' }),
    svm: run({ ...options, acceleration: 'svm' }),
    shadow: options.kernel ? run({ ...options, acceleration: 'svm', nestedPaging: false }) : undefined,
  };
}

function multiboot(lines: string[]): Uint8Array {
  const source = ['bits 32', 'org 0x100000', '%include "multiboot.inc"', 'MULTIBOOT_HEADER 0x00010000, start', 'start:', ...lines].join('\n');
  return assemble(source, [MACHINE_KERNELS], {});
}

const exits = (s: MachineStats, code: number) => s.hypervisor!.exitsByReason[code];
const totalExits = (s: MachineStats) => s.hypervisor!.exitsByReason.reduce((a, b) => a + b, 0);

describe("the 'svm' board", () => {
  it('starts a firmware ROM at the reset vector F000:FFF0 in real mode, under nested paging', () => {
    const rom = new Uint8Array(64 * 1024);
    // mov al, 0x55; mov dx, 0x190; out dx, al; cli; hlt
    rom.set([0xb0, 0x55, 0xba, 0x90, 0x01, 0xee, 0xfa, 0xf4], 0xfff0);
    const { none, svm } = modes({ memoryMiB: 4, rom, logPorts: [0x190] });
    expect(svm.result).toEqual({ kind: 'stopped', reason: { kind: 'halt', cs: 0xf000, eip: 0xfff8 } });
    expect(svm.result).toEqual(none.result);
    expect(svm.ports).toEqual([0x55]);
    expect(svm.stats.hypervisor!.vendor).toBe('svm');
    expect(exits(svm.stats, B.VMEXIT_IOIO)).toBe(1);
    expect(exits(svm.stats, B.VMEXIT_HLT)).toBe(1);
    expect(totalExits(svm.stats)).toBe(2);
    expect(svm.stats.hypervisor!.ioExitsByPort).toEqual({ 0x190: 1 });
  });

  it('enters a Multiboot kernel at its 32-bit entry; it prints on COM1 and powers off through ACPI', () => {
    const { none, svm, shadow } = modes({ kernel: assembleKernel('multibootHello') });
    expect(svm.result).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
    expect(svm.out).toBe(`Hello from Multiboot, mem_upper=0x${(16 * 1024 - 1024 - 64).toString(16).padStart(8, '0')}\n`);
    expect(svm.out).toBe(none.out);
    expect(shadow!.out).toBe(none.out);
    expect(shadow!.result).toEqual(svm.result);
    expect(svm.stats.hypervisor!.ioExitsByPort[0x3f8]).toBe(svm.out.length);
  });

  it('stops where the bare machine stops when the guest halts with interrupts off', () => {
    const { none, svm, shadow } = modes({ kernel: assembleKernel('haltNoInterrupts'), logPorts: [0x190] });
    expect(svm.result).toEqual({ kind: 'stopped', reason: { kind: 'halt', cs: 0x10, eip: 0x100044 } });
    expect(svm.result).toEqual(none.result);
    expect(shadow!.result).toEqual(none.result);
    expect(svm.ports).toEqual(none.ports);
  });

  it('wakes a halted vCPU with timer interrupts injected through EVENTINJ, skipping the idle time on the deterministic clock', () => {
    const { none, svm, shadow } = modes({ kernel: assembleKernel('timerTicks') });
    for (const m of [svm, shadow!]) {
      expect(m.result).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
      expect(m.out).toBe(none.out);
      const h = m.stats.hypervisor!;
      expect(exits(m.stats, B.VMEXIT_HLT)).toBeGreaterThanOrEqual(10);
      expect(h.injectedInterrupts).toBeGreaterThanOrEqual(10);
      expect(h.entries).toBe(totalExits(m.stats));
    }
    expect(svm.out).toBe('ticks');
  });

  it('restarts the domain on a guest reset (0xCF9) until the guest powers off', () => {
    const { none, svm, shadow } = modes({ kernel: assembleKernel('rebootCounter') });
    expect(svm.result).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
    expect(svm.out).toBe(none.out);
    expect(shadow!.out).toBe(none.out);
  });

  it("takes the vCPU out of the guest for the host's reset button (an INTR exit), and the guest starts over", () => {
    const machine = createMachine({ memoryMiB: 16, clock: 'deterministic', acceleration: 'svm', kernel: assembleKernel('spin') }, {});
    expect(machine.run(20)).toEqual({ kind: 'running' });
    const spun = machine.stats().instructions;
    expect(spun).toBeGreaterThan(1000);
    machine.reset(); // the processor is in the guest, spinning: the hypervisor kicks it out first
    expect(machine.run(20)).toEqual({ kind: 'running' });
    const s = machine.stats();
    expect(exits(s, B.VMEXIT_INTR)).toBe(1); // the kick
    expect(s.hypervisor!.entries).toBe(2); // the first VMRUN and the one after the reset
    expect(s.instructions).toBeGreaterThan(spun);
  });

  it('stops the VM with a report on a triple fault in the guest (shutdown intercept)', () => {
    const { svm, shadow } = modes({ kernel: assembleKernel('tripleFault') });
    const shutdown = { kind: 'stopped', reason: { kind: 'shutdown', cs: 0x10, eip: 0x100027, detail: 'triple fault in the guest (#VMEXIT: SHUTDOWN)' } };
    expect(svm.result).toEqual(shutdown);
    expect(shadow!.result).toEqual(shutdown);
    expect(exits(svm.stats, B.VMEXIT_SHUTDOWN)).toBe(1);
  });

  it('emulates MOV forms on guest-physical memory with nothing behind it (#NPF) as the bare PC does: open-bus reads, dropped writes', () => {
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
    const { none, svm, shadow } = modes({ kernel, logPorts: [0x190] });
    expect(none.ports).toEqual([0xff, 0xff, 0x12, 0x00]);
    for (const m of [svm, shadow!]) {
      expect(m.result).toEqual(none.result);
      expect(m.ports).toEqual(none.ports);
    }
    expect(svm.stats.hypervisor!.eptViolations).toBe(5);
    expect(exits(svm.stats, B.VMEXIT_NPF)).toBe(5);
    expect(shadow!.stats.hypervisor!.shadowPaging!.deviceFaults).toBe(5);
  });

  it('stops the VM with the address when the guest executes from guest-physical memory with nothing behind it', () => {
    const { svm } = modes({ kernel: multiboot(['    jmp 0xfee00000']) });
    if (svm.result.kind !== 'stopped' || svm.result.reason.kind !== 'error') throw new Error(JSON.stringify(svm.result));
    expect(svm.result.reason.message).toBe('guest instruction fetch at guest-physical 0xfee00000, which has no RAM');
  });

  it('gives the guest the AMD part with SVM hidden: hypervisor bit set, 8000_0001h ECX.SVM clear, 8000_000Ah zero, Popek at 4000_0000h', () => {
    // Each answer's interesting dword goes out on port 0x190, low byte first.
    let label = 0;
    const emit = (reg: string) => {
      const l = `.out${label++}`;
      return [`    mov eax, ${reg}`, '    mov dx, 0x190', '    mov ecx, 4', `${l}:`, '    out dx, al', '    shr eax, 8', `    loop ${l}`];
    };
    const kernel = multiboot([
      '    mov eax, 1', '    cpuid', ...emit('ecx'),
      '    mov eax, 0x80000001', '    cpuid', ...emit('ecx'),
      '    mov eax, 0x8000000a', '    cpuid', '    or eax, ebx', '    or eax, edx', ...emit('eax'),
      '    mov eax, 0x40000000', '    cpuid', ...emit('ebx'),
      '    mov eax, 0', '    cpuid', ...emit('ebx'),
      '    cli', '    hlt',
    ]);
    const { svm } = modes({ kernel, logPorts: [0x190] });
    const dwords = Array.from({ length: 5 }, (_, i) => (svm.ports[4 * i] | (svm.ports[4 * i + 1] << 8) | (svm.ports[4 * i + 2] << 16) | (svm.ports[4 * i + 3] << 24)) >>> 0);
    expect(dwords[0] >>> 31).toBe(1); // CPUID.1:ECX.hypervisor
    expect(dwords[1] & 4).toBe(0); // 8000_0001h ECX.SVM hidden
    expect(dwords[2]).toBe(0); // SVM revision, ASIDs, features
    expect(String.fromCharCode(...svm.ports.slice(12, 16))).toBe('Pope');
    expect(String.fromCharCode(...svm.ports.slice(16, 20))).toBe('Auth'); // AuthenticAMD
    expect(exits(svm.stats, B.VMEXIT_CPUID)).toBe(5);
  });

  it('moves the guest TSC by the VMCB TSC offset when the guest writes IA32_TIME_STAMP_COUNTER (RDTSC and RDMSR agree)', () => {
    // WRMSR TSC = 0x123_00000000, then RDTSC (not intercepted: the processor adds TSC_OFFSET) and RDMSR (an MSR exit);
    // each EDX goes out on port 0x190, low byte first.
    const kernel = multiboot([
      '    mov ecx, 0x10', '    xor eax, eax', '    mov edx, 0x123', '    wrmsr',
      '    rdtsc', '    mov ebx, edx', '    mov dx, 0x190', '    mov al, bl', '    out dx, al', '    mov al, bh', '    out dx, al',
      '    mov ecx, 0x10', '    rdmsr', '    mov ebx, edx', '    mov dx, 0x190', '    mov al, bl', '    out dx, al', '    mov al, bh', '    out dx, al',
      '    cli', '    hlt',
    ]);
    const { none, svm } = modes({ kernel, logPorts: [0x190] });
    expect(none.ports).toEqual([0x23, 0x01, 0x23, 0x01]);
    expect(svm.ports).toEqual(none.ports);
    expect(exits(svm.stats, B.VMEXIT_MSR)).toBe(2);
  });

  it('runs a probe of the guest paging on shadow page tables exactly as the bare PC does, reading back its own CR0/CR3/CR4', () => {
    const kernel = assemble(readFileSync(join(import.meta.dirname, 'shadow/kernels/shadowProbe.asm'), 'utf8'), [MACHINE_KERNELS]);
    const bare = run({ kernel, logPorts: [0x190], acceleration: 'none' });
    const shadow = run({ kernel, logPorts: [0x190], acceleration: 'svm', nestedPaging: false });
    expect(shadow.ports).toEqual(bare.ports);
    expect(shadow.result).toEqual(bare.result);
    const h = shadow.stats.hypervisor!;
    const s = h.shadowPaging!;
    expect(s.reflectedFaults).toBe(2);
    expect(s.hiddenFaults + s.reflectedFaults + s.deviceFaults).toBe(exits(shadow.stats, B.VMEXIT_EXCP_BASE + 14));
    expect(s.invlpgs).toBe(1);
    expect(exits(shadow.stats, B.VMEXIT_INVLPG)).toBe(1);
    expect(s.cr3Switches).toBe(3); // the boot entry's CR3 = 0, and the guest's two loads
    expect(exits(shadow.stats, B.VMEXIT_CR0_WRITE + 3)).toBe(2);
    expect(h.eptViolations).toBe(0);
  });

  it('delivers again an interrupt whose delivery a hidden shadow page fault cut short (EXITINTINFO -> EVENTINJ)', () => {
    // Paging on (one 4 MiB identity page), then before each HLT the stack moves to a page nothing has touched:
    // the timer interrupt's delivery is the first write there, a #PF the shadows hide, with the interrupt in
    // EXITINTINFO. Lost instead of delivered again, the tick would leave IRQ0 in service and the guest asleep.
    const kernel = multiboot([
      '    mov eax, timer_isr',
      '    mov [idt + 0x20 * 8], ax',
      '    mov word [idt + 0x20 * 8 + 2], 0x10',
      '    mov word [idt + 0x20 * 8 + 4], 0x8E00',
      '    shr eax, 16',
      '    mov [idt + 0x20 * 8 + 6], ax',
      '    lidt [idt_descriptor]',
      '    mov dword [0x300000], 0x83', // PDE 0: 4 MiB page at 0, present, writable
      '    mov eax, cr4',
      '    or eax, 0x10', // PSE
      '    mov cr4, eax',
      '    mov eax, 0x300000',
      '    mov cr3, eax',
      '    mov eax, cr0',
      '    or eax, 0x80000000',
      '    mov cr0, eax',
      '    mov al, 0x11', '    out 0x20, al', '    out 0xA0, al',
      '    mov al, 0x20', '    out 0x21, al', '    mov al, 0x28', '    out 0xA1, al',
      '    mov al, 0x04', '    out 0x21, al', '    mov al, 0x02', '    out 0xA1, al',
      '    mov al, 0x01', '    out 0x21, al', '    out 0xA1, al',
      '    mov al, 0xFE', '    out 0x21, al', '    mov al, 0xFF', '    out 0xA1, al',
      '    mov al, 0x34', '    out 0x43, al', '    mov al, 0x9c', '    out 0x40, al', '    mov al, 0x2e', '    out 0x40, al',
      'wait_tick:',
      '    mov esp, [ticks]',
      '    shl esp, 12',
      '    add esp, 0x201000', // the top of page 0x200000 + ticks * 4 KiB
      '    sti',
      '    hlt',
      '    cli',
      '    cmp dword [ticks], 10',
      '    jb wait_tick',
      '    mov esi, message',
      '    PRINT_THEN_POWEROFF',
      'timer_isr:',
      '    inc dword [ticks]',
      '    push eax',
      '    mov al, 0x20',
      '    out 0x20, al',
      '    pop eax',
      '    iret',
      'message: db "ticks", 0',
      'align 4',
      'ticks: dd 0',
      'idt_descriptor:',
      '    dw 0x21 * 8 - 1',
      '    dd idt',
      'align 8',
      'idt:',
      '    times 0x21 * 8 db 0',
    ]);
    const { none, svm, shadow } = modes({ kernel });
    expect(none.out).toBe('ticks');
    for (const m of [svm, shadow!]) {
      expect(m.result).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
      expect(m.out).toBe('ticks');
    }
    // Ten deliveries each began on an unshadowed stack page: ten hidden faults at least, and ten injections.
    const s = shadow!.stats.hypervisor!;
    expect(s.shadowPaging!.hiddenFaults).toBeGreaterThanOrEqual(10);
    expect(s.injectedInterrupts).toBe(10);
  });

  it('refuses a firmware guest with nested paging off, and a guest RAM that leaves no room for the hypervisor', () => {
    expect(() => createMachine({ memoryMiB: 4, clock: 'deterministic', rom: new Uint8Array(64 * 1024), acceleration: 'svm', nestedPaging: false }, {})).toThrow(
      'AMD-V without nested paging runs only a kernel (Linux or Multiboot) entered in protected mode: firmware starts in real mode, which would run paged on shadow page tables, and the processor refuses paged real mode',
    );
    expect(() => createMachine({ memoryMiB: 1792, clock: 'deterministic', acceleration: 'svm', kernel: assembleKernel('spin') }, {})).toThrow(
      "under AMD-V the guest's RAM and the hypervisor's own memory must fit in 1792 MiB of machine memory: at most 1788 MiB of RAM",
    );
  });
});
