import { describe, expect, it } from 'vitest';
import { parseDiskArgs, parseDiskSize } from '../../core/cli/diskCommandArgs.ts';
import { UsageError } from '../../core/cli/runArgs.ts';

describe('popek disk argument parsing', () => {
  it('parses sizes in bytes and binary units', () => {
    expect(parseDiskSize('2G')).toBe(2 * 2 ** 30);
    expect(parseDiskSize('2GiB')).toBe(2 * 2 ** 30);
    expect(parseDiskSize('512m')).toBe(512 * 2 ** 20);
    expect(parseDiskSize('1.5G')).toBe(1.5 * 2 ** 30);
    expect(parseDiskSize('1048576')).toBe(1048576);
    expect(parseDiskSize('1T')).toBe(2 ** 40);
    expect(parseDiskSize('64K')).toBe(65536);
    expect(() => parseDiskSize('1000')).toThrow('size 1000 (1000 bytes) is not a multiple of 512 bytes');
    expect(() => parseDiskSize('0')).toThrow("bad size '0'");
    expect(() => parseDiskSize('2X')).toThrow("bad size '2X' (e.g. 2G, 512M, 1048576)");
    expect(() => parseDiskSize('-1G')).toThrow(UsageError);
  });

  it('parses create with every option, both --opt value and --opt=value', () => {
    expect(parseDiskArgs(['create', 'a.qcow2', '--size', '2G'])).toEqual({ command: 'create', file: 'a.qcow2', format: 'qcow2', sizeBytes: 2 ** 31 });
    expect(parseDiskArgs(['create', '--size=1M', '--format=raw', 'disk.bin'])).toEqual({ command: 'create', file: 'disk.bin', format: 'raw', sizeBytes: 2 ** 20 });
    expect(parseDiskArgs(['create', 'o.qcow2', '--backing', 'base.img'])).toEqual({ command: 'create', file: 'o.qcow2', format: 'qcow2', backingFile: 'base.img' });
    expect(parseDiskArgs(['create', 'o.qcow2', '--backing', 'b.qcow2', '--size', '4G'])).toEqual({ command: 'create', file: 'o.qcow2', format: 'qcow2', sizeBytes: 4 * 2 ** 30, backingFile: 'b.qcow2' });
  });

  it('chooses the format from the file name when --format is absent', () => {
    expect(parseDiskArgs(['create', 'x.img', '--size', '1M'])).toMatchObject({ format: 'raw' });
    expect(parseDiskArgs(['create', 'x.RAW', '--size', '1M'])).toMatchObject({ format: 'raw' });
    expect(parseDiskArgs(['create', 'x.qcow2', '--size', '1M'])).toMatchObject({ format: 'qcow2' });
    expect(parseDiskArgs(['create', 'x', '--size', '1M'])).toMatchObject({ format: 'qcow2' });
  });

  it('refuses what it cannot do', () => {
    expect(() => parseDiskArgs(['create', 'x.qcow2'])).toThrow('--size is required (e.g. --size 2G)');
    expect(() => parseDiskArgs(['create', '--size', '1M'])).toThrow('disk create needs the FILE to create');
    expect(() => parseDiskArgs(['create', 'a', 'b', '--size', '1M'])).toThrow("one image per command ('a' and 'b')");
    expect(() => parseDiskArgs(['create', 'a', '--format', 'vmdk', '--size', '1M'])).toThrow("--format must be raw or qcow2, not 'vmdk'");
    expect(() => parseDiskArgs(['create', 'a', '--format', 'raw', '--backing', 'b'])).toThrow('--backing needs the qcow2 format');
    expect(() => parseDiskArgs(['create', 'a', '--size'])).toThrow('--size needs a value');
    expect(() => parseDiskArgs(['create', 'a', '--bogus'])).toThrow("unknown option '--bogus'");
    expect(() => parseDiskArgs(['resize', 'a'])).toThrow("unknown disk command 'resize' (only 'create')");
    expect(parseDiskArgs([])).toEqual({ command: 'help' });
    expect(parseDiskArgs(['create', '--help'])).toEqual({ command: 'help' });
  });
});
