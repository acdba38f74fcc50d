/**
 * A VM's VirtIO console ports through the host service, as the app's console
 * tabs use them: VmConfig.virtioConsoles reaches the machine (in a real
 * worker thread; the scripted machine stands in for the guest, 'hvc': each
 * port says "hvc<n> ready" and echoes its input upper-cased), each port 'hvcN'
 * is its own stream and input goes to that port only, and a port that cannot
 * exist is refused.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostService } from '../../core/host/hostService.ts';
import { VmLibrary } from '../../core/host/library.ts';
import { HostError } from '../../core/host/api.ts';
import { checkVmDraft, type VmConfigDraft } from '../../core/machine/config.ts';

const FIXTURE = pathToFileURL(resolve('test/host/fixtures/scriptedMachine.ts')).href;

let root: string;
let host: HostService;

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'popek-hvc-host-'));
  host = new HostService({ library: new VmLibrary(join(root, 'machines'), join(root, 'guests')), mode: 'server', version: 'test', machineModuleUrl: FIXTURE, hostNetwork: false });
});

afterAll(async () => {
  await host.shutdown();
  await rm(root, { recursive: true, force: true });
});

describe('VmConfig.virtioConsoles', () => {
  const draft = (virtioConsoles: number): VmConfigDraft => ({
    name: 'demo',
    guestType: 'linux-custom',
    memoryMiB: 64,
    cpus: 1,
    boot: { kind: 'linux', kernel: '/k/bzImage', cmdline: 'console=hvc0' },
    bootOrder: ['disk'],
    disks: [],
    virtioConsoles,
    serial: [{ enabled: true, mode: 'console' }, { enabled: false, mode: 'console' }],
    clock: 'realtime',
    acceleration: 'none',
    nestedPaging: true,
  });

  it('takes 1 to 16 ports, and refuses 0, 17 and fractions', () => {
    expect(checkVmDraft(draft(1)).ok).toBe(true);
    expect(checkVmDraft(draft(16)).ok).toBe(true);
    expect(checkVmDraft(draft(0))).toEqual({ ok: false, errors: [{ field: 'virtioConsoles', message: 'VirtIO console ports must be at least 1' }] });
    expect(checkVmDraft(draft(17))).toEqual({ ok: false, errors: [{ field: 'virtioConsoles', message: 'VirtIO console ports must be at most 16' }] });
    expect(checkVmDraft(draft(1.5))).toEqual({ ok: false, errors: [{ field: 'virtioConsoles', message: 'VirtIO console ports must be a whole number' }] });
  });
});

describe('VirtIO console ports in the host service', () => {
  it('streams each port on its own and sends typed bytes to that port only', async () => {
    const kernel = join(root, 'bzImage');
    await writeFile(kernel, new Uint8Array(16));
    const created = await host.createVm({
      config: {
        name: 'consoles',
        guestType: 'linux-custom',
        memoryMiB: 64,
        cpus: 1,
        boot: { kind: 'linux', kernel, cmdline: 'hvc echo' },
        bootOrder: ['disk'],
        disks: [],
        virtioConsoles: 2,
        serial: [{ enabled: true, mode: 'console' }, { enabled: false, mode: 'console' }],
        clock: 'realtime',
        acceleration: 'none',
        nestedPaging: true,
      },
    });
    if (!created.ok) throw new Error(JSON.stringify(created.errors));
    const id = created.vm.id;
    const text: Record<string, string> = { com1: '', hvc0: '', hvc1: '' };
    host.subscribeSerial(id, 0, (d) => (text.com1 += Buffer.from(d).toString('latin1')));
    host.subscribeSerial(id, 'hvc0', (d) => (text.hvc0 += Buffer.from(d).toString('latin1')));
    host.subscribeSerial(id, 'hvc1', (d) => (text.hvc1 += Buffer.from(d).toString('latin1')));
    await host.startVm(id);
    await until('both ports ready', () => text.hvc0 === 'hvc0 ready\n' && text.hvc1 === 'hvc1 ready\n');

    await host.sendSerialInput(id, 'hvc1', new TextEncoder().encode('ls\n'));
    await until('the echo on hvc1', () => text.hvc1 === 'hvc1 ready\nLS\n');
    await host.sendSerialInput(id, 0, new TextEncoder().encode('com\n'));
    await until('the echo on COM1', () => text.com1 === 'COM\n');
    expect(text.hvc0).toBe('hvc0 ready\n');

    // A late subscriber gets the port's scrollback first.
    let late = '';
    host.subscribeSerial(id, 'hvc1', (d) => (late += Buffer.from(d).toString('latin1')));
    expect(late).toBe('hvc1 ready\nLS\n');
  });

  it('refuses a console that is neither COM1/COM2 nor hvc0-hvc15', () => {
    for (const port of ['hvc16', 'hvc01', 'ttyS0', 2]) {
      expect(() => host.subscribeSerial('x', port as never, () => {})).toThrow(HostError);
    }
    expect(() => host.subscribeSerial('x', 'hvc16' as never, () => {})).toThrow('console must be serial port 0 (COM1) or 1 (COM2), or a VirtIO console port hvc0 to hvc15');
  });
});
