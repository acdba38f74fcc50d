/** Number formats of the details pane and the console-window route. */
import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatGuestTime, formatMiB, formatMips } from '../../renderer/src/logic/format.ts';
import { consoleRouteHash, parseRoute } from '../../renderer/src/logic/route.ts';

describe('formatting', () => {
  it('groups counts', () => expect(formatCount(1234567)).toBe('1,234,567'));
  it('shows memory in MiB below 1 GiB and GiB above', () => {
    expect(formatMiB(128)).toBe('128 MiB');
    expect(formatMiB(1024)).toBe('1 GiB');
    expect(formatMiB(1792)).toBe('1.75 GiB');
  });
  it('shows MIPS with one decimal', () => expect(formatMips(87.25)).toBe('87.3 MIPS'));
  it('shows byte counts in binary units', () => {
    expect([0, 1023, 1536, 64 * 1024 * 1024, 1.25 * 1024 ** 3, Number.NaN].map(formatBytes)).toEqual(['0 B', '1023 B', '1.5 KiB', '64.0 MiB', '1.25 GiB', '—']);
  });
  it('shows guest uptime as seconds, minutes or hours', () => {
    expect(formatGuestTime(3_450_000_000)).toBe('3.4 s');
    expect(formatGuestTime(123_400_000_000)).toBe('2:03.4');
    expect(formatGuestTime(3_723_400_000_000)).toBe('1:02:03.4');
    expect(formatGuestTime(Number.NaN)).toBe('—');
  });
});

describe('console route', () => {
  it('round-trips a console hash', () => {
    const hash = consoleRouteHash('6f1c1b9e-8a57-4c4e-9a53-2f0c3d1e7a10', 1);
    expect(hash).toBe('#/console/6f1c1b9e-8a57-4c4e-9a53-2f0c3d1e7a10/1');
    expect(parseRoute(hash)).toEqual({ kind: 'console', vmId: '6f1c1b9e-8a57-4c4e-9a53-2f0c3d1e7a10', port: 1 });
  });
  it('treats anything else as the manager', () => {
    expect(parseRoute('')).toEqual({ kind: 'manager' });
    expect(parseRoute('#/console/../../etc/0')).toEqual({ kind: 'manager' });
    expect(parseRoute('#/console/abc/2')).toEqual({ kind: 'manager' });
    expect(parseRoute('#/console/abc/hvc16')).toEqual({ kind: 'manager' });
    expect(parseRoute('#/console/abc/hvc01')).toEqual({ kind: 'manager' });
  });
  it('round-trips a VirtIO console port', () => {
    const hash = consoleRouteHash('abc', 'hvc15');
    expect(hash).toBe('#/console/abc/hvc15');
    expect(parseRoute(hash)).toEqual({ kind: 'console', vmId: 'abc', port: 'hvc15' });
  });
});
