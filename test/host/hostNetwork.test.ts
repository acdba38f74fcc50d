/**
 * The host-wide internal network (core/host/hostNetwork.ts) inside one test
 * process: NetworkHubs stand for processes, each with its own endpoint in a
 * private runtime folder; a raw UDP socket stands for a foreign or broken
 * process. Frames cross between hubs of the same network only, learned
 * unicast goes to one hub, dead endpoints are cleaned, bad datagrams are
 * counted and dropped.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HostNetworkEndpoint, HostNetworkError, networkNameProblem } from '../../core/host/hostNetwork.ts';
import { NetworkHub } from '../../core/host/networkHub.ts';
import { VirtualSwitch } from '../../core/dom0/virtualSwitch.ts';
import { BROADCAST, frame } from '../dom0/ethernetFrames.ts';

const A = [0x52, 0x54, 0, 0, 1, 0xa];
const B = [0x52, 0x54, 0, 0, 1, 0xb];
const C = [0x52, 0x54, 0, 0, 1, 0xc];

/** A datagram as the wire format says: "PKNT", version, kind, name length, name, payload. */
function datagram(kind: number, network: string, payload: Uint8Array = new Uint8Array(0), version = 1): Uint8Array {
  const name = new TextEncoder().encode(network);
  return Uint8Array.from([0x50, 0x4b, 0x4e, 0x54, version, kind, name.length, ...name, ...payload]);
}

async function until(what: string, condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function udpSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

function deadPid(): number {
  return spawnSync('true').pid!;
}

let root: string;
const hubs: NetworkHub[] = [];
const sockets: Socket[] = [];
const options = () => ({ hostWide: { root, livenessMs: 20, confirmMs: 300 } });
function hub(): NetworkHub {
  const h = new NetworkHub(options());
  hubs.push(h);
  return h;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'popek-hostnet-'));
});
afterEach(async () => {
  for (const h of hubs.splice(0)) await h.close();
  for (const s of sockets.splice(0)) s.close();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('host-wide internal network', () => {
  it('carries frames between two hubs of one network, learning which hub has which MAC', async () => {
    const got: string[] = [];
    const h1 = hub();
    const h2 = hub();
    const h3 = hub();
    const a = h1.attach('lan', (f) => got.push(`a${f[14]}`));
    const b = h2.attach('lan', (f) => got.push(`b${f[14]}`));
    h3.attach('lan', (f) => got.push(`c${f[14]}`));
    h3.attach('other', (f) => got.push(`other${f[14]}`));
    const [e1, e2, e3] = await Promise.all([h1, h2, h3].map(async (h) => (await h.hostEndpoints()).get('lan')!));
    await until('the three endpoints to know each other', () => [e1!, e2!, e3!].every((e) => e.peerPorts().length === 2));

    a.send(frame(BROADCAST, A, 1));
    await until('the broadcast at b and c', () => got.length === 2);
    expect(got.splice(0).sort()).toEqual(['b1', 'c1']);

    b.send(frame(A, B, 2)); // A was learned behind h1: unicast to h1 only
    await until('the reply at a', () => got.length === 1);
    a.send(frame(B, A, 3)); // B learned behind h2
    await until('the second frame at b', () => got.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(got.splice(0)).toEqual(['a2', 'b3']);
    expect(e3!.counters.received).toBe(1); // the broadcast only
    expect(e1!.counters.sent).toBe(3); // broadcast to two hubs, one unicast
    expect(e1!.counters.malformed + e2!.counters.malformed + e3!.counters.strangers).toBe(0);

    // Another network's endpoint heard nothing.
    expect((await h3.hostEndpoints()).get('other')!.counters.received).toBe(0);

    // A hub that closes says BYE (its pid lives on, so only the BYE can tell the others), and its file goes.
    await h3.close();
    await until('the others to forget the closed hub', () => e1!.peerPorts().length === 1 && e2!.peerPorts().length === 1);
    expect(readdirSync(join(root, 'net', 'lan')).sort()).toEqual([`${process.pid}-${e1!.udpPort}`, `${process.pid}-${e2!.udpPort}`].sort());
  });

  it('removes the file of a dead process, ignores a silent live one, and forgets a peer killed while running', async () => {
    const dir = join(root, 'net', 'stale');
    const silent = await udpSocket(); // a port nothing answers on ...
    sockets.push(silent);
    silent.removeAllListeners('message');
    const silentPort = silent.address().port;
    silent.close();
    sockets.pop();
    const dead = `${deadPid()}-40001`;
    const reused = `${process.pid}-${silentPort}`; // ... listed under a live pid (this one)
    hub().attach('stale', () => {}); // makes the folder
    await hubs[0].close();
    hubs.pop();
    writeFileSync(join(dir, dead), '');
    writeFileSync(join(dir, reused), '');

    const h = hub();
    h.attach('stale', () => {});
    const endpoint = (await h.hostEndpoints()).get('stale')!;
    expect(existsSync(join(dir, dead))).toBe(false);
    expect(endpoint.counters.staleRemoved).toBe(1);
    expect(endpoint.peerPorts()).toEqual([silentPort]);
    await until('the silent endpoint to be ignored', () => endpoint.peerPorts().length === 0);
    expect(existsSync(join(dir, reused))).toBe(true); // its pid lives: maybe only busy

    // A peer whose process is killed while the network runs.
    const child = spawn('sleep', ['30']);
    const peer = await udpSocket();
    sockets.push(peer);
    writeFileSync(join(dir, `${child.pid}-${peer.address().port}`), '');
    peer.send(datagram(2, 'stale'), endpoint.udpPort, '127.0.0.1');
    await until('the peer to be known', () => endpoint.peerPorts().includes(peer.address().port));
    child.kill('SIGKILL');
    await until('the killed peer to be forgotten', () => !endpoint.peerPorts().includes(peer.address().port));
    expect(readdirSync(dir).sort()).toEqual([`${process.pid}-${endpoint.udpPort}`, reused].sort());
    expect(endpoint.counters.staleRemoved).toBe(2);
  });

  it('removes its endpoint file when its process ends without closing it (an uncaught exception)', () => {
    const script = `
      const { HostNetworkEndpoint } = await import('./core/host/hostNetwork.ts');
      const { VirtualSwitch } = await import('./core/dom0/virtualSwitch.ts');
      await HostNetworkEndpoint.open('crash', new VirtualSwitch('crash'), { root: process.argv[1] });
      const { readdirSync } = await import('node:fs');
      console.log(readdirSync(process.argv[1] + '/net/crash').join(','));
      throw new Error('scripted crash');`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, root], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toContain('scripted crash');
    expect(r.stdout).toMatch(new RegExp(`^${r.pid}-\\d+\n$`));
    expect(readdirSync(join(root, 'net', 'crash'))).toEqual([]);
  });

  it('drops and counts short, foreign, oversized and other-network datagrams, and keeps working', async () => {
    const dir = join(root, 'net', 'rough');
    const got: Uint8Array[] = [];
    const h = hub();
    h.attach('rough', (f) => got.push(f));
    const endpoint = (await h.hostEndpoints()).get('rough')!;
    const stranger = await udpSocket();
    const peer = await udpSocket();
    sockets.push(stranger, peer);
    writeFileSync(join(dir, `${process.pid}-${peer.address().port}`), '');
    const to = (s: Socket, bytes: Uint8Array) => s.send(bytes, endpoint.udpPort, '127.0.0.1');

    to(stranger, datagram(1, 'rough', frame(BROADCAST, C, 9))); // not an endpoint of this network
    to(peer, new Uint8Array(3)); // shorter than the header
    to(peer, Uint8Array.from([0x47, 0x45, 0x54, 0x20, 1, 1, 5])); // bad magic
    to(peer, datagram(1, 'rough', frame(BROADCAST, C, 9), 2)); // unknown version
    to(peer, datagram(9, 'rough')); // unknown kind
    to(peer, datagram(1, 'rougher', frame(BROADCAST, C, 9))); // another network's name
    to(peer, datagram(1, 'rough', new Uint8Array(13))); // runt frame
    to(peer, datagram(1, 'rough', frame(BROADCAST, C, 9, 1519))); // longer than Ethernet allows
    to(peer, datagram(1, 'rough', frame(BROADCAST, C, 9, 9000)));
    to(peer, datagram(1, 'rough')); // a FRAME without a frame
    to(peer, datagram(4, 'rough', new Uint8Array(20))); // BYE with a payload
    to(peer, datagram(1, 'rough', frame(BROADCAST, C, 7))); // a good one after all that
    await until('the good frame', () => got.length === 1);
    expect(got[0][14]).toBe(7);
    expect(endpoint.counters.strangers).toBe(1);
    expect(endpoint.counters.malformed).toBe(10);
    expect(endpoint.counters.received).toBe(1);
  });

  it('refuses network names that are not plain folder names', async () => {
    for (const bad of ['..', '.', '', 'a/b', '../x', 'x'.repeat(33), 'a b', 'é']) {
      expect(networkNameProblem(bad)).not.toBeNull();
      await expect(HostNetworkEndpoint.open(bad, new VirtualSwitch(bad), { root })).rejects.toThrow(HostNetworkError);
    }
    expect(networkNameProblem('lab-1.a_b')).toBeNull();
    expect(readdirSync(join(root, 'net')).sort()).toEqual(['crash', 'lan', 'other', 'rough', 'stale']);
  });

  it('refuses a runtime folder that other users may enter', async () => {
    const open = mkdtempSync(join(tmpdir(), 'popek-hostnet-open-'));
    try {
      spawnSync('chmod', ['755', open]);
      await expect(HostNetworkEndpoint.open('lan', new VirtualSwitch('lan'), { root: open })).rejects.toThrow(/open to other users \(mode 755\)/);
    } finally {
      rmSync(open, { recursive: true, force: true });
    }
  });
});
