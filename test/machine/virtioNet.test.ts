/**
 * Guest-level test: two Tiny Linux machines in this process, each with a
 * virtio-net adapter on the same internal network (dom0's virtual switch),
 * ping each other. Both machines run in turns while one of them waits for
 * its command (GuestConsole.companions), so frames from either side are
 * answered. Deterministic
 * clocks, but the interleaving of the two machines follows host time, so
 * only counts are asserted, not round-trip times. The addresses are from
 * the documentation range 192.0.2.0/24: the frames never leave this
 * process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestConsole } from '../../scripts/guestConsole.ts';
import { bringUpEth0, pingEachOther } from './guestNetwork.ts';

const NETWORK = 'virtio-net-test';
/**
 * The suite runs it with the NICs served by each machine's dom0 thread and the switch in dom0's
 * network thread (the default); POPEK_TEST_DOM0_THREAD=0 runs the same test with both in the
 * machines' thread (MachineOptions.dom0Thread false).
 */
const dom0Thread = process.env.POPEK_TEST_DOM0_THREAD !== '0';

describe('two VMs on one internal network', () => {
  let a: GuestConsole;
  let b: GuestConsole;

  beforeAll(async () => {
    a = GuestConsole.tinyLinux({ nics: [{ network: NETWORK, mac: '52:54:00:00:00:0a' }], dom0Thread });
    b = GuestConsole.tinyLinux({ nics: [{ network: NETWORK, mac: '52:54:00:00:00:0b' }], dom0Thread });
    for (const g of [a, b]) {
      await g.waitFor('POPEK-READY\r\n', 600);
      await g.waitFor(/\n# (\x1b\[6n)?$/, 120);
    }
  }, 1_500_000);

  afterAll(() => {
    a?.machine.pause();
    b?.machine.pause();
  });

  it('gives each guest an eth0 with its configured MAC address, bound by virtio_net', async () => {
    expect(await a.command('cat /sys/class/net/eth0/address')).toBe('52:54:00:00:00:0a\n');
    expect(await b.command('cat /sys/class/net/eth0/address')).toBe('52:54:00:00:00:0b\n');
    expect(await a.command('basename $(readlink /sys/class/net/eth0/device/driver)')).toBe('virtio_net\n');
  });

  it('pings from one guest to the other and back through the switch', async () => {
    const ga = { shell: a, ip: '192.0.2.10' };
    const gb = { shell: b, ip: '192.0.2.11' };
    await bringUpEth0(ga, 120);
    await bringUpEth0(gb, 120);
    a.companions = [b];
    b.companions = [a];
    // Three requests there and two back, each answered (pingEachOther says why one `ping -c 1` per request).
    await pingEachOther(ga, gb, { there: 3, back: 2 }, 300);
  }, 900_000);

  it('counts the frames each adapter moved', () => {
    const na = a.machine.stats().virtio!.find((d) => d.name === 'virtio-net eth0')!.counters;
    const nb = b.machine.stats().virtio!.find((d) => d.name === 'virtio-net eth0')!.counters;
    // At least the ARP exchange and five echo requests or replies each way (98-byte ICMP frames).
    expect(na.requests).toBeGreaterThanOrEqual(6);
    expect(nb.requests).toBeGreaterThanOrEqual(6);
    expect(na.bytesWritten).toBeGreaterThanOrEqual(5 * 98);
    expect(na.bytesRead).toBeGreaterThanOrEqual(5 * 98);
    expect(na.errors + nb.errors).toBe(0);
  });
});
