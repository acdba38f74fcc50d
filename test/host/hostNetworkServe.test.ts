/**
 * A VM of the host service (`popek serve`, the app) and a machine of another
 * process meet on the host-wide internal network: the other process is
 * stood in for by a NetworkHub with a host-wide endpoint in this test
 * process, the same wiring `popek run` uses (core/cli/run.ts). The VM is the
 * scripted machine in a real worker thread ('net': it broadcasts at start
 * and reports every frame it gets on COM1), so no guest boots.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostService } from '../../core/host/hostService.ts';
import { VmLibrary } from '../../core/host/library.ts';
import { NetworkHub } from '../../core/host/networkHub.ts';
import type { VmStats } from '../../core/host/api.ts';

const FIXTURE = pathToFileURL(resolve('test/host/fixtures/scriptedMachine.ts')).href;
const VM_MAC = [0x52, 0x54, 0, 0, 3, 0x0a];
const RUN_MAC = [0x52, 0x54, 0, 0, 3, 0x0b];

let root: string;
let host: HostService;
let other: NetworkHub;

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'popek-hostnet-serve-'));
  host = new HostService({ library: new VmLibrary(join(root, 'machines'), join(root, 'guests')), mode: 'server', version: 'test', machineModuleUrl: FIXTURE, hostNetwork: { root } });
  other = new NetworkHub({ hostWide: { root } });
});

afterAll(async () => {
  await host.shutdown();
  await other.close();
  await rm(root, { recursive: true, force: true });
});

describe('a host service VM and another process on one internal network', () => {
  it('exchange frames both ways through the host-wide network', async () => {
    const got: Uint8Array[] = [];
    const link = other.attach('mix', (f) => got.push(f));
    const endpoint = (await other.hostEndpoints()).get('mix')!;
    const kernel = join(root, 'bzImage');
    await writeFile(kernel, new Uint8Array(16));
    const created = await host.createVm({
      config: {
        name: 'served',
        guestType: 'linux-custom',
        memoryMiB: 64,
        cpus: 1,
        boot: { kind: 'linux', kernel, cmdline: 'net' },
        bootOrder: ['disk'],
        disks: [],
        nics: [{ network: 'mix', mac: '52:54:00:00:03:0a' }],
        serial: [{ enabled: true, mode: 'console' }, { enabled: false, mode: 'console' }],
        clock: 'realtime',
        acceleration: 'none',
        nestedPaging: true,
      },
    });
    if (!created.ok) throw new Error(JSON.stringify(created.errors));
    let console = '';
    host.subscribeSerial(created.vm.id, 0, (d) => (console += Buffer.from(d).toString('latin1')));
    await host.startVm(created.vm.id);
    // The service's endpoint is listed beside ours and both know each other.
    await until('the two endpoints', () => readdirSync(join(root, 'net', 'mix')).length === 2 && endpoint.peerPorts().length === 1);

    // Another process's machine broadcasts: the VM gets it.
    const hello = new Uint8Array(60).fill(0xff, 0, 6);
    hello.set(RUN_MAC, 6);
    hello[14] = 7;
    link.send(hello);
    await until('the frame at the VM', () => console.includes('frame 52:54:00:00:03:0b 7\n'));

    // Its answer, unicast to the MAC the service's switch learned behind this process, comes back.
    await until('the answer', () => got.some((f) => f[14] === 8));
    const answer = got.find((f) => f[14] === 8)!;
    expect([...answer.subarray(0, 6)]).toEqual(RUN_MAC);
    expect([...answer.subarray(6, 12)]).toEqual(VM_MAC);
    // The VM's own broadcast at its start may have left before the endpoints met; whatever else arrived is that one.
    for (const f of got.filter((f) => f !== answer)) expect([f[0], f[14], ...f.subarray(6, 12)]).toEqual([0xff, 0x42, ...VM_MAC]);
    expect(endpoint.counters.malformed + endpoint.counters.strangers).toBe(0);
    expect(endpoint.counters.sent).toBe(1);

    // The VM's statistics carry the service's side of the link: the other process's one 60-byte frame in, and what that process received out.
    let latest: VmStats | null = null;
    const stop = host.onStats((stats) => {
      if (stats.vmId === created.vm.id) latest = stats;
    });
    await until('a sample with the link\'s traffic', () => {
      const n = (latest as VmStats | null)?.networks?.[0];
      return n !== undefined && n.framesReceived === 1 && n.framesSent === endpoint.counters.received;
    });
    stop();
    expect(latest!.networks).toEqual([
      { network: 'mix', peers: 1, framesSent: endpoint.counters.received, bytesSent: endpoint.counters.receivedBytes, framesReceived: 1, bytesReceived: 60, dropped: 0, sendErrors: 0 },
    ]);
    expect(endpoint.counters.sentBytes).toBe(60);
    expect(endpoint.counters.receivedBytes).toBe(60 * endpoint.counters.received);
  });
});
