/**
 * The software monitor's counters on their way to the app, with the detector
 * guest (test/guests/detector, a Multiboot kernel that powers off by itself):
 * - into the HypervisorCounters snapshot of a 'trap' machine (the board copies
 *   them after each run);
 * - through a machine worker thread to the host's VmStats (the path the VT-x
 *   counters take);
 * - under 'bt', the translation cache through the worker's request/reply
 *   messages (the worker body run in this thread, as for the screen
 *   plumbing test, because 'bt' is opened for tests only).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { VmConfigDraft, VmStats } from '../../core/host/api.ts';
import { HostService } from '../../core/host/hostService.ts';
import { VmLibrary } from '../../core/host/library.ts';
import { runMachineWorker, type WorkerChannel } from '../../core/host/machineWorker.ts';
import type { RunnerFactory } from '../../core/host/machineRunner.ts';
import type { FromWorker, ToWorker, WorkerInit } from '../../core/host/workerProtocol.ts';
import { createMachine } from '../../core/machine/machine.ts';
import type { InspectedBlock, TranslationCacheView } from '../../core/machine/translationCacheView.ts';
import type { RunResult } from '../../core/machine/types.ts';
import { assemble } from '../../scripts/nasm.ts';

const DETECTOR_DIR = join(import.meta.dirname, '../guests/detector');
const detector = assemble(readFileSync(join(DETECTOR_DIR, 'detector.asm'), 'utf8'), [DETECTOR_DIR]);
/** A Multiboot kernel looping over sensitive instructions (callouts under bt), its data on a page of its own (no code writes). */
const sensitiveLoop = assemble(`bits 32
org 0x100000
mb: dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000), mb, mb, 0, 0, start
start:
  mov esp, 0x90000
.loop:
  pushf
  popf
  sgdt [gdtr]
  mov ax, cs
  call sub
  jmp .loop
sub: ret
align 4096
gdtr: dq 0
`);
/** A Multiboot kernel that spins forever (load_end 0: the whole image), for a VM that stays running. */
const spinner = assemble(`bits 32
org 0x100000
mb: dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000), mb, mb, 0, 0, start
start: jmp start
`);

/**
 * What the monitor does for the detector under trap-and-emulate (deterministic clock, so exact): it emulates its LGDT
 * and LIDT, LLDT and LTR, MOV SS, the CR0 accesses, CPUID, the CLI/STI of the interrupt-flag checks and every IN/OUT
 * of its COM1 output and ACPI power-off; the first touches of its pages are shadow fills (hidden); nothing is reflected
 * (both PICs are masked).
 */
const TRAP_DETECTOR_TRAPS = {
  cli: 4, sti: 1, hlt: 0, iret: 0, 'in/out': 1809, 'ins/outs': 0, 'mov ss': 1, 'lgdt/lidt': 2, 'lldt/ltr': 2, 'mov cr': 3, 'mov dr': 0,
  'clts/lmsw': 0, invlpg: 0, 'rdmsr/wrmsr': 0, cpuid: 2, rdtsc: 0, 'wbinvd/invd': 0, 'top 4 MiB': 0, 'gdt write': 0,
};

let root: string | undefined;
let host: HostService | undefined;
afterEach(async () => {
  await host?.shutdown();
  if (root) await rm(root, { recursive: true, force: true });
  host = undefined;
  root = undefined;
});

function runToPowerOff(acceleration: 'trap' | 'bt') {
  const machine = createMachine({ clock: 'deterministic', acceleration, memoryMiB: 16, kernel: detector }, {});
  let result: RunResult = { kind: 'running' };
  for (let i = 0; i < 400 && result.kind === 'running'; i++) result = machine.run(50);
  expect(result).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
  return machine;
}

function vmConfig(name: string, kernel: string): VmConfigDraft {
  return {
    name, guestType: 'linux-custom', memoryMiB: 16, cpus: 1, boot: { kind: 'linux', kernel, cmdline: '' }, bootOrder: ['disk'], disks: [],
    serial: [{ enabled: true, mode: 'console' }, { enabled: false, mode: 'console' }], clock: 'deterministic', acceleration: 'trap', nestedPaging: true,
  };
}

/** Machine workers run in this thread (where 'bt' is opened), speaking the same messages as a worker thread. */
function inThreadRunners(): RunnerFactory {
  return (init, events) => {
    let deliver: (m: ToWorker) => void = () => {};
    const channel: WorkerChannel = { post: (m) => setImmediate(() => events.message(m)), onMessage: (l) => (deliver = l), close: () => setImmediate(() => events.exit(0)) };
    void runMachineWorker(init, channel, async () => createMachine);
    return { send: (m) => setImmediate(() => deliver(m)), terminate: async () => {} };
  };
}

async function waitFor(probe: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('software monitor counters', () => {
  it('reach the HypervisorCounters snapshot of a trap machine', () => {
    const h = runToPowerOff('trap').stats().hypervisor!;
    expect(h.monitor!.traps).toEqual(TRAP_DETECTOR_TRAPS);
    expect(h.monitor!.reflected).toEqual(new Array(256).fill(0));
    // 5 first touches: its code, its variables, its GDT's own page (write-protected, as the monitor does every guest GDT's), stack;
    // and the writable fill for the monitor's own write of the TSS's busy bit at LTR, with the GDT's page opened for it.
    expect([h.monitor!.hiddenPageFaults, h.monitor!.heldInterrupts, h.monitor!.gdtResyncs]).toEqual([6, 0, 3]);
    expect([h.shadowPaging!.hiddenFaults, h.shadowPaging!.reflectedFaults]).toEqual([6, 0]);
    // Mirrored: the loader's 4 entries at start, at LGDT 3 changed and 2 new; through the watch the busy bit LTR set.
    // No user code: no view switches.
    const m = h.monitor!;
    expect([m.gdtEntriesByResync, m.gdtEntriesByWatch, m.viewSwitchesToUser, m.lazyViewSwitchesToUser, m.viewSwitchesToKernel]).toEqual([9, 1, 0, 0, 0]);
    expect(h.translator).toBeUndefined(); // trap: no translator
    expect(h.exitsByReason.every((n) => n === 0)).toBe(true); // and no VM exits
  });

  it('reach the snapshot of a bt machine with the translator\'s, and its cache can be listed and inspected', async () => {
    const machine = runToPowerOff('bt');
    const t = machine.stats().hypervisor!.translator!;
    expect([t.blocksBuilt, t.guestInstructionsTranslated, t.chainsMade, t.blocksInvalidated, t.cacheFlushes, t.sectionsReused, t.blocksEvicted, t.tcUsed, t.tcSize]).toEqual([82, 279, 68, 0, 0, 0, 0, 1630, 0x40000]);
    // sgdt 2: its store is the first touch of seen_table's page (the GDT has its own page), a hidden fill, then the callout again.
    expect(t.callouts).toMatchObject({ sgdt: 2, sidt: 1, sldt: 1, str: 1, smsw: 1, pushf: 9, popf: 4, lar: 5, lsl: 4, exit: 68 });
    const cache = machine.translationCache!()!;
    expect(cache.blocks.length).toBe(82);
    expect(cache.blocks.reduce((n, b) => n + b.tcLength, 0)).toBe(cache.tcUsed);
    expect(cache.blocks[0]).toEqual({ id: 1, guestEip: 0x100020, guestInstructions: 4, tcStart: 0xffd40000, tcLength: 18, valid: true });
    const sgdtBlock = cache.blocks.map((b) => machine.inspectTranslatedBlock!(b.id)!).find((b) => b.instructions.some((i) => i.guestText.startsWith('sgdt')))!;
    const sgdt = sgdtBlock.instructions.find((i) => i.guestText.startsWith('sgdt'))!;
    expect(sgdt.translation.map((l) => [l.bytes, l.text, l.note])).toEqual([['cd 1f', 'int 0x1f', 'callout sgdt']]);
    expect(machine.inspectTranslatedBlock!(9999)).toBeNull();
  });

  it('travel through a machine worker thread into the host\'s VmStats', async () => {
    root = await mkdtemp(join(tmpdir(), 'popek-monitor-'));
    const kernel = join(root, 'detector.bin');
    await writeFile(kernel, detector);
    host = new HostService({ library: new VmLibrary(join(root, 'machines'), join(root, 'guests')), mode: 'server', version: 'test', statsIntervalMs: 20, log: () => {} });
    const created = await host.createVm({ config: vmConfig('detector', kernel) });
    if (!created.ok) throw new Error(JSON.stringify(created.errors));
    const id = created.vm.id;
    const seen: VmStats[] = [];
    host.onStats((s) => seen.push(s));
    const off = new Promise<void>((resolve) => host!.onStateChange((e) => e.vmId === id && e.status.state === 'poweredOff' && resolve()));
    await host.startVm(id).catch(() => undefined); // the detector may power off before the start is reported
    await off;
    const last = seen.filter((s) => s.vmId === id).at(-1)!; // the worker's final sample, posted before its stop reason
    expect(last.hypervisor).toMatchObject({
      exitsByReason: {},
      monitor: {
        trapsByInstruction: { cli: 4, sti: 1, 'in/out': 1809, 'mov ss': 1, 'lgdt/lidt': 2, 'lldt/ltr': 2, 'mov cr': 3, cpuid: 2 },
        reflectedByVector: {},
        heldInterrupts: 0,
        gdtResyncs: 3,
        gdtEntriesByWatch: 1,
        gdtEntriesByResync: 9,
        viewSwitchesToUser: 0,
        lazyViewSwitchesToUser: 0,
        viewSwitchesToKernel: 0,
      },
      shadowPaging: { hiddenFaults: 6, reflectedFaults: 0 },
    });
    expect(last.hypervisor!.translator).toBeUndefined();
  });

  it('answers the translation-cache requests through the worker thread: null for a trap VM, and for one not running', async () => {
    root = await mkdtemp(join(tmpdir(), 'popek-monitor-'));
    const kernel = join(root, 'spin.bin');
    await writeFile(kernel, spinner);
    host = new HostService({ library: new VmLibrary(join(root, 'machines'), join(root, 'guests')), mode: 'server', version: 'test', statsIntervalMs: 20, log: () => {} });
    const created = await host.createVm({ config: vmConfig('spin', kernel) });
    if (!created.ok) throw new Error(JSON.stringify(created.errors));
    const id = created.vm.id;
    expect(await host.getTranslationCache(id)).toBeNull(); // not running
    await host.startVm(id);
    await host.pauseVm(id);
    expect(await host.getTranslationCache(id)).toBeNull(); // the worker's answer: trap has no translator
    expect(await host.inspectTranslatedBlock(id, 1)).toBeNull();
    await expect(host.inspectTranslatedBlock(id, 0)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await host.powerOffVm(id);
    expect(await host.getTranslationCache(id)).toBeNull();
  });

  it('under bt, the host API lists the translation cache and shows a block side by side (the worker body in this thread)', async () => {
    root = await mkdtemp(join(tmpdir(), 'popek-monitor-'));
    const kernel = join(root, 'loop.bin');
    await writeFile(kernel, sensitiveLoop);
    host = new HostService({
      library: new VmLibrary(join(root, 'machines'), join(root, 'guests')), mode: 'server', version: 'test', statsIntervalMs: 20, log: () => {},
      runnerFactory: inThreadRunners(),
    });
    const created = await host.createVm({ config: { ...vmConfig('loop', kernel), acceleration: 'bt', clock: 'realtime' } });
    if (!created.ok) throw new Error(JSON.stringify(created.errors));
    const id = created.vm.id;
    const seen: VmStats[] = [];
    host.onStats((s) => seen.push(s));
    await host.startVm(id);
    await waitFor(() => seen.some((s) => (s.hypervisor?.translator?.calloutsByKind.ret ?? 0) > 1), 'the loop to run translated twice');
    await host.pauseVm(id);
    // The loop's five blocks, back to back in the TC from its start: the entry (MOV ESP, then the loop body up to the CALL),
    // the loop body again (the JMP back targets it), SUB's RET, the JMP after the return, and the loop's JMP.
    expect(await host.getTranslationCache(id)).toEqual({
      tcUsed: 70,
      tcSize: 0x40000,
      blocks: [
        { id: 1, guestEip: 0x100020, guestInstructions: 6, tcStart: 0xffd40000, tcLength: 25, valid: true },
        { id: 2, guestEip: 0x100025, guestInstructions: 5, tcStart: 0xffd40019, tcLength: 20, valid: true },
        { id: 3, guestEip: 0x100027, guestInstructions: 3, tcStart: 0xffd4002d, tcLength: 16, valid: true },
        { id: 4, guestEip: 0x100038, guestInstructions: 1, tcStart: 0xffd4003d, tcLength: 2, valid: true },
        { id: 5, guestEip: 0x100036, guestInstructions: 1, tcStart: 0xffd4003f, tcLength: 7, valid: true },
      ],
    });
    const block = (await host.inspectTranslatedBlock(id, 2))!;
    expect(block.instructions.map((i) => [i.guestEip.toString(16), i.guestText, i.translation.map((t) => `${t.address.toString(16)} ${t.text} ; ${t.note}`)])).toEqual([
      ['100025', 'pushf', ['ffd40019 int 0x1f ; callout pushf']],
      ['100026', 'popf', ['ffd4001b int 0x1f ; callout popf']],
      ['100027', 'sgdt [0x101000]', ['ffd4001d int 0x1f ; callout sgdt']],
      ['10002e', 'mov ax, cs', ['ffd4001f int 0x1f ; callout movFromCs']],
      ['100031', 'call 0x100038', ['ffd40021 push 0x100036 ; push-return', 'ffd40026 jmp 0xffd4003d ; branch']],
    ]);
    expect(block.exitStubs.map((t) => `${t.address.toString(16)} ${t.bytes} ; ${t.note}`)).toEqual(['ffd4002b cd 1f ; exit stub -> guest 00100038']);
    expect(await host.inspectTranslatedBlock(id, 999)).toBeNull();
    await host.powerOffVm(id);
  });

  it('under bt, the worker answers the translation-cache requests while the guest is paused', async () => {
    const posted: FromWorker[] = [];
    let deliver: (m: ToWorker) => void = () => {};
    let asked = false;
    const replies = new Map<number, unknown>();
    const done = new Promise<void>((resolve) => {
      const channel: WorkerChannel = {
        post(m) {
          posted.push(m);
          if (m.type === 'reply') replies.set(m.requestId, m.value);
          if (m.type === 'reply' && m.requestId === 2) deliver({ type: 'powerOff' });
          // Once the translator has run, ask between two slices (as the host's messages arrive), the guest paused.
          if (m.type === 'stats' && m.stats.hypervisor?.translator && !asked) {
            asked = true;
            setImmediate(() => {
              deliver({ type: 'pause' });
              deliver({ type: 'translationCache', requestId: 1 });
              deliver({ type: 'inspectTranslatedBlock', requestId: 2, blockId: 1 });
            });
          }
        },
        onMessage(listener) {
          deliver = listener;
        },
        close: () => resolve(),
      };
      const init: WorkerInit = {
        // The realtime clock, so a 1 ms slice is 1 ms of host time (a deterministic slice runs the whole detector).
        vmId: 'bt', memoryMiB: 16, clock: 'realtime', cpus: 1, acceleration: 'bt', nestedPaging: true,
        sliceMs: 1, statsIntervalMs: 0, machineModuleUrl: 'unused',
      };
      void runMachineWorker({ ...init }, channel, async () => (options, hooks) => createMachine({ ...options, kernel: detector }, hooks));
    });
    await done;
    const cache = replies.get(1) as TranslationCacheView;
    expect(cache.tcSize).toBe(0x40000);
    expect(cache.blocks[0]).toEqual({ id: 1, guestEip: 0x100020, guestInstructions: 4, tcStart: 0xffd40000, tcLength: 18, valid: true });
    const block = replies.get(2) as InspectedBlock;
    expect(block.id).toBe(1);
    expect(block.instructions.length).toBe(4);
    expect(block.instructions.map((i) => i.guestEip)).toEqual(block.instructions.map((i) => i.guestEip).sort((a, b) => a - b));
    expect(posted.at(-1)).toEqual({ type: 'exited' });
  });
});
