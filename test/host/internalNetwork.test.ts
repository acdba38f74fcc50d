/**
 * An internal network between VMs in different machine workers: the host
 * relays each worker's frames through its switch for the network
 * (core/host/networkHub.ts). Two Tiny Linux VMs, one on the bare PC and one
 * under the VT-x hypervisor, each with a virtio-net adapter on network "lab",
 * ping each other and move a file with nc; a third VM's adapter on another
 * network sees none of it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmConfigDraft } from '../../core/host/api.ts';
import { HostService } from '../../core/host/hostService.ts';
import { VmLibrary } from '../../core/host/library.ts';
import { bringUpEth0, pingEachOther, sendRandomFile, type NetworkGuest } from '../machine/guestNetwork.ts';

const GUESTS = fileURLToPath(new URL('../../resources/guests', import.meta.url));
const PROMPT = /\n# (\x1b\[6n)?$/;

let root: string;
let host: HostService;

function draft(name: string, acceleration: 'none' | 'vtx', network: string, mac: string): VmConfigDraft {
  return {
    name,
    guestType: 'tiny-linux',
    memoryMiB: 64,
    cpus: 1,
    boot: { kind: 'linux', kernel: '@guests/tiny-linux/bzImage', initrd: '@guests/tiny-linux/initramfs.cpio.gz', cmdline: 'console=ttyS0' },
    bootOrder: [],
    disks: [],
    nics: [{ network, mac }],
    serial: [
      { enabled: true, mode: 'console' },
      { enabled: false, mode: 'console' },
    ],
    clock: 'realtime',
    acceleration,
    nestedPaging: true,
  };
}

/** A running VM's COM1 as a console: its output so far, and commands typed at its prompt. */
class Console {
  private chunks: Uint8Array[] = [];
  constructor(readonly id: string) {
    host.subscribeSerial(id, 0, (d) => this.chunks.push(d));
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
  async waitFor(pattern: RegExp, from = 0, seconds = 600): Promise<string> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      const t = this.text.slice(from);
      if (pattern.test(t)) return t;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; output:\n${this.text.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  async command(line: string, seconds = 300): Promise<string> {
    const from = this.text.length;
    await host.sendSerialInput(this.id, 0, new TextEncoder().encode(line + '\n'));
    const out = await this.waitFor(PROMPT, from, seconds);
    const body = out.replace(/\r\n/g, '\n').replace(PROMPT, '\n');
    return body.slice(body.indexOf('\n') + 1);
  }
}

describe('internal networks between VMs in different workers', () => {
  let a: Console;
  let b: Console;
  let c: Console;
  /** The VMs with their addresses (a and b on "lab", c on "other"). */
  let aOnLab: NetworkGuest;
  let bOnLab: NetworkGuest;
  let cOnOther: NetworkGuest;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'popek-network-'));
    host = new HostService({ library: new VmLibrary(join(root, 'machines'), GUESTS), mode: 'server', version: 'test', hostNetwork: { root } }); // a private runtime folder: a concurrent run of this test must not share 'lab'
    const ids: string[] = [];
    for (const d of [draft('a', 'none', 'lab', '52:54:00:00:01:0a'), draft('b', 'vtx', 'lab', '52:54:00:00:01:0b'), draft('c', 'none', 'other', '52:54:00:00:01:0c')]) {
      const created = await host.createVm({ config: d });
      if (!created.ok) throw new Error(JSON.stringify(created.errors));
      ids.push(created.vm.id);
    }
    [a, b, c] = ids.map((id) => new Console(id));
    aOnLab = { shell: a, ip: '192.0.2.10' };
    bOnLab = { shell: b, ip: '192.0.2.11' };
    cOnOther = { shell: c, ip: '192.0.2.12' };
    for (const vm of [a, b, c]) await host.startVm(vm.id);
    for (const vm of [a, b, c]) {
      await vm.waitFor(/POPEK-READY\r\n/);
      await vm.waitFor(PROMPT);
    }
  }, 1_500_000);

  afterAll(async () => {
    await host?.shutdown();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('pings from the VM on the bare PC to the VM under VT-x and back', async () => {
    for (const vm of [aOnLab, bOnLab, cOnOther]) await bringUpEth0(vm, 300);
    await pingEachOther(aOnLab, bOnLab, { there: 3, back: 2 }, 300);
  }, 900_000);

  it('moves a file from one VM to the other with nc, byte for byte', async () => {
    await sendRandomFile(aOnLab, bOnLab, { kib: 256, port: 5000 }, 300);
  }, 600_000);

  it('keeps the other network apart: the third VM reaches neither', async () => {
    expect(await c.command('ping -c 1 -W 2 192.0.2.10')).toContain('1 packets transmitted, 0 packets received, 100% packet loss');
  }, 300_000);
});
