/**
 * The screen's way from the machine worker to the host's subscribers, and
 * keys back: the worker posts the VGA's picture when the machine has a new
 * one and hands key messages to the machine; the host keeps the latest
 * picture for new subscribers and checks key events before a worker sees them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ScreenSnapshot } from '../../core/devices/vga/textScreen.ts';
import type { HostKeyEvent } from '../../core/devices/hostKeyboard.ts';
import { HostService } from '../../core/host/hostService.ts';
import { VmLibrary } from '../../core/host/library.ts';
import { runMachineWorker, type WorkerChannel } from '../../core/host/machineWorker.ts';
import { ScreenChannel } from '../../core/host/screenChannel.ts';
import type { FromWorker, ToWorker, WorkerInit } from '../../core/host/workerProtocol.ts';
import type { MachineApi } from '../../core/machine/types.ts';

const GRAPHICS: ScreenSnapshot = { mode: 'graphics' };

describe('ScreenChannel', () => {
  it('gives a new subscriber the latest picture, then every new one; a new run starts without one', () => {
    const channel = new ScreenChannel();
    const early: ScreenSnapshot[] = [];
    channel.subscribe((s) => early.push(s));
    channel.subscribe(() => {
      throw new Error('a broken listener');
    });
    channel.publish(GRAPHICS);
    const late: ScreenSnapshot[] = [];
    const off = channel.subscribe((s) => late.push(s));
    expect(early).toEqual([GRAPHICS]);
    expect(late).toEqual([GRAPHICS]);
    off();
    channel.publish(GRAPHICS);
    expect(late).toHaveLength(1);
    channel.clear();
    const afterClear: ScreenSnapshot[] = [];
    channel.subscribe((s) => afterClear.push(s));
    expect(afterClear).toEqual([]);
  });
});

describe('machine worker: screen out, keys in', () => {
  it('posts a picture when the machine has a new one and passes key events to the machine', async () => {
    const posted: FromWorker[] = [];
    let listener: (m: ToWorker) => void = () => {};
    let closed = false;
    const channel: WorkerChannel = {
      post: (m) => posted.push(m),
      onMessage: (l) => (listener = l),
      close: () => (closed = true),
    };
    const keys: HostKeyEvent[][] = [];
    let pictures = 1;
    const machine = {
      run: () => ({ kind: 'running' as const }),
      serialInput: () => {},
      powerButton: () => {},
      reset: () => {},
      pause: () => {},
      resume: () => {},
      stats: () => ({ instructions: 0, interrupts: 0, exceptions: 0, guestNs: 0 }),
      memory: new SharedArrayBuffer(8),
      takeScreen: () => (pictures-- > 0 ? GRAPHICS : null),
      keyEvents: (events: readonly HostKeyEvent[]) => keys.push([...events]),
    } satisfies MachineApi;
    const init: WorkerInit = {
      vmId: 'vm', memoryMiB: 4, clock: 'deterministic', cpus: 1, acceleration: 'none', nestedPaging: true,
      sliceMs: 1, statsIntervalMs: 1000, machineModuleUrl: 'unused', kernelPath: undefined, vga: true,
    };
    await runMachineWorker(init, channel, async () => () => machine);
    await new Promise((r) => setTimeout(r, 100));
    listener({ type: 'keys', events: [{ code: 'KeyA', down: true }, { code: 'KeyA', down: false }] });
    listener({ type: 'powerOff' });
    expect(closed).toBe(true);
    expect(posted.filter((m) => m.type === 'screen')).toEqual([{ type: 'screen', screen: GRAPHICS }]);
    expect(keys).toEqual([[{ code: 'KeyA', down: true }, { code: 'KeyA', down: false }]]);
  });
});

describe('HostService.sendKeys', () => {
  it('refuses malformed key events and ignores a VM that is not running', async () => {
    const root = await mkdtemp(join(tmpdir(), 'popek-keys-'));
    const host = new HostService({ library: new VmLibrary(join(root, 'machines'), join(root, 'guests')), mode: 'server', version: 'test' });
    try {
      await expect(host.sendKeys('vm-1', [{ code: 'KeyA', down: true }])).resolves.toBeUndefined();
      await expect(host.sendKeys('vm-1', 'KeyA' as unknown as HostKeyEvent[])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(host.sendKeys('vm-1', [{ code: 'KeyA' } as HostKeyEvent])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(host.sendKeys('vm-1', [{ code: 'K'.repeat(33), down: true }])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      const many = Array.from({ length: 257 }, () => ({ code: 'KeyA', down: true }));
      await expect(host.sendKeys('vm-1', many)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(host.sendKeys('../x', [])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(() => host.subscribeScreen('../x', () => {})).toThrow(/not a VM id/);
    } finally {
      await host.shutdown();
      await rm(root, { recursive: true, force: true });
    }
  });
});
