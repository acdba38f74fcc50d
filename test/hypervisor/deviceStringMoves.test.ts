/**
 * String moves on device memory under the hypervisor: REP STOS, REP MOVS
 * (device to device, device to RAM, RAM to device) and LODS on the VGA's
 * memory window, with DF clear and set, as a VGA BIOS scrolls its text
 * screen. Under VT-x and AMD-V, with nested paging and on shadow page
 * tables, every one reaches the MMIO emulator (core/hypervisor/exits/mmio.ts)
 * through the vendor's memory exit, which hands it the guest's segments,
 * flags and paging; the guest must end exactly as on the bare PC.
 */
import { describe, expect, it } from 'vitest';
import { createMachine } from '../../core/machine/machine.ts';
import type { MachineOptions, RunResult } from '../../core/machine/types.ts';
import { assemble } from '../../scripts/nasm.ts';

const KERNELS = new URL('../machine/kernels', import.meta.url).pathname;

/** A Multiboot kernel (32-bit entry, paging off) that reports bytes on port 0x190. */
const KERNEL = assemble(
  [
    'bits 32', 'org 0x100000', '%include "multiboot.inc"', 'MULTIBOOT_HEADER 0x00010000, start', 'start:',
    '    cld',
    '    mov edi, 0xb8000', // REP STOSD into device memory
    '    mov eax, 0x44434241',
    '    mov ecx, 4',
    '    rep stosd',
    '    mov esi, 0xb8000', // REP MOVSW device -> device
    '    mov edi, 0xb8010',
    '    mov ecx, 8',
    '    rep movsw',
    '    mov esi, message', // REP MOVSB RAM -> device
    '    mov edi, 0xb8020',
    '    mov ecx, 8',
    '    rep movsb',
    '    std', // REP STOSW downwards, DF set
    '    mov edi, 0xb802e',
    '    mov ax, 0x5a59',
    '    mov ecx, 4',
    '    rep stosw',
    '    cld',
    '    mov esi, 0xb8000', // REP MOVSD device -> RAM
    '    mov edi, 0x200000',
    '    mov ecx, 12',
    '    rep movsd',
    '    mov esi, 0x200000', // report the 48 bytes from RAM
    '    mov ecx, 48',
    '    mov dx, 0x190',
    '    rep outsb',
    '    mov esi, 0xb8021', // LODSB from device memory
    '    lodsb',
    '    out dx, al',
    '    mov eax, esi', // ESI moved on by one
    '    out dx, al',
    '    cli',
    '    hlt',
    'message: db "popek!", 13, 10',
  ].join('\n'),
  [KERNELS],
  {},
);

function run(options: Partial<MachineOptions>): { result: RunResult; ports: number[] } {
  const ports: number[] = [];
  const machine = createMachine(
    { memoryMiB: 16, clock: 'deterministic', kernel: KERNEL, vga: true, logPorts: [0x190], ...options } as MachineOptions,
    { onPortByte: (_p, b) => ports.push(b) },
  );
  let result: RunResult = { kind: 'running' };
  for (let i = 0; i < 400 && result.kind === 'running'; i++) result = machine.run(50);
  return { result, ports };
}

const bytes = (s: string) => [...s].map((c) => c.charCodeAt(0));
const EXPECTED = [
  ...bytes('ABCD'.repeat(4)), // STOSD
  ...bytes('ABCD'.repeat(4)), // MOVSW copy
  ...bytes('popek!\r\n'), ...bytes('YZYZYZYZ'), // MOVSB, then STOSW with DF set from 2E down to 28
  0x6f, // LODSB of 'o'
  0x22, // ESI's low byte after it: 0xb8022
];

describe('string moves on device memory', () => {
  const none = run({ acceleration: 'none' });

  it('on the bare PC, the VGA memory holds what the guest moved there', () => {
    expect(none.result).toMatchObject({ kind: 'stopped', reason: { kind: 'halt' } });
    expect(none.ports).toEqual(EXPECTED);
  });

  it.each([
    { title: 'VT-x with EPT', options: { acceleration: 'vtx' } },
    { title: 'VT-x on shadow page tables', options: { acceleration: 'vtx', nestedPaging: false } },
    { title: 'AMD-V with nested paging', options: { acceleration: 'svm' } },
    { title: 'AMD-V on shadow page tables', options: { acceleration: 'svm', nestedPaging: false } },
  ] as { title: string; options: Partial<MachineOptions> }[])('under $title, as on the bare PC', ({ options }) => {
    const m = run(options);
    expect(m.result).toEqual(none.result);
    expect(m.ports).toEqual(EXPECTED);
  });
});
