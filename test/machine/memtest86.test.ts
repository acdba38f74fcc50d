/**
 * Guest test: Debian's memtest86+ (package memtest86+, its unmodified i386
 * ISO) boots from the IDE CD-ROM through the bundled SeaBIOS with the VGA
 * BIOS, finds the board's 8 MiB and tests them without an error until it has
 * reached its fourth test (memtest86Boot.ts: about 3.4 guest seconds on the
 * deterministic clock). The ISO is a test prerequisite like xorriso and
 * syslinux (README, .ci/run): without it the test fails and says what to
 * install. test/machine/tools/memtest86.ts prints the screen of the same run.
 */
import { describe, expect, it } from 'vitest';
import { memtest86Checks, runMemtest86 } from './memtest86Boot.ts';

describe('memtest86+ from the CD-ROM', () => {
  it('boots through SeaBIOS, finds 8 MiB and reaches Test #3 with no errors', () => {
    const run = runMemtest86();
    const failed = memtest86Checks(run).filter((c) => !c.ok).map((c) => c.what);
    expect(failed, `screen after ${run.guestSeconds.toFixed(2)} guest seconds (${JSON.stringify(run.result)}):\n${run.screen.join('\n')}`).toEqual([]);
  });
});
