/** `popek run --disk FILE[,format=raw|qcow2][,readonly]`, repeatable, in order. */
import { describe, expect, it } from 'vitest';
import { parseRunArgs, UsageError } from '../../core/cli/runArgs.ts';
import { parseDiskArg } from '../../core/cli/diskArg.ts';

describe('popek run --disk', () => {
  it('parses a path alone and with format and readonly in any order', () => {
    expect(parseDiskArg('a.img')).toEqual({ path: 'a.img' });
    expect(parseDiskArg('b.qcow2,format=qcow2')).toEqual({ path: 'b.qcow2', format: 'qcow2' });
    expect(parseDiskArg('c.raw,readonly,format=raw')).toEqual({ path: 'c.raw', format: 'raw', readOnly: true });
  });

  it('keeps repeated disks in command-line order (vda, vdb, ...)', () => {
    const args = parseRunArgs(['--kernel', 'k', '--disk', 'a.img', '--disk=b.qcow2,readonly']);
    expect(args.disks).toEqual([{ path: 'a.img' }, { path: 'b.qcow2', readOnly: true }]);
  });

  it('leaves disks out without --disk', () => {
    expect(parseRunArgs(['--kernel', 'k']).disks).toBeUndefined();
  });

  it('refuses unknown options, an empty path and a missing value with a usage error', () => {
    expect(() => parseRunArgs(['--kernel', 'k', '--disk', 'a.img,format=vmdk'])).toThrow(
      new UsageError("bad --disk option 'format=vmdk' in 'a.img,format=vmdk': expected format=raw, format=qcow2, readonly, if=virtio or if=ide"),
    );
    expect(() => parseRunArgs(['--kernel', 'k', '--disk', ',readonly'])).toThrow("bad --disk value ',readonly': expected FILE[,format=raw|qcow2][,readonly][,if=virtio|ide]");
    expect(() => parseRunArgs(['--kernel', 'k', '--disk'])).toThrow('--disk needs a value');
  });
});

describe('popek run --disk ...,if=ide and --cdrom', () => {
  it('puts if=ide disks on the IDE list and the others on the VirtIO list, each in order', () => {
    expect(parseDiskArg('a.img,if=ide,readonly')).toEqual({ path: 'a.img', bus: 'ide', readOnly: true });
    expect(parseDiskArg('a.img,if=ide,if=virtio')).toEqual({ path: 'a.img' });
    const args = parseRunArgs(['--disk', 'v.img', '--disk', 'i0.img,if=ide', '--disk=i1.qcow2,format=qcow2,if=ide', '--disk', 'w.img,if=virtio']);
    expect(args.disks).toEqual([{ path: 'v.img' }, { path: 'w.img' }]);
    expect(args.ideDisks).toEqual([{ path: 'i0.img' }, { path: 'i1.qcow2', format: 'qcow2' }]);
    expect(parseRunArgs(['--disk', 'v.img']).ideDisks).toBeUndefined();
  });

  it('collects --cdrom images in order and refuses an empty one or a bad interface', () => {
    expect(parseRunArgs(['--cdrom', 'a.iso', '--cdrom=b.iso']).cdroms).toEqual(['a.iso', 'b.iso']);
    expect(parseRunArgs([]).cdroms).toBeUndefined();
    expect(() => parseRunArgs(['--cdrom='])).toThrow(new UsageError('--cdrom needs a file'));
    expect(() => parseRunArgs(['--cdrom'])).toThrow('--cdrom needs a value');
    expect(() => parseRunArgs(['--disk', 'a.img,if=scsi'])).toThrow("bad --disk option 'if=scsi' in 'a.img,if=scsi'");
  });
});

describe('popek run --nic', () => {
  it('parses an internal network or none, with an optional MAC, in order', () => {
    const args = parseRunArgs(['--kernel', 'k', '--nic', 'internal=lab,mac=52:54:00:AB:00:01', '--nic=none']);
    expect(args.nics).toEqual([{ network: 'lab', mac: '52:54:00:ab:00:01' }, {}]);
    expect(parseRunArgs(['--kernel', 'k']).nics).toBeUndefined();
  });

  it('refuses other attachments and bad MACs with a usage error', () => {
    expect(() => parseRunArgs(['--kernel', 'k', '--nic', 'bridged=eth0'])).toThrow(
      new UsageError("bad --nic value 'bridged=eth0': expected internal=NAME or none, then optionally ,mac=52:54:00:xx:xx:xx"),
    );
    expect(() => parseRunArgs(['--kernel', 'k', '--nic', 'internal=lab,mac=01:00:5e:00:00:01'])).toThrow('multicast');
    expect(() => parseRunArgs(['--kernel', 'k', '--nic', 'internal=lab,speed=10'])).toThrow("bad --nic option 'speed=10'");
    // The name becomes a folder of the host-wide network: no separators, not '..'.
    expect(() => parseRunArgs(['--kernel', 'k', '--nic', 'internal=..'])).toThrow(new UsageError("bad internal network name '..': not only dots"));
    expect(() => parseRunArgs(['--kernel', 'k', '--nic', 'internal=a/b'])).toThrow("bad internal network name 'a/b': 1 to 32 letters");
  });
});
