/**
 * The VM's I/O APIC setting (VmConfig.apic) reaches the machine its worker
 * builds: a firmware ROM written here asks the processor (CPUID.1:EDX bit 9,
 * which the board sets only when it has the local APIC) and, when it says
 * yes, reads IA32_APIC_BASE (an MSR only the local APIC answers), and prints
 * what it found on COM1. The same ROM in a VM with the setting and in one
 * without (the default), both started by the host in their workers; and the
 * host refuses to change the setting of a VM that is not off.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VmConfigDraft } from '../../core/host/api.ts';
import { HostService } from '../../core/host/hostService.ts';
import { ACCELERATION_INFO } from '../../core/machine/acceleration.ts';
import { VmLibrary } from '../../core/host/library.ts';
import { assemble } from '../../scripts/nasm.ts';
import { vmDraft } from './fixtures/vmDraft.ts';

// A 64 KiB ROM: the reset vector (F000:FFF0, ROM offset 0xFFF0) jumps to the probe at its start.
const PROBE_ROM = assemble(`
bits 16
org 0
probe:
  mov si, cpuid_text
  call print
  mov eax, 1
  cpuid
  test edx, 1 << 9
  jz .none
  mov si, yes_text
  call print
  mov ecx, 0x1b            ; IA32_APIC_BASE
  rdmsr
  mov cx, 8                ; its low 32 bits as 8 hex digits
.digit:
  rol eax, 4
  mov bl, al
  and bl, 0x0f
  add bl, '0'
  cmp bl, '9'
  jbe .put
  add bl, 'A' - '9' - 1
.put:
  push eax
  mov al, bl
  call putc
  pop eax
  loop .digit
  mov al, 10
  call putc
  jmp $
.none:
  mov si, no_text
  call print
  jmp $

print:                     ; cs:si, NUL-terminated
  cs lodsb
  test al, al
  jz .done
  call putc
  jmp print
.done:
  ret

putc:
  mov dx, 0x3f8
  out dx, al
  ret

cpuid_text: db 'CPUID.1:EDX.APIC=', 0
yes_text: db '1 IA32_APIC_BASE=', 0
no_text: db '0', 10, 0

  times 0xfff0 - ($ - $$) db 0
  jmp probe
  times 0x10000 - ($ - $$) db 0
`);

let root: string;
let host: HostService;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'popek-apic-setting-'));
  host = new HostService({ library: new VmLibrary(join(root, 'machines'), join(root, 'guests')), mode: 'server', version: 'test' });
});

afterEach(async () => {
  await host.shutdown();
  await rm(root, { recursive: true, force: true });
});

/** A VM that boots the probe ROM. */
async function probeDraft(name: string, settings: Partial<VmConfigDraft>): Promise<VmConfigDraft> {
  const rom = join(root, 'probe.rom');
  await writeFile(rom, PROBE_ROM);
  return vmDraft({ name, guestType: 'firmware-rom', memoryMiB: 4, boot: { kind: 'rom', rom }, bootOrder: [], clock: 'deterministic', ...settings });
}

/** Creates and starts a VM that boots the probe ROM; resolves with its id and its first COM1 line. */
async function probe(name: string, apic: Partial<Pick<VmConfigDraft, 'apic'>>): Promise<{ id: string; line: string }> {
  const config = await probeDraft(name, apic);
  const created = await host.createVm({ config });
  if (!created.ok) throw new Error(JSON.stringify(created.errors));
  expect(created.vm.config.apic).toBe(apic.apic || undefined);
  let out = '';
  host.subscribeSerial(created.vm.id, 0, (d) => (out += Buffer.from(d).toString('latin1')));
  await host.startVm(created.vm.id);
  const deadline = Date.now() + 60_000;
  while (!out.includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return { id: created.vm.id, line: out };
}
const probeLine = async (name: string, apic: Partial<Pick<VmConfigDraft, 'apic'>>) => (await probe(name, apic)).line;

describe('the I/O APIC setting', () => {
  it('gives a VM with it the local APIC (CPUID says so, IA32_APIC_BASE answers at 0xFEE00000, enabled, bootstrap processor)', async () => {
    const { id, line } = await probe('with', { apic: true });
    expect(line).toBe('CPUID.1:EDX.APIC=1 IA32_APIC_BASE=FEE00900\n');
    // Like the board's other settings it changes only while the VM is off.
    const vm = await host.getVm(id);
    if (!vm.accessible) throw new Error(vm.problem);
    const { id: _id, version: _version, apic: _apic, ...withoutApic } = vm.config;
    expect(await host.updateVm(id, withoutApic)).toEqual({ ok: false, errors: [{ field: 'apic', message: 'Power off the VM to change this setting' }] });
    await host.powerOffVm(id);
    const updated = await host.updateVm(id, withoutApic);
    expect(updated.ok && 'apic' in updated.vm.config).toBe(false);
  });

  it('is refused with the software monitor, which does not emulate the local APIC (trap, bt)', async () => {
    for (const acceleration of ['bt', 'trap'] as const) {
      expect(await host.createVm({ config: await probeDraft(acceleration, { acceleration, apic: true }) })).toEqual({
        ok: false,
        errors: [{ field: 'apic', message: `The I/O APIC cannot be used with ${ACCELERATION_INFO[acceleration].label}: the software monitor does not emulate the local APIC, and its guests keep the 8259 PIC` }],
      });
    }
  });

  it('leaves a VM without it (the default, or false) on the 8259 alone: CPUID has no APIC', async () => {
    expect(await probeLine('default', {})).toBe('CPUID.1:EDX.APIC=0\n');
    expect(await probeLine('off', { apic: false })).toBe('CPUID.1:EDX.APIC=0\n');
  });
});
