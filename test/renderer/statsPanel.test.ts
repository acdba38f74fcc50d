// @vitest-environment happy-dom
/** The live statistics panel: the VM's tiles, a row of counters per VirtIO device when it has any, and one per host-wide internal network link. */
import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import type { VmStats } from '../../core/host/api.ts';
import StatsPanel from '../../renderer/src/components/StatsPanel.vue';

const stats: VmStats = { vmId: 'x', instructions: 1234567, mips: 42.25, interrupts: 10, exceptions: 2, guestNs: 3_450_000_000, sampledAt: 0 };

describe('StatsPanel', () => {
  it('lists each VirtIO device with its requests, bytes, kicks, interrupts and errors, and a network adapter\'s dropped frames', () => {
    const w = mount(StatsPanel, {
      props: {
        state: 'Running',
        stats: {
          ...stats,
          devices: [
            { name: 'virtio-blk vda', requests: 1200, bytesRead: 1536, bytesWritten: 64 * 1024 * 1024, kicks: 300, interrupts: 290, errors: 0 },
            { name: 'virtio-net eth0', requests: 8, bytesRead: 980, bytesWritten: 1960, kicks: 4, interrupts: 6, errors: 1, dropped: 3 },
          ],
        },
      },
    });
    const rows = w.findAll('table.devices tr').map((r) => r.findAll('th, td').map((c) => c.text()).join(' | '));
    expect(rows).toEqual([
      'Device | Requests | Guest read | Guest wrote | Kicks | Interrupts | Errors | Dropped',
      'virtio-blk vda | 1,200 | 1.5 KiB | 64.0 MiB | 300 | 290 | 0 | —',
      'virtio-net eth0 | 8 | 980 B | 1.9 KiB | 4 | 6 | 1 | 3',
    ]);
  });

  it('has no Dropped column when no device counts drops', () => {
    const w = mount(StatsPanel, {
      props: { state: 'Running', stats: { ...stats, devices: [{ name: 'virtio-blk vda', requests: 1, bytesRead: 512, bytesWritten: 0, kicks: 1, interrupts: 1, errors: 0 }] } },
    });
    expect(w.findAll('table.devices th').map((c) => c.text())).toEqual(['Device', 'Requests', 'Guest read', 'Guest wrote', 'Kicks', 'Interrupts', 'Errors']);
  });

  it('lists the host-wide link of each internal network with its processes, frames, bytes, drops and send errors', () => {
    const w = mount(StatsPanel, {
      props: {
        state: 'Running',
        stats: { ...stats, networks: [{ network: 'lab', peers: 2, framesSent: 1500, bytesSent: 90_000, framesReceived: 3, bytesReceived: 180, dropped: 1, sendErrors: 0 }] },
      },
    });
    const rows = w.findAll('table.networks tr').map((r) => r.findAll('th, td').map((c) => c.text()).join(' | '));
    expect(rows).toEqual([
      'Network | Processes | Frames out | Sent | Frames in | Received | Dropped | Send errors',
      'lab | 2 | 1,500 | 87.9 KiB | 3 | 180 B | 1 | 0',
    ]);
    expect(w.find('table.networks caption').text()).toBe("Internal networks: this process's link to other Popek processes on this computer (all its VMs on the network together)");
  });

  it('shows no device table for a VM without VirtIO devices', () => {
    const w = mount(StatsPanel, { props: { state: 'Running', stats } });
    expect(w.find('table.devices').exists()).toBe(false);
    expect(w.find('table.networks').exists()).toBe(false);
    expect(w.find('[data-stat="instructions"]').text()).toBe('1,234,567');
  });

  it('shows the guest time the realtime clock dropped only when it dropped some', () => {
    expect(mount(StatsPanel, { props: { state: 'Running', stats } }).find('[data-stat="dropped"]').exists()).toBe(false);
    const w = mount(StatsPanel, { props: { state: 'Running', stats: { ...stats, droppedNs: 2_500_000_000 } } });
    expect(w.find('[data-stat="dropped"]').text()).toBe('2.5 s');
  });
});
