/**
 * Crash isolation with the real machine (core/machine/machine.ts) in worker
 * threads: a VM whose firmware triple-faults becomes aborted with CS:EIP,
 * while another VM whose firmware loops forever keeps running.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostService } from '../../core/host/hostService.ts';
import { VmLibrary } from '../../core/host/library.ts';
import { vmDraft } from './fixtures/vmDraft.ts';

/** A 64 KiB firmware image whose reset vector (offset 0xFFF0, F000:FFF0) holds `code`. */
function romImage(code: number[]): Uint8Array {
  const rom = new Uint8Array(64 * 1024);
  rom.set(code, 0xfff0);
  return rom;
}

// cli; lidt cs:[0x0000] (6 zero bytes: an IVT of limit 0); int3 -> #GP -> #DF -> triple fault
const TRIPLE_FAULT = romImage([0xfa, 0x2e, 0x0f, 0x01, 0x1e, 0x00, 0x00, 0xcc, 0xf4]);
// jmp $ (forever)
const LOOP_FOREVER = romImage([0xeb, 0xfe]);

let root: string;
let host: HostService;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'popek-crash-'));
  host = new HostService({ library: new VmLibrary(join(root, 'machines'), join(root, 'guests')), mode: 'server', version: 'test', statsIntervalMs: 100 });
});

afterEach(async () => {
  await host.shutdown();
  await rm(root, { recursive: true, force: true });
});

async function romVm(name: string, image: Uint8Array): Promise<string> {
  const path = join(root, `${name}.rom`);
  await writeFile(path, image);
  const config = vmDraft({ name, guestType: 'firmware-rom', memoryMiB: 4, boot: { kind: 'rom', rom: path }, bootOrder: [] });
  const result = await host.createVm({ config });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.vm.id;
}

async function waitFor<T>(probe: () => Promise<T | null | undefined | false>, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a crashing machine next to a running one (real machine)', () => {
  it('aborts the triple-faulting VM with CS:EIP and keeps the looping VM running', async () => {
    const looping = await romVm('looping', LOOP_FOREVER);
    const crashing = await romVm('crashing', TRIPLE_FAULT);
    expect(await host.startVm(looping)).toMatchObject({ state: 'running' });
    await host.startVm(crashing).catch(() => undefined); // it may fault before or after reporting running

    const aborted = await waitFor(async () => {
      const vm = await host.getVm(crashing);
      return vm.status.state === 'aborted' && vm.status;
    }, 'the triple fault');
    expect(aborted.reason).toBe('Triple fault at CS:EIP f000:0000fff7 (triple fault: #GP while delivering #DF (after #GP then #GP))');

    const before = (await waitFor(() => host.getStats(looping), 'stats')).instructions;
    await waitFor(async () => ((await host.getStats(looping))?.instructions ?? 0) > before, 'the looping VM to retire more instructions');
    expect((await host.getVm(looping)).status.state).toBe('running');

    // the aborted VM can be started again (and faults again)
    await host.startVm(crashing).catch(() => undefined);
    await waitFor(async () => (await host.getVm(crashing)).status.state === 'aborted', 'the second triple fault');
    expect((await host.powerOffVm(looping)).state).toBe('poweredOff');
  });
});
