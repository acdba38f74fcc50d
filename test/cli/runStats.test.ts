import { describe, expect, it } from 'vitest';
import { formatRunStats } from '../../core/cli/runStats.ts';
import * as B from '../../core/cpu/svm/vmcb.ts';
import { HypervisorCounters } from '../../core/hypervisor/counters.ts';

describe('popek run --stats', () => {
  it('prints the machine counters, then the hypervisor exits by SDM name and the busiest ports', () => {
    const exitsByReason = new Array<number>(64).fill(0);
    exitsByReason[1] = 3;
    exitsByReason[12] = 20;
    exitsByReason[30] = 110;
    const text = formatRunStats('vtx', {
      instructions: 1000,
      interrupts: 23,
      exceptions: 0,
      guestNs: 2_500_000_000,
      hypervisor: {
        vendor: 'vmx',
        exitsByReason,
        ioExitsByPort: { 0x3f8: 60, 0x61: 40, 0x20: 10 },
        entries: 133,
        injectedInterrupts: 23,
        eptViolations: 0,
        guestMs: 812.4,
        hypervisorMs: 31.6,
      },
    });
    expect(text).toBe(
      [
        '--- stats ---',
        'acceleration              Intel VT-x',
        'guest time                2.500 s',
        'instructions              1000',
        'interrupts                23',
        'exceptions                0',
        'VM entries                133',
        'injected interrupts       23',
        'EPT violations            0',
        'host ms in guest          812',
        'host ms in hypervisor     32',
        'exits EXTERNAL_INTERRUPT  3',
        'exits HLT                 20',
        'exits IO_INSTRUCTION      110',
        'I/O exits port 0x3f8      60',
        'I/O exits port 0x61       40',
        'I/O exits port 0x20       10',
        '',
      ].join('\n'),
    );
  });

  it('names exits by the APM under AMD-V, #NPF included', () => {
    const counters = new HypervisorCounters();
    counters.setVendor('svm');
    for (const [code, n] of [[B.VMEXIT_INTR, 2], [B.VMEXIT_HLT, 5], [B.VMEXIT_IOIO, 7], [B.VMEXIT_NPF, 1]] as const) {
      for (let i = 0; i < n; i++) counters.exit(code);
    }
    counters.eptViolation(); // the #NPF handler counts it
    for (let i = 0; i < 15; i++) counters.entry();
    const text = formatRunStats('svm', { instructions: 10, interrupts: 2, exceptions: 0, guestNs: 1e9, hypervisor: counters.snapshot() });
    expect(text.split('\n').filter((l) => /^(acceleration|exits|nested|VM entries)/.test(l))).toEqual([
      'acceleration               AMD-V (SVM)',
      'VM entries                 15',
      'nested page faults (#NPF)  1',
      'exits INTR                 2',
      'exits HLT                  5',
      'exits IOIO                 7',
      'exits NPF                  1',
    ]);
  });

  it('prints the guest time the realtime clock dropped, only when it dropped some', () => {
    const base = { instructions: 10, interrupts: 0, exceptions: 0, guestNs: 2_000_000_000 };
    expect(formatRunStats('none', { ...base, droppedNs: 1_234_500_000 })).toBe(
      ['--- stats ---', 'acceleration        None (emulated PC)', 'guest time          2.000 s', 'guest time dropped  1.234 s', 'instructions        10', 'interrupts          0', 'exceptions          0', ''].join('\n'),
    );
    expect(formatRunStats('none', { ...base, droppedNs: 0 })).not.toContain('dropped');
  });

  it('prints each virtio device\'s counters, with the frames a network adapter dropped', () => {
    const counters = { kicks: 4, interrupts: 6, requests: 8, bytesRead: 980, bytesWritten: 1960, errors: 1, resetsNeeded: 0 };
    const text = formatRunStats('none', {
      instructions: 10, interrupts: 0, exceptions: 0, guestNs: 1e9,
      virtio: [{ name: 'virtio-blk vda', counters: { ...counters, errors: 0 } }, { name: 'virtio-net eth0', counters, dropped: 3 }],
    });
    expect(text.split('\n').filter((l) => l.startsWith('virtio'))).toEqual([
      'virtio-blk vda   8 requests, 980 bytes read, 1960 bytes written, 4 kicks, 6 interrupts, 0 errors',
      'virtio-net eth0  8 requests, 980 bytes read, 1960 bytes written, 4 kicks, 6 interrupts, 1 errors, 3 frames dropped',
    ]);
  });
});
