/**
 * The memory balloon from the VM's config and the HostApi to the machine
 * worker: the config's target reaches the machine at start, setBalloonTarget
 * reaches a running one, the guest's progress comes back in VmStats.balloon,
 * and the host refuses targets the VM cannot take. The machine is the
 * scripted test double (its balloon follows the target one slice later).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VmConfigDraft } from '../../core/host/api.ts';
import { HostService } from '../../core/host/hostService.ts';
import { VmLibrary } from '../../core/host/library.ts';
import { vmDraft } from './fixtures/vmDraft.ts';

const FIXTURE = pathToFileURL(resolve('test/host/fixtures/scriptedMachine.ts')).href;

let root: string;
let kernel: string;
let host: HostService;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'popek-balloon-'));
  kernel = join(root, 'bzImage');
  await writeFile(kernel, new Uint8Array(16));
  host = new HostService({ library: new VmLibrary(join(root, 'machines'), join(root, 'guests')), mode: 'server', version: 'test', machineModuleUrl: FIXTURE, statsIntervalMs: 20 });
});

afterEach(async () => {
  await host.shutdown();
  await rm(root, { recursive: true, force: true });
});

async function create(name: string, overrides: Partial<VmConfigDraft>): Promise<string> {
  const result = await host.createVm({
    config: vmDraft({ name, guestType: 'linux-custom', memoryMiB: 64, boot: { kind: 'linux', kernel, cmdline: '' }, ...overrides }),
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.vm.id;
}

async function waitFor<T>(probe: () => Promise<T | undefined | false>, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the balloon target through the host', () => {
  it('starts the machine with the config\'s target and moves it while it runs', async () => {
    const id = await create('ballooned', { balloon: { targetMiB: 8 } });
    await host.startVm(id);
    // 8 MiB = 2048 pages, and the guest reports it has given them.
    await waitFor(async () => (await host.getStats(id))?.balloon?.actualPages === 2048, 'the start target');
    expect((await host.getStats(id))!.balloon).toEqual({ targetPages: 2048, actualPages: 2048 });
    await host.setBalloonTarget(id, 60);
    await waitFor(async () => (await host.getStats(id))?.balloon?.actualPages === 60 * 256, 'the new target');
    expect((await host.getStats(id))!.balloon).toEqual({ targetPages: 15360, actualPages: 15360 });
    // Paused: the target is still taken (the guest follows when it runs again).
    await host.pauseVm(id);
    await host.setBalloonTarget(id, 0);
    await host.resumeVm(id);
    await waitFor(async () => (await host.getStats(id))?.balloon?.actualPages === 0, 'the deflate');
  });

  it('reports the machine pool\'s free frames for a VM under the hypervisor', async () => {
    const id = await create('pooled', { balloon: { targetMiB: 1 }, acceleration: 'vtx' });
    await host.startVm(id);
    await waitFor(async () => (await host.getStats(id))?.balloon?.actualPages === 256, 'the start target');
    expect((await host.getStats(id))!.balloon).toEqual({ targetPages: 256, actualPages: 256, poolFreeFrames: 1256 });
  });

  it('refuses targets the VM cannot take, a VM without a balloon and one that is not running', async () => {
    const id = await create('limits', { balloon: { targetMiB: 0 } });
    await expect(host.setBalloonTarget(id, 8)).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    await host.startVm(id);
    // 64 MiB of memory: the guest keeps 4.
    await expect(host.setBalloonTarget(id, 61)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'the balloon can take at most 60 MiB of this VM (the guest keeps some memory)' });
    await expect(host.setBalloonTarget(id, -1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(host.setBalloonTarget(id, 1.5)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(host.setBalloonTarget(id, '8' as unknown as number)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(host.setBalloonTarget('../x', 8)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await host.setBalloonTarget(id, 60);
    await waitFor(async () => (await host.getStats(id))?.balloon?.actualPages === 15360, 'the largest target');
    const plain = await create('plain', {});
    await host.startVm(plain);
    await expect(host.setBalloonTarget(plain, 8)).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    expect((await host.getStats(plain))?.balloon).toBeUndefined();
  });
});
