import { describe, expect, it } from 'vitest';
import { formatRunStats } from '../../core/cli/runStats.ts';

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
});
