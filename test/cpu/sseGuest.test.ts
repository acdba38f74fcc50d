/**
 * Guest-level SSE2 test: a static i686 program (sseGuest/sse2Program.c,
 * built here with gcc -m32 -msse2 -mfpmath=sse -static) runs in the bundled
 * Tiny Linux on the emulated PC and must print exactly what the same binary
 * prints on the host processor. The binary reaches the guest on an ext2
 * image written on the host with mke2fs and debugfs (e2fsprogs), attached
 * as a virtio-blk disk. Skipped on hosts without 32-bit gcc support or
 * e2fsprogs, or that cannot run i686 binaries. Deterministic clock.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestConsole } from '../../scripts/guestConsole.ts';
import { createDisk } from '../../core/dom0/block/blockBackend.ts';

const SOURCE = new URL('./sseGuest/sse2Program.c', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'popek-sse-guest-'));
const binary = join(dir, 'sse2prog');
const image = join(dir, 'disk.raw');

/** Builds the program and the disk image; the host's own output, or null when this host cannot. */
function prepare(): string | null {
  if (arch() !== 'x64') return null;
  try {
    execFileSync('gcc', ['-m32', '-msse2', '-mfpmath=sse', '-O2', '-static', '-o', binary, SOURCE, '-lm'], { stdio: 'ignore' });
    const hostOutput = execFileSync(binary).toString();
    createDisk(image, { format: 'raw', sizeBytes: 4 << 20 });
    execFileSync('mke2fs', ['-q', '-F', '-t', 'ext2', image], { stdio: 'ignore' });
    execFileSync('debugfs', ['-w', '-R', `write ${binary} sse2prog`, image], { stdio: 'ignore' });
    return hostOutput;
  } catch {
    return null;
  }
}

const hostOutput = prepare();

describe.skipIf(hostOutput === null)('a static SSE2 program in Tiny Linux', () => {
  let guest: GuestConsole;

  beforeAll(async () => {
    guest = GuestConsole.tinyLinux({ disks: [{ path: image, format: 'raw' }] });
    await guest.waitFor('POPEK-READY\r\n', 600);
    await guest.waitFor(/\n# (\x1b\[6n)?$/, 60);
  }, 900_000);

  afterAll(() => {
    guest?.machine.pause();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the guest kernel sees sse and sse2', async () => {
    expect(await guest.command('grep -c "^flags.* sse sse2" /proc/cpuinfo')).toBe('1\n');
  });

  it('prints exactly what the host processor prints', async () => {
    expect(await guest.command('mkdir -p /mnt/p && mount -t ext2 /dev/vda /mnt/p && echo ok')).toBe('ok\n');
    const out = await guest.command('/mnt/p/sse2prog', 600);
    expect(out.replaceAll('\r\n', '\n')).toBe(hostOutput);
  }, 700_000);
});
