import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VmConfigDraft, VmStateEvent, VmStats } from '../../core/host/api.ts';
import { HostService } from '../../core/host/hostService.ts';
import { VmLibrary } from '../../core/host/library.ts';
import { withUnbuiltBt } from '../machine/unbuiltMode.ts';
import { vmDraft } from './fixtures/vmDraft.ts';

const FIXTURE = pathToFileURL(resolve('test/host/fixtures/scriptedMachine.ts')).href;

let root: string;
let kernel: string;
let host: HostService;
let events: VmStateEvent[];
let logged: string[];

beforeEach(async () => {
  logged = [];
  root = await mkdtemp(join(tmpdir(), 'popek-host-'));
  kernel = join(root, 'bzImage');
  await writeFile(kernel, new Uint8Array(16));
  host = new HostService({
    library: new VmLibrary(join(root, 'machines'), join(root, 'guests')),
    mode: 'server',
    version: 'test',
    machineModuleUrl: FIXTURE,
    statsIntervalMs: 50,
    log: (m) => logged.push(m),
  });
  events = [];
  host.onStateChange((e) => events.push(e));
});

afterEach(async () => {
  await host.shutdown();
  await rm(root, { recursive: true, force: true });
});

function draft(name: string, cmdline: string, overrides: Partial<VmConfigDraft> = {}): VmConfigDraft {
  return vmDraft({ name, guestType: 'linux-custom', memoryMiB: 4, boot: { kind: 'linux', kernel, cmdline }, ...overrides });
}

async function create(name: string, cmdline: string, overrides: Partial<VmConfigDraft> = {}): Promise<string> {
  const result = await host.createVm({ config: draft(name, cmdline, overrides) });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.vm.id;
}

async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const stateOf = async (id: string) => (await host.getVm(id)).status;
const text = (chunks: Uint8Array[]) => Buffer.concat(chunks).toString('latin1');

describe('HostService with worker threads', () => {
  it('starts a VM, streams its serial output and replays the scrollback to a late subscriber', async () => {
    const id = await create('a', 'hello');
    const live: Uint8Array[] = [];
    host.subscribeSerial(id, 0, (d) => live.push(d));
    expect(await host.startVm(id)).toMatchObject({ state: 'running' });
    await waitFor(() => text(live) === 'hello\n', 'live output');
    const late: Uint8Array[] = [];
    const unsubscribe = host.subscribeSerial(id, 0, (d) => late.push(d));
    expect(late.length).toBe(1);
    expect(text(late)).toBe('hello\n');
    unsubscribe();
    expect(events.filter((e) => e.vmId === id).map((e) => e.status.state)).toEqual(['starting', 'running']);
  });

  it('turns a triple fault into aborted with CS:EIP while another VM keeps running', async () => {
    const crashing = await create('crashing', 'triple');
    const steady = await create('steady', 'hello');
    await host.startVm(steady);
    await host.startVm(crashing).catch(() => undefined); // may abort before or after reporting running
    const status = await waitFor(async () => {
      const s = await stateOf(crashing);
      return s.state === 'aborted' && s;
    }, 'abort');
    expect(status.reason).toBe('Triple fault at CS:EIP 0008:0000fff0 (scripted)');
    const before = (await host.getStats(steady))!.instructions;
    await waitFor(async () => ((await host.getStats(steady))?.instructions ?? 0) > before, 'the other VM to keep running');
    expect((await stateOf(steady)).state).toBe('running');
  });

  it('aborts a VM whose machine throws, with the error', async () => {
    const id = await create('thrower', 'throw');
    await host.startVm(id).catch(() => undefined);
    const status = await waitFor(async () => {
      const s = await stateOf(id);
      return s.state === 'aborted' && s;
    }, 'abort');
    expect(status.reason).toBe('the machine crashed: scripted device model bug');
    expect(logged).toEqual([`VM "thrower" (${id}) aborted: the machine crashed: scripted device model bug`]);
  });

  it('aborts a VM whose worker exits unexpectedly', async () => {
    const id = await create('exiter', 'exit');
    await host.startVm(id).catch(() => undefined);
    const status = await waitFor(async () => {
      const s = await stateOf(id);
      return s.state === 'aborted' && s;
    }, 'abort');
    expect(status.reason).toBe('the machine worker exited unexpectedly (exit code 3)');
  });

  it('rejects startVm and aborts when the machine cannot be built', async () => {
    const id = await create('broken', 'failcreate');
    await expect(host.startVm(id)).rejects.toThrow('VM "broken" stopped: scripted createMachine failure');
    expect(await stateOf(id)).toMatchObject({ state: 'aborted', reason: 'scripted createMachine failure' });
    // aborted VMs can be started again
    await expect(host.startVm(id)).rejects.toThrow(/scripted createMachine failure/);
  });

  it('reports a guest power-off as poweredOff, and the ACPI button leads there', async () => {
    const id = await create('acpi', '');
    await host.startVm(id);
    expect(await host.acpiShutdownVm(id)).toMatchObject({ state: 'running' });
    await waitFor(async () => (await stateOf(id)).state === 'poweredOff', 'guest power-off');
    expect(events.filter((e) => e.vmId === id).map((e) => e.status.state)).toEqual(['starting', 'running', 'poweredOff']);
  });

  it('pauses, resumes, resets and powers off; refuses illegal actions', async () => {
    const id = await create('cycle', '');
    await expect(host.pauseVm(id)).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    await host.startVm(id);
    await expect(host.startVm(id)).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    expect(await host.pauseVm(id)).toMatchObject({ state: 'paused' });
    await expect(host.acpiShutdownVm(id)).rejects.toThrow('Cannot acpiShutdown VM "cycle": it is paused (acpiShutdown needs it running)');
    expect(await host.resumeVm(id)).toMatchObject({ state: 'running' });
    expect(await host.resetVm(id)).toMatchObject({ state: 'running' });
    expect(await host.powerOffVm(id)).toMatchObject({ state: 'poweredOff' });
    await expect(host.powerOffVm(id)).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    expect(await host.getStats(id)).toBe(null);
  });

  it('sends serial input to the guest', async () => {
    const id = await create('echo', 'echo');
    const out: Uint8Array[] = [];
    host.subscribeSerial(id, 0, (d) => out.push(d));
    await host.startVm(id);
    await host.sendSerialInput(id, 0, new TextEncoder().encode('uname'));
    await waitFor(() => text(out) === 'UNAME', 'echo');
    await expect(host.sendSerialInput(id, 2 as 0, new Uint8Array(1))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(host.sendSerialInput(id, 0, new Uint8Array(65537))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('hands the worker its acceleration, nested paging and a lease of the machine memory pool (none on the bare PC)', async () => {
    const shadow = await create('shadow', 'options', { acceleration: 'vtx', nestedPaging: false });
    const bare = await create('bare', 'options', { acceleration: 'none' });
    const out: Record<string, Uint8Array[]> = { [shadow]: [], [bare]: [] };
    host.subscribeSerial(shadow, 0, (d) => out[shadow].push(d));
    host.subscribeSerial(bare, 0, (d) => out[bare].push(d));
    await host.startVm(shadow);
    await host.startVm(bare);
    await waitFor(() => text(out[shadow]).endsWith('\n') && text(out[bare]).endsWith('\n'), 'options lines');
    expect(text(out[shadow])).toBe('vtx nestedPaging=false owner 1 of a 1792 MiB pool\n');
    expect(text(out[bare])).toBe('none nestedPaging=true no pool\n');
  });

  it('publishes statistics with a MIPS figure', async () => {
    const id = await create('stats', '');
    const seen: VmStats[] = [];
    host.onStats((s) => seen.push(s));
    await host.startVm(id);
    const sample = await waitFor(() => seen.find((s) => s.vmId === id && s.mips > 0), 'stats with MIPS');
    expect(sample.instructions).toBeGreaterThan(0);
    expect(sample.interrupts).toBeGreaterThan(0);
    expect(sample.guestNs).toBeGreaterThan(0);
  });

  it("publishes the hypervisor's counters with exits named by the SDM", async () => {
    const id = await create('counted', 'hypervisor');
    const seen: VmStats[] = [];
    host.onStats((s) => seen.push(s));
    await host.startVm(id);
    const sample = await waitFor(() => seen.find((s) => s.vmId === id && (s.hypervisor?.entries ?? 0) > 0), 'hypervisor stats');
    const slices = sample.interrupts; // the fixture counts one per slice
    expect(sample.hypervisor).toEqual({
      exitsByReason: { HLT: slices, IO_INSTRUCTION: 2 * slices },
      entries: 3 * slices,
      injectedInterrupts: slices,
      eptViolations: 0,
      guestMs: slices,
      hypervisorMs: slices / 2,
    });
    const plain = await create('plain', '');
    await host.startVm(plain);
    const other = await waitFor(() => seen.find((s) => s.vmId === plain), 'stats without a hypervisor');
    expect(other.hypervisor).toBeUndefined();
  });

  it('publishes each VirtIO device\'s counters, and a network adapter\'s dropped frames', async () => {
    const id = await create('devices', 'devices');
    const seen: VmStats[] = [];
    host.onStats((s) => seen.push(s));
    await host.startVm(id);
    const sample = await waitFor(() => seen.find((s) => s.vmId === id && s.interrupts > 0), 'device stats');
    const n = sample.interrupts; // the fixture counts one per slice
    const counters = { requests: 2 * n, bytesRead: 512 * n, bytesWritten: 4096 * n, kicks: n, interrupts: n, errors: 0 };
    expect(sample.devices).toEqual([{ name: 'virtio-blk vda', ...counters }, { name: 'virtio-net eth0', ...counters, dropped: n }]);
  });

  it('refuses hardware changes while running but allows a rename; refuses removal while running', async () => {
    const id = await create('live', '');
    await host.startVm(id);
    expect(await host.updateVm(id, draft('live', '', { memoryMiB: 8 }))).toEqual({
      ok: false,
      errors: [{ field: 'memoryMiB', message: 'Power off the VM to change this setting' }],
    });
    const renamed = await host.updateVm(id, draft('renamed', ''));
    expect(renamed.ok && renamed.vm.config.name).toBe('renamed');
    await expect(host.removeVm(id)).rejects.toMatchObject({ code: 'BUSY' });
    await host.powerOffVm(id);
    await host.removeVm(id);
    expect(await host.listVms()).toEqual([]);
  });

  it('creates nothing from an invalid draft', async () => {
    const result = await host.createVm({ config: draft('', '', { memoryMiB: 2 }), newDiskMiB: 0 });
    expect(result).toEqual({
      ok: false,
      errors: [
        { field: 'name', message: 'Name is required' },
        { field: 'memoryMiB', message: 'Memory (MiB) must be at least 4' },
        { field: 'newDiskMiB', message: 'New disk size must be a whole number of MiB from 1 to 2097152' },
      ],
    });
    expect(await host.listVms()).toEqual([]);
  });

  it('lists an unreadable vm.json as inaccessible, refuses to start or change it, and can remove it', async () => {
    const id = await create('damaged', '');
    await writeFile(join(root, 'machines', id, 'vm.json'), '{"version": 1, "id": ');
    const [entry] = await host.listVms();
    expect(entry).toMatchObject({ accessible: false, id, status: { state: 'poweredOff' } });
    await expect(host.startVm(id)).rejects.toMatchObject({ code: 'INACCESSIBLE' });
    await expect(host.updateVm(id, draft('damaged', ''))).rejects.toMatchObject({ code: 'INACCESSIBLE' });
    expect(await readFile(join(root, 'machines', id, 'vm.json'), 'utf8')).toBe('{"version": 1, "id": ');
    await host.removeVm(id);
    expect(await host.listVms()).toEqual([]);
  });

  it('opens an old vm.json with hardwareAssist: true as VT-x with nested paging, and starts it', async () => {
    const id = await create('old', 'hello');
    const path = join(root, 'machines', id, 'vm.json');
    const { acceleration: _a, nestedPaging: _n, ...old } = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...old, hardwareAssist: true }));
    const vm = await host.getVm(id);
    expect(vm.accessible && [vm.config.acceleration, vm.config.nestedPaging]).toEqual(['vtx', true]);
    expect(await host.startVm(id)).toMatchObject({ state: 'running' });
  });

  it('refuses to start a VM in a mode this build cannot run, naming the issue that brings it', () => withUnbuiltBt(async () => {
    const id = await create('future', 'hello');
    const path = join(root, 'machines', id, 'vm.json');
    await writeFile(path, JSON.stringify({ ...JSON.parse(await readFile(path, 'utf8')), acceleration: 'bt' }));
    await expect(host.startVm(id)).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: 'Acceleration Binary translation is not yet built: (marked unbuilt by this test)',
    });
    expect((await stateOf(id)).state).toBe('poweredOff');
  }));

  it('lets only one of two simultaneous creates take a name', async () => {
    const [a, b] = await Promise.all([host.createVm({ config: draft('twin', '') }), host.createVm({ config: draft('Twin', '') })]);
    expect(a.ok).toBe(true);
    expect(b).toEqual({ ok: false, errors: [{ field: 'name', message: 'A VM named "twin" already exists' }] });
    expect((await host.listVms()).length).toBe(1);
  });

  it('appends a file-mode serial port to its file', async () => {
    const out = join(root, 'com1.log');
    await writeFile(out, 'before\n');
    const id = await create('filelog', 'hello', { serial: [{ enabled: true, mode: 'file', path: out }, { enabled: false, mode: 'console' }] });
    await host.startVm(id);
    await waitFor(async () => (await readFile(out, 'latin1')) === 'before\nhello\n', 'file output');
    await host.powerOffVm(id);
  });

  it('serves a tcp-mode serial port to one client at a time, both ways', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const id = await create('tcp', 'echo', { serial: [{ enabled: true, mode: 'tcp', port }, { enabled: false, mode: 'console' }] });
    await host.startVm(id);
    const client = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    client.on('data', (d) => received.push(d));
    await new Promise((r) => client.once('connect', r));
    const second = connect(port, '127.0.0.1');
    const secondClosed = new Promise((r) => second.once('close', r));
    second.on('error', () => {});
    client.write('ls\n');
    await waitFor(() => Buffer.concat(received).toString() === 'LS\n', 'tcp echo');
    await secondClosed; // refused: one client at a time
    client.destroy();
    await host.powerOffVm(id);
  });
});
